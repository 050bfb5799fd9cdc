// serveFromPath with sendfile: the front server sends the file the application names, lighttpd
// through `x-sendfile` on its SCGI backend, nginx through X-Accel-Redirect into an `internal`
// location. The application answers with no body: the bytes that arrive are the front server's.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { mkdirSync, writeFileSync, symlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import { DIST, FRONT_SERVERS, Managed, freePort, frontServerAvailable, removeFolder, tempFolder, waitForPort } from "./harness.js";
import { send } from "../helpers/http.js";
import { apacheConfig } from "../../examples/deploy/templates.js";

const SECRET = "TOPSECRET-sendfile";
const APP_JS = "console.log('app');\n".repeat(40);
let dir: string;
let root: string;

beforeAll(() => {
  dir = tempFolder("sendfile");
  root = join(dir, "public");
  mkdirSync(root, { mode: 0o755 });
  writeFileSync(join(dir, "secret.txt"), SECRET, { mode: 0o644 });
  writeFileSync(join(root, "hello.txt"), "hello world\n", { mode: 0o644 });
  writeFileSync(join(root, "café.txt"), "unicode\n", { mode: 0o644 });
  writeFileSync(join(root, "page.html"), "<p>hi</p>", { mode: 0o644 });
  writeFileSync(join(root, "app.js"), APP_JS, { mode: 0o644 });
  writeFileSync(join(root, "app.js.gz"), gzipSync(APP_JS), { mode: 0o644 });
  symlinkSync(join(dir, "secret.txt"), join(root, "link-out"));
  root = realpathSync(root);
});

afterAll(() => removeFolder(dir));

async function startApp(mode: string): Promise<{ proc: Managed; port: number }> {
  const port = await freePort();
  const proc = new Managed("app", process.execPath, [join(DIST, "test/fixtures/static-app.js"), root, mode, "scgi", "-p", String(port)]);
  await waitForPort(port, proc);
  return { proc, port };
}

async function startFront(name: "lighttpd" | "nginx" | "apache", config: (port: number, run: string) => string): Promise<Managed & { port: number }> {
  const port = await freePort();
  const run = join(dir, `${name}-${port}`);
  mkdirSync(run, { mode: 0o755 });
  const file = join(run, `${name}.conf`);
  writeFileSync(file, config(port, run));
  const args = name === "lighttpd" ? ["-D", "-f", file] : name === "nginx" ? ["-p", run, "-c", file, "-g", "daemon off;"] : ["-DFOREGROUND", "-f", file];
  // Apache's own settings, else apache2 insists on /etc/apache2/envvars
  const env = { ...process.env, APACHE_RUN_DIR: run, APACHE_LOCK_DIR: run, APACHE_LOG_DIR: run, APACHE_PID_FILE: join(run, "httpd.pid") };
  const proc = new Managed(name, FRONT_SERVERS[name], args, { cwd: run, env });
  await waitForPort(port, proc);
  return Object.assign(proc, { port });
}

async function checks(frontPort: number, { ranges = true, siblings = true } = {}): Promise<void> {
  const hello = await send(frontPort, "GET", "/hello.txt");
  expect([hello.status, hello.body.toString()]).toEqual([200, "hello world\n"]);
  expect(hello.headers["x-sendfile"]).toBeUndefined();
  expect(hello.headers["x-accel-redirect"]).toBeUndefined();
  expect(hello.headers["content-type"]).toMatch(/^text\/plain/);
  // ranges of the file are the front server's work; Apache's subrequest sends it whole (a 200
  // is a valid answer to a Range)
  const range = await send(frontPort, "GET", "/hello.txt", { Range: "bytes=0-4" });
  expect([range.status, range.body.toString()]).toEqual(ranges ? [206, "hello"] : [200, "hello world\n"]);
  const page = await send(frontPort, "GET", "/page.html");
  expect(page.headers["content-type"]).toBe("text/html; charset=utf-8"); // the application's, kept
  const gz = await send(frontPort, "GET", "/app.js", { "Accept-Encoding": "gzip" });
  if (siblings) {
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(gz.body).toString()).toBe(APP_JS);
  } else {
    // nginx drops the application's Content-Encoding: no sibling is named through it, nginx's
    // gzip_static picks it in the internal location
    expect([gz.headers["content-encoding"], gz.headers["vary"]]).toEqual(["gzip", "Accept-Encoding"]);
    expect(gunzipSync(gz.body).toString()).toBe(APP_JS);
  }
  const unicode = await send(frontPort, "GET", "/caf%C3%A9.txt");
  expect([unicode.status, unicode.body.toString()]).toEqual([200, "unicode\n"]);
  for (const target of ["/link-out", "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"]) {
    const res = await send(frontPort, "GET", target);
    expect([target, res.body.toString().includes(SECRET)]).toEqual([target, false]);
  }
}

const lighttpd = frontServerAvailable("lighttpd") ? describe : describe.skip;
lighttpd("lighttpd x-sendfile on its SCGI backend", () => {
  it("sends the file the application names, and nothing outside the root", async () => {
    const app = await startApp("x-sendfile");
    let front: (Managed & { port: number }) | null = null;
    try {
      front = await startFront(
        "lighttpd",
        (port, run) =>
          `server.modules = ( "mod_scgi" )\nserver.bind = "127.0.0.1"\nserver.port = ${port}\n` +
          `server.document-root = "${run}"\nserver.pid-file = "${run}/lighttpd.pid"\n` +
          `scgi.server = ( "/" => (( "host" => "127.0.0.1", "port" => ${app.port}, "check-local" => "disable",\n` +
          `  "fix-root-scriptname" => "enable", "x-sendfile" => "enable", "x-sendfile-docroot" => ( "${root}/" ) )) )\n`,
      );
      await checks(front.port);
    } finally {
      await front?.stop();
      await app.proc.stop();
    }
  });
});

const nginx = frontServerAvailable("nginx") ? describe : describe.skip;
nginx("nginx X-Accel-Redirect into an internal location", () => {
  it("sends the file the application names, and nothing outside the root", async () => {
    const app = await startApp("x-accel-redirect");
    let front: (Managed & { port: number }) | null = null;
    try {
      front = await startFront(
        "nginx",
        (port, run) =>
          (process.getuid?.() === 0 ? "user root;\n" : "") +
          `worker_processes 1;\npid ${run}/nginx.pid;\nerror_log stderr warn;\nevents { worker_connections 64; }\n` +
          `http {\n  access_log off;\n  client_body_temp_path ${run}/body;\n  scgi_temp_path ${run}/scgi;\n` +
          `  proxy_temp_path ${run}/proxy;\n  fastcgi_temp_path ${run}/fastcgi;\n  uwsgi_temp_path ${run}/uwsgi;\n` +
          `  server {\n    listen 127.0.0.1:${port};\n` +
          `    location / { include /etc/nginx/scgi_params; scgi_pass 127.0.0.1:${app.port}; }\n` +
          `    location /internal/ { internal; alias ${root}/; gzip_static on; gzip_vary on; }\n  }\n}\n`,
      );
      await checks(front.port, { siblings: false });
      // the internal location is not reachable from outside
      expect((await send(front.port, "GET", "/internal/hello.txt")).status).toBe(404);
    } finally {
      await front?.stop();
      await app.proc.stop();
    }
  });
});

const apache = frontServerAvailable("apache") ? describe : describe.skip;
apache("Apache httpd: mod_proxy_scgi's ProxySCGISendfile", () => {
  it("sends the file the application names, and nothing outside the root", async () => {
    const app = await startApp("x-sendfile");
    let front: (Managed & { port: number }) | null = null;
    try {
      front = await startFront(
        "apache",
        (port, run) =>
          apacheConfig({
            host: "127.0.0.1",
            port,
            runDir: run,
            errorLog: join(run, "error.log"),
            mounts: [{ backend: "scgi", prefix: "", upstream: { host: "127.0.0.1", port: app.port } }],
            user: process.getuid?.() === 0 ? "www-data" : undefined,
          }) +
          // the subrequest for the file is authorized like any other: grant the root only
          `ProxySCGISendfile On\n<Directory "${root}">\n  Require all granted\n</Directory>\n`,
      );
      await checks(front.port, { ranges: false });
    } finally {
      await front?.stop();
      await app.proc.stop();
    }
  });
});
