// Server-Sent Events: a clock that ticks every second, and a page that shows it.
//   npm run build && node dist/examples/sse/app.js -p 3003   then open http://127.0.0.1:3003/
import { setTimeout as sleep } from "node:timers/promises";
import { Router, serverSentEvents } from "valum";
import { Server } from "valum/vsgi";

const app = new Router();

app.get("/", (req, res) => {
  res.headers.set("Content-Type", "text/html");
  return res.expandUtf8(`<!doctype html><title>clock</title><pre id="out"></pre>
<script>
  const events = new EventSource("clock");
  events.addEventListener("tick", (e) => (document.getElementById("out").textContent = e.lastEventId + " " + e.data));
</script>`);
});

app.get(
  "/clock",
  serverSentEvents(async (req, res, next, ctx, send) => {
    // A reconnecting EventSource sends the last id it saw: carry on from there.
    let n = Number(send.lastEventId ?? 0) || 0;
    // send resolves to false once the client is gone; the sleep ends early then.
    while (await send({ event: "tick", id: String(++n), data: new Date().toISOString() })) {
      await sleep(1000, null, { signal: send.signal }).catch(() => null);
    }
    return true;
  }),
);

await Server.new("http", { handler: app }).run(process.argv);
