// The websocket middleware behind each front server, configured as docs/middlewares/websocket.md
// says (the lines that pass the upgrade on): a ws client connects through the front server, picks
// its subprotocol and echoes; a plain GET is answered 426 through it.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket } from "ws";
import { Router, websocket } from "../../valum/index.js";
import { Server } from "../../vsgi/index.js";
import { FRONT_SERVERS, Managed, frontServerAvailable, freePort, removeFolder, tempFolder, waitForPort, type FrontName } from "./harness.js";

const root = process.getuid?.() === 0;

/** Each front server's whole config: the boilerplate of examples/deploy, and the documented lines. */
const CONFIGS: Record<FrontName, { file: string; args(conf: string, dir: string): string[]; render(dir: string, port: number, app: number): string }> = {
  nginx: {
    file: "nginx.conf",
    args: (conf, dir) => ["-p", dir, "-c", conf, "-g", "daemon off;"],
    render: (d, port, app) =>
      (root ? "user root;\n" : "") +
      `worker_processes 1;\npid ${d}/nginx.pid;\nerror_log stderr warn;\nevents { worker_connections 64; }\n` +
      `http {\n  access_log off;\n  client_body_temp_path ${d}/client_body;\n  proxy_temp_path ${d}/proxy;\n` +
      `  fastcgi_temp_path ${d}/fastcgi;\n  scgi_temp_path ${d}/scgi;\n  uwsgi_temp_path ${d}/uwsgi;\n` +
      `  map $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n  }\n` +
      `  server {\n    listen 127.0.0.1:${port};\n    location / {\n` +
      `      proxy_pass http://127.0.0.1:${app};\n      proxy_http_version 1.1;\n` +
      `      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection $connection_upgrade;\n` +
      `      proxy_set_header Host $host;\n      proxy_read_timeout 1h;\n    }\n  }\n}\n`,
  },
  apache: {
    file: "apache.conf",
    args: (conf) => ["-DFOREGROUND", "-f", conf],
    render: (d, port, app) =>
      `ServerRoot "${d}"\nListen 127.0.0.1:${port}\nServerName 127.0.0.1\nPidFile "${d}/httpd.pid"\n` +
      `ErrorLog "${d}/error.log"\nLogLevel warn\nMutex file:${d} default\nDefaultRuntimeDir "${d}"\n` +
      (root ? "User www-data\nGroup www-data\n" : "") +
      ["mpm_event", "authz_core", "proxy", "proxy_http"].map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so\n`).join("") +
      `DocumentRoot "${d}"\n` +
      `ProxyPass        / http://127.0.0.1:${app}/ upgrade=websocket\nProxyPassReverse / http://127.0.0.1:${app}/\nProxyPreserveHost On\n`,
  },
  haproxy: {
    file: "haproxy.cfg",
    args: (conf) => ["-db", "-f", conf],
    render: (_d, port, app) =>
      "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  timeout tunnel 1h\n" +
      `frontend web\n  bind 127.0.0.1:${port}\n  default_backend app\n` +
      `backend app\n  server app1 127.0.0.1:${app}\n`,
  },
  lighttpd: {
    file: "lighttpd.conf",
    args: (conf) => ["-D", "-f", conf],
    render: (d, port, app) =>
      `server.modules = ( "mod_proxy" )\nserver.bind = "127.0.0.1"\nserver.port = ${port}\n` +
      `server.document-root = "${d}"\nserver.pid-file = "${d}/lighttpd.pid"\n` +
      `proxy.server = ("/" => (("host" => "127.0.0.1", "port" => ${app})))\nproxy.header = ("upgrade" => "enable")\n`,
  },
};

function open(url: string, protocols: string[]): Promise<{ ws: WebSocket; first: string }> {
  const ws = new WebSocket(url, protocols);
  return new Promise((resolve, reject) => {
    // The first message may come with the 101: listen before 'open'.
    ws.once("message", (data) => resolve({ ws, first: String(data) }));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function reply(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once("message", (data) => resolve(String(data)));
    ws.send(text);
  });
}

describe.each(Object.keys(CONFIGS) as FrontName[])("websocket behind %s", (name) => {
  const available = frontServerAvailable(name);
  // made when the tests run (see examples.test.ts)
  let dir = "";
  let server: Server | null = null;
  let front: Managed | null = null;
  let port = 0;

  beforeAll(async () => {
    if (!available) return;
    dir = tempFolder(`websocket-${name}`);
    const app = new Router();
    app.get(
      "/echo",
      websocket(["chat.v2", "chat"], (req, res, next, ctx, ws) => {
        ws.send(`hello ${ws.protocol}`);
        ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
        return true;
      }),
    );
    server = await Server.load("http", { handler: app, stopTimeout: 1000 });
    const appPort = await freePort();
    await server.listen({ port: appPort, host: "127.0.0.1" });
    port = await freePort();
    const runDir = join(dir, "run");
    mkdirSync(runDir, { recursive: true, mode: 0o755 });
    const config = CONFIGS[name];
    const conf = join(runDir, config.file);
    writeFileSync(conf, config.render(runDir, port, appPort));
    const env = { ...process.env };
    if (name === "apache") Object.assign(env, { APACHE_RUN_DIR: runDir, APACHE_LOCK_DIR: runDir, APACHE_LOG_DIR: runDir, APACHE_PID_FILE: join(runDir, "httpd.pid") });
    front = new Managed(name, FRONT_SERVERS[name], config.args(conf, runDir), { cwd: runDir, env });
    await waitForPort(port, front);
  });

  afterAll(async () => {
    await front?.stop();
    await server?.stop();
    if (dir !== "") removeFolder(dir);
  });

  const test = available ? it : it.skip;

  test("connects through it, with the server's choice of subprotocol, and echoes", async () => {
    const { ws, first } = await open(`ws://127.0.0.1:${port}/echo`, ["chat", "chat.v2"]);
    expect(first).toBe("hello chat.v2");
    expect(ws.protocol).toBe("chat.v2");
    expect(await reply(ws, "through the proxy")).toBe("through the proxy");
    const closed = new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  });

  test("answers a plain GET 426 through it", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/echo`);
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
  });
});
