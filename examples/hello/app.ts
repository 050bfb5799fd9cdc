// The example application: the same code runs on every backend. Start it with
// `npm start` (http on 127.0.0.1:3003) or `node dist/examples/hello/app.js --help`; the
// backend is the first argument when it names one (`node dist/examples/hello/app.js scgi -p 9001`).
import { Server } from "valum/vsgi";

const handler = (req: import("valum/vsgi").Request, res: import("valum/vsgi").Response): Promise<boolean> =>
  res.expandUtf8(`Hello from ${req.path}\n`);

const backends = ["http", "cgi", "scgi", "fastcgi", "ajp"];
const argv = process.argv.slice();
const backend = backends.includes(argv[2] ?? "") ? argv.splice(2, 1)[0]! : (process.env.VSGI_BACKEND ?? "http");

await Server.new(backend, { handler }).run(argv);
