// The board's page. Every URL it makes is relative to the page, which may be served under a
// prefix; the files' links come from the server, which knows its prefix (req.scriptName).
"use strict";

const $ = (id) => document.getElementById(id);

// The Authorization header of the logged-in user, kept for this tab only. The page sends it
// itself, with credentials: "omit": then a 401 comes back to the script instead of opening the
// browser's own login dialog (Fetch standard: no prompt unless the credentials mode is include).
let credentials = sessionStorage.getItem("board-credentials");

function basic(username, password) {
  // RFC 7617 with charset UTF-8: base64 of the UTF-8 bytes, which btoa takes as Latin-1 text
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

async function errorText(response) {
  const text = (await response.text()).trim();
  return `${response.status} ${text || response.statusText}`;
}

function loggedIn(user) {
  $("user").textContent = user;
  $("who").hidden = false;
  $("post").hidden = false;
  $("login").hidden = true;
}

function logout() {
  credentials = null;
  sessionStorage.removeItem("board-credentials");
  $("who").hidden = true;
  $("post").hidden = true;
  $("login").hidden = false;
}

async function whoAmI(authorization) {
  const response = await fetch("api/me", { headers: { Authorization: authorization }, credentials: "omit" });
  if (!response.ok) throw new Error(response.status === 401 ? "wrong name or password" : await errorText(response));
  return (await response.json()).user;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const status = $("login-status");
  status.textContent = "";
  const authorization = basic(form.username.value, form.password.value);
  try {
    const user = await whoAmI(authorization);
    credentials = authorization;
    sessionStorage.setItem("board-credentials", authorization);
    form.reset();
    loggedIn(user);
  } catch (error) {
    status.textContent = error.message;
  }
});

$("logout").addEventListener("click", logout);

$("post").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const status = $("post-status");
  status.textContent = "posting";
  // FormData: multipart/form-data with the file as it is on disk
  const response = await fetch("api/messages", { method: "POST", headers: { Authorization: credentials }, body: new FormData(form), credentials: "omit" });
  if (response.status === 401) {
    logout();
    $("login-status").textContent = "please log in again";
    status.textContent = "";
    return;
  }
  if (!response.ok) {
    status.textContent = await errorText(response);
    return;
  }
  const message = await response.json();
  status.textContent = `posted #${message.id}`;
  form.reset();
});

// The list: every message arrives through the event stream, the first ones included.
function show(message) {
  if (document.querySelector(`#messages li[data-id="${message.id}"]`) !== null) return;
  const item = document.createElement("li");
  item.dataset.id = String(message.id);
  const head = document.createElement("p");
  const user = document.createElement("strong");
  user.textContent = message.user;
  const time = document.createElement("time");
  time.dateTime = message.time;
  time.textContent = new Date(message.time).toLocaleString();
  head.append(user, " ", time);
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = message.text;
  item.append(head, text);
  if (message.file !== null) {
    const link = document.createElement("a");
    link.className = "file";
    link.href = message.file.url;
    link.download = message.file.name;
    link.textContent = `${message.file.name} (${message.file.size} bytes)`;
    item.append(link);
  }
  $("messages").prepend(item);
}

const events = new EventSource("events");
events.addEventListener("open", () => ($("live").textContent = "live"));
events.addEventListener("error", () => ($("live").textContent = events.readyState === EventSource.CLOSED ? "closed" : "reconnecting"));
events.addEventListener("message", (event) => show(JSON.parse(event.data)));

// The echo: ws: or wss: on the page's own path.
const echoUrl = new URL("echo", location.href);
echoUrl.protocol = echoUrl.protocol === "https:" ? "wss:" : "ws:";
const socket = new WebSocket(echoUrl, ["echo"]);
socket.addEventListener("open", () => ($("echo-status").textContent = "connected"));
socket.addEventListener("close", (event) => {
  // the gateway backends (FastCGI, SCGI...) cannot carry a websocket: the handshake fails
  $("echo-status").textContent = event.wasClean ? "closed" : "unavailable (it needs the http backend)";
});
socket.addEventListener("message", (event) => {
  const item = document.createElement("li");
  item.textContent = event.data;
  $("echoes").append(item);
});
$("echo").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = event.currentTarget.text;
  if (socket.readyState === WebSocket.OPEN) socket.send(input.value);
  input.value = "";
});

if (credentials !== null) whoAmI(credentials).then(loggedIn, logout);
