// The CGI program of the tests: the echo application (examples/echo) on the cgi backend, plus
// `/httpoxy`, which tells what the application sees of the `Proxy:` request header, and
// `/abort-watch`, what it sees of an upload cut short (a JSON line on stderr, since the
// response can no longer be written), and `/abort-quietly`, which returns without a response once
// its upload is cut short.
import { Server, type Request, type Response } from "../../vsgi/index.js";
import { handler as echo } from "../../examples/echo/handler.js";
import { abortWatcher } from "./abort-watch.js";

const watchAbort = abortWatcher((seen) => process.stderr.write(`abort-watch ${JSON.stringify(seen)}\n`));

async function handler(req: Request, res: Response): Promise<boolean> {
  if (req.path === "/httpoxy") {
    res.headers.set("Content-Type", "application/json");
    return res.expandUtf8(
      JSON.stringify({ processEnv: process.env.HTTP_PROXY ?? null, header: req.headers.get("proxy"), environment: req.environment.HTTP_PROXY ?? null }),
    );
  }
  if (req.path === "/argv") {
    res.headers.set("Content-Type", "application/json");
    return res.expandUtf8(JSON.stringify(process.argv.slice(2)));
  }
  if (req.path === "/abort-watch") return watchAbort(req, res);
  if (req.path === "/abort-quietly") {
    // Told of the abort, the handler gives up without a response.
    await req.flatten().catch(() => undefined);
    return true;
  }
  return echo(req, res);
}

await Server.new("cgi", { handler }).run(process.argv);
