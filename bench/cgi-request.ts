// Micro-benchmark of what every FastCGI request costs before the application runs: decoding
// PARAMS, collecting the environment, rebuilding the request. In process, no sockets:
//   npm run build && taskset -c 1 node dist/bench/cgi-request.js
import { PassThrough } from "node:stream";
import { Request, requestFromEnvironment } from "../vsgi/index.js";
import { decodeVariables, encodePairs } from "../servers/fastcgi/records.js";
import { nginxParams } from "../test/helpers/fastcgi-client.js";

const headers: [string, string][] = [
  ["Host", "localhost:8080"],
  ["User-Agent", "wrk"],
  ["Accept", "*/*"],
  ["Accept-Encoding", "gzip"],
  ["Connection", "keep-alive"],
];
const bytes = encodePairs(nginxParams("GET", "/", headers));
const body = new PassThrough();

function once(): Request {
  const env = decodeVariables(bytes);
  return new Request(requestFromEnvironment(env, body));
}

for (let i = 0; i < 200000; i++) once().path;
const n = 1000000;
const start = process.hrtime.bigint();
let sink = 0;
for (let i = 0; i < n; i++) sink += once().path.length;
const ns = Number(process.hrtime.bigint() - start) / n;
console.log(`PARAMS (${bytes.length} bytes, ${nginxParams("GET", "/", headers).length} variables) to a routed Request: ${ns.toFixed(0)} ns (${sink > 0 ? "ok" : "?"})`);
