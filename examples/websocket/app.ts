// A websocket echo with its page: node dist/examples/websocket/app.js, then open
// http://127.0.0.1:3003/ (or: npx wscat -c ws://127.0.0.1:3003/echo -s echo).
import { Router, websocket, ClientError } from "valum";
import { Server } from "valum/vsgi";

const page = `<!doctype html>
<title>echo</title>
<input id="text" autofocus> <pre id="log"></pre>
<script>
  const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/echo", ["echo"]);
  ws.onmessage = (event) => (log.textContent += event.data + "\\n");
  text.onkeydown = (event) => { if (event.key === "Enter") { ws.send(text.value); text.value = ""; } };
</script>`;

const app = new Router();

// A middleware before the upgrade: a refusal here is an ordinary response to the handshake.
app.use((req, res, next) => {
  if (req.lookupQuery("banned") !== null) throw ClientError.forbidden("not you");
  return next();
});

app.get("/", (req, res) => {
  res.headers.set("Content-Type", "text/html");
  return res.expandUtf8(page);
});

app.get(
  "/echo",
  websocket(
    ["echo"],
    (req, res, next, ctx, ws) => {
      ws.send(`connected, subprotocol ${JSON.stringify(ws.protocol)}`);
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      return true;
    },
    // Browsers send Origin: accept this server's pages only (cross-site websocket hijacking).
    { origin: (origin, req) => origin === null || origin === `http://${req.header("host")}` },
  ),
);

await Server.new("http", { handler: app }).run(process.argv);
