// The gateway benchmark: the Router's hello world (apps/router-app.ts) behind lighttpd and nginx
// through SCGI and FastCGI, side by side with the same front server reverse-proxying HTTP to bare
// node:http (apps/node-http.ts), and nginx FastCGI to the `node-fastcgi` package.
//   npm run build && node dist/bench/gateway.js            (5 s per contender, 2 rounds)
//   node dist/bench/gateway.js 10 3                        (10 s per contender, 3 rounds)
//   GATEWAY_FRONT_CPU=1 node dist/bench/gateway.js         (front server on wrk's CPU)
//   GATEWAY_PROFILE=DIR node dist/bench/gateway.js 5 1     (node --cpu-prof of every backend into DIR)
//   GATEWAY_ONLY='nginx fastcgi' node dist/bench/gateway.js  (the contenders whose key matches)
//
// Each front server runs unprivileged-style on loopback, one worker, with a config written into a
// temporary folder; the backend is pinned to CPU 0, the front server to CPU 0 too (so the figure
// is what one core serves, front and back together; GATEWAY_FRONT_CPU moves it), wrk to CPU 1.
// Contenders run one after the other, interleaved round by round; the best round counts.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { haveWrk, listening, load, startNode, stop, type LoadResult } from "./wrk.js";
import { freePort } from "../test/helpers/ports.js";

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 2);
const frontCpu = process.env.GATEWAY_FRONT_CPU ?? "0";
const profileDir = process.env.GATEWAY_PROFILE;
const only = process.env.GATEWAY_ONLY === undefined ? null : new RegExp(process.env.GATEWAY_ONLY);
const app = (name: string): string => fileURLToPath(new URL(`./apps/${name}.js`, import.meta.url));

type FrontName = "lighttpd" | "nginx";
/** How the front server talks to the backend. */
type Upstream = "http" | "scgi" | "fastcgi" | "ajp";

interface Contender {
  front: FrontName;
  upstream: Upstream;
  /** What answers behind the front server. */
  backend: "node:http" | "valum" | "node-fastcgi";
  /** The backend's command line (after `node`), given its port. */
  command(port: number): string[];
  /** nginx HTTP and FastCGI: false = one connection per request (no upstream keepalive, no fastcgi_keep_conn). */
  keepConn?: boolean;
}

const valum = (upstream: Upstream) => (port: number) => [app("gateway-valum"), upstream, String(port)];
const nodeHttp = (port: number): string[] => [app("node-http"), String(port)];
const nodeFastcgi = (port: number): string[] => [app("gateway-node-fastcgi"), String(port)];

const contenders: Contender[] = [
  { front: "lighttpd", upstream: "http", backend: "node:http", command: nodeHttp },
  { front: "lighttpd", upstream: "http", backend: "valum", command: valum("http") },
  { front: "lighttpd", upstream: "scgi", backend: "valum", command: valum("scgi") },
  { front: "lighttpd", upstream: "fastcgi", backend: "valum", command: valum("fastcgi") },
  { front: "lighttpd", upstream: "ajp", backend: "valum", command: valum("ajp") },
  { front: "nginx", upstream: "http", backend: "node:http", command: nodeHttp },
  // nginx's default proxying: a new upstream connection per request, as SCGI must do.
  { front: "nginx", upstream: "http", backend: "node:http", command: nodeHttp, keepConn: false },
  { front: "nginx", upstream: "http", backend: "valum", command: valum("http") },
  { front: "nginx", upstream: "scgi", backend: "valum", command: valum("scgi") },
  { front: "nginx", upstream: "fastcgi", backend: "valum", command: valum("fastcgi") },
  { front: "nginx", upstream: "fastcgi", backend: "valum", command: valum("fastcgi"), keepConn: false },
  // node-fastcgi 2.0.0 writes an empty STDERR record after END_REQUEST (its stderr stream ends
  // when the request closes): with fastcgi_keep_conn nginx sees a record on an idle kept
  // connection, closes it and gets resets; it works (slowly) one connection per request. Both
  // are measured; the target is taken against its better figure.
  { front: "nginx", upstream: "fastcgi", backend: "node-fastcgi", command: nodeFastcgi },
  { front: "nginx", upstream: "fastcgi", backend: "node-fastcgi", command: nodeFastcgi, keepConn: false },
];
const key = (c: Contender): string => `${c.front} ${c.upstream} ${c.backend}${c.keepConn === false ? " 1conn" : ""}`;
const label = (c: Contender): string =>
  `${c.upstream === "http" ? "HTTP proxy" : c.upstream.toUpperCase().replace("FASTCGI", "FastCGI")} -> ${c.backend}${c.keepConn === false ? " (no keep)" : ""}`;

// ------------------------------------------------------------------------------------------------
// Front-server configurations (small on purpose: the same settings for every upstream)

/** lighttpd 1.4: one process, no access log, keep-alive with the client as long as wrk wants. */
export function lighttpdConfig(dir: string, port: number, upstream: Upstream, backendPort: number): string {
  const up = `"host" => "127.0.0.1", "port" => ${backendPort}, "check-local" => "disable"`;
  const server: Record<Upstream, [string, string]> = {
    http: ["mod_proxy", `proxy.server = ( "" => (( "host" => "127.0.0.1", "port" => ${backendPort} )) )`],
    scgi: ["mod_scgi", `scgi.server = ( "/" => (( ${up}, "fix-root-scriptname" => "enable" )) )`],
    fastcgi: ["mod_fastcgi", `fastcgi.server = ( "/" => (( ${up}, "fix-root-scriptname" => "enable" )) )`],
    ajp: ["mod_ajp13", `ajp13.server = ( "" => (( ${up} )) )`],
  };
  const [module, line] = server[upstream];
  return [
    `server.modules = ( "${module}" )`,
    `server.bind = "127.0.0.1"`,
    `server.port = ${port}`,
    `server.document-root = "${dir}"`,
    `server.pid-file = "${dir}/lighttpd.pid"`,
    `server.upload-dirs = ( "${dir}" )`,
    `server.max-keep-alive-requests = 1000000`,
    `server.max-keep-alive-idle = 60`,
    `server.max-connections = 1024`,
    `server.stream-request-body = 2`,
    `server.stream-response-body = 2`,
    line,
    "",
  ].join("\n");
}

/**
 * nginx: one worker, no access log; every peer that can keep its connection does (HTTP/1.1 with
 * upstream keepalive, FastCGI with fastcgi_keep_conn); SCGI has one request per connection.
 */
export function nginxConfig(dir: string, port: number, upstream: Upstream, backendPort: number, keepConn = true): string {
  const pass: Record<Upstream, string> = {
    http: `proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host;`,
    scgi: `include /etc/nginx/scgi_params; scgi_pass app;`,
    fastcgi: `include /etc/nginx/fastcgi_params; fastcgi_pass app;${keepConn ? " fastcgi_keep_conn on;" : ""}`,
    ajp: "", // nginx has no AJP
  };
  const root = process.getuid?.() === 0;
  return [
    root ? "user root;" : "",
    "worker_processes 1;",
    `pid ${dir}/nginx.pid;`,
    "error_log stderr warn;",
    "events { worker_connections 1024; }",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${dir}/client_body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    "  keepalive_requests 1000000;",
    `  upstream app { server 127.0.0.1:${backendPort};${keepConn ? " keepalive 64; keepalive_requests 1000000;" : ""} }`,
    `  server { listen 127.0.0.1:${port}; location / { ${pass[upstream]} } }`,
    "}",
    "",
  ].join("\n");
}

// ------------------------------------------------------------------------------------------------
// Processes


/** Starts the front server pinned to `frontCpu`, in the foreground, and waits for its port. */
async function startFront(front: FrontName, dir: string, port: number, config: string): Promise<ChildProcess> {
  const file = join(dir, `${front}.conf`);
  writeFileSync(file, config);
  const args = front === "lighttpd" ? ["/usr/sbin/lighttpd", "-D", "-f", file] : ["/usr/sbin/nginx", "-p", dir, "-c", file, "-g", "daemon off;"];
  const child = spawn("taskset", ["-c", frontCpu, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${front} exited (${child.exitCode}):\n${log}\n${config}`);
    try {
      await get(port, "/");
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`${front} did not answer on ${port}:\n${log}`);
}

/** One GET on a new connection: status and body. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      res.on("error", fail);
    });
    req.on("error", fail);
    req.end();
  });
}

async function stopFront(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM"); // taskset exec'd the front server: this is its pid
  await once(child, "exit");
}

const TICK_US = 1e6 / 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** CPU time (user + system, µs) of a process and its children still alive (nginx's worker). */
function cpuTime(pid: number): number {
  let total = 0;
  const visit = (p: number): void => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/)) {
        if (child !== "") visit(Number(child));
      }
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

/** A measured run with the CPU time each side spent per request. */
interface Measured extends LoadResult {
  backendUs: number;
  frontUs: number;
}

/** One contender for one round: backend, front server, a check, a warm-up, the measured run. */
async function measure(c: Contender, dir: string): Promise<Measured> {
  const backendPort = await freePort();
  const port = await freePort();
  const [script, ...args] = c.command(backendPort);
  // --cpu-prof is refused in NODE_OPTIONS: it goes before the script (the profile is written at exit)
  const backend =
    profileDir === undefined
      ? startNode(script!, args)
      : spawn("taskset", ["-c", "0", process.execPath, "--cpu-prof", `--cpu-prof-dir=${join(profileDir, key(c).replace(/[^a-z0-9]+/gi, "-"))}`, script!, ...args], {
          stdio: ["ignore", "pipe", "pipe"],
        });
  let front: ChildProcess | undefined;
  try {
    await listening(backend);
    const runDir = join(dir, key(c).replace(/[^a-z0-9]+/gi, "-"));
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    const config = c.front === "lighttpd" ? lighttpdConfig(runDir, port, c.upstream, backendPort) : nginxConfig(runDir, port, c.upstream, backendPort, c.keepConn);
    front = await startFront(c.front, runDir, port, config);
    const check = await get(port, "/");
    if (check.status !== 200 || check.body !== "Hello world!") {
      throw new Error(`${key(c)}: expected 200 "Hello world!", got ${check.status} ${JSON.stringify(check.body)}`);
    }
    load(`http://127.0.0.1:${port}/`, 2); // warm-up: JIT, pooled upstream connections
    // taskset execs: the pids are node's and the front server's (nginx: master + worker)
    const b0 = cpuTime(backend.pid!);
    const f0 = cpuTime(front.pid!);
    const result = load(`http://127.0.0.1:${port}/`, seconds);
    const requests = Math.max(1, result.requestsPerSecond * seconds);
    return { ...result, backendUs: (cpuTime(backend.pid!) - b0) / requests, frontUs: (cpuTime(front.pid!) - f0) / requests };
  } finally {
    if (front !== undefined) await stopFront(front);
    await stop(backend);
  }
}

// ------------------------------------------------------------------------------------------------

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!haveWrk()) {
    console.error("wrk is not installed (apt-get install -y wrk)");
    process.exit(1);
  }
  for (const f of ["/usr/sbin/lighttpd", "/usr/sbin/nginx"]) {
    if (!existsSync(f)) {
      console.error(`${f} is not installed (apt-get install -y lighttpd nginx)`);
      process.exit(1);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "valum-bench-gateway-"));
  const results = new Map<string, Measured[]>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const c of contenders) {
        if (only !== null && !only.test(key(c))) continue;
        const r = await measure(c, dir);
        results.set(key(c), [...(results.get(key(c)) ?? []), r]);
        console.error(
          `round ${round + 1}: ${c.front.padEnd(9)}${label(c).padEnd(36)}${r.requestsPerSecond.toFixed(0).padStart(8)} req/s, ` +
            `CPU per request: backend ${r.backendUs.toFixed(1)} µs, front ${r.frontUs.toFixed(1)} µs`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const best = (k: string): number => Math.max(...(results.get(k) ?? []).map((r) => r.requestsPerSecond));
  const all = (k: string): string => (results.get(k) ?? []).map((r) => r.requestsPerSecond.toFixed(0)).join(" ");
  const baseline = (front: FrontName): number => best(`${front} http node:http`);
  // CPU per request, backend and front server together (each the lowest of its rounds): what
  // one core spends per request, much less sensitive than req/s to a busy machine.
  const cpu = (k: string): number => {
    const runs = results.get(k) ?? [];
    return Math.min(...runs.map((r) => r.backendUs)) + Math.min(...runs.map((r) => r.frontUs));
  };
  console.log(
    `\nhello world through a front server, ${seconds} s x ${rounds} rounds interleaved, best round; ` +
      `backend on CPU 0, front server (1 worker) on CPU ${frontCpu}, wrk -t1 -c64 on CPU 1`,
  );
  console.log(
    "front".padEnd(10) + "path".padEnd(36) + "req/s".padStart(8) + "ratio".padStart(8) + "back µs".padStart(9) + "front µs".padStart(10) + "CPU ratio".padStart(11) + "errors".padStart(8) + "  all rounds (req/s)",
  );
  for (const c of contenders) {
    const k = key(c);
    const runs = results.get(k) ?? [];
    if (runs.length === 0) continue;
    const errors = runs.reduce((a, r) => a + r.errors, 0);
    // CPU per request: the lowest of the rounds (the least disturbed by the machine's other load)
    const back = Math.min(...runs.map((r) => r.backendUs));
    const front = Math.min(...runs.map((r) => r.frontUs));
    console.log(
      c.front.padEnd(10) +
        label(c).padEnd(36) +
        best(k).toFixed(0).padStart(8) +
        (best(k) / baseline(c.front)).toFixed(3).padStart(8) +
        back.toFixed(1).padStart(9) +
        front.toFixed(1).padStart(10) +
        (best(k) > 0 ? (cpu(`${c.front} http node:http`) / cpu(k)).toFixed(3) : "-").padStart(11) +
        String(errors).padStart(8) +
        "  " +
        all(k),
    );
  }
  console.log(
    "ratio: req/s to the HTTP proxy to node:http of the same front server; back/front µs: CPU time per request (user + system);\n" +
      "CPU ratio: back + front µs of that HTTP proxy to node:http over this row's (above 1: this path costs the core less)",
  );
  const ratio = (a: string, b: string): number => best(a) / best(b);
  console.log("\ntargets:");
  for (const front of ["lighttpd", "nginx"] as const) {
    for (const up of ["scgi", "fastcgi"] as const) {
      const r = ratio(`${front} ${up} valum`, `${front} http node:http`);
      const c = cpu(`${front} http node:http`) / cpu(`${front} ${up} valum`);
      console.log(`  ${front} ${up} / HTTP proxy to node:http = ${r.toFixed(3)} req/s, ${c.toFixed(3)} CPU (target >= 1.0) ${r >= 1 ? "met" : "MISSED"}`);
    }
  }
  // SCGI allows one request per connection: like for like, against nginx proxying HTTP with a
  // new upstream connection per request too (nginx's default).
  const one = ratio("nginx scgi valum", "nginx http node:http 1conn");
  const oneCpu = cpu("nginx http node:http 1conn") / cpu("nginx scgi valum");
  console.log(
    `  nginx scgi / HTTP proxy to node:http, both one connection per request = ${one.toFixed(3)} req/s, ${oneCpu.toFixed(3)} CPU (target >= 1.0) ${one >= 1 ? "met" : "MISSED"}`,
  );
  const peer = Math.max(best("nginx fastcgi node-fastcgi"), best("nginx fastcgi node-fastcgi 1conn"));
  const f = best("nginx fastcgi valum") / peer;
  console.log(`  nginx FastCGI valum / node-fastcgi (its better set-up) = ${f.toFixed(2)} (target >= 4) ${f >= 4 ? "met" : "MISSED"}`);
  const same = best("nginx fastcgi valum 1conn") / best("nginx fastcgi node-fastcgi 1conn");
  console.log(`  nginx FastCGI one connection per request, valum / node-fastcgi = ${same.toFixed(2)}`);
}
