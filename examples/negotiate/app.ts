// The content negotiation example of docs/middlewares/negotiate.md:
//   npm run build && node dist/examples/negotiate/app.js        (http on 127.0.0.1:3003)
//   curl -i -H 'Accept: text/html' http://127.0.0.1:3003/users/1
//   curl -i --compressed http://127.0.0.1:3003/report
import { Router, ClientError, accept, acceptEncoding, acceptLanguage } from "valum";
import { Server } from "valum/vsgi";

const users = new Map([[1, { id: 1, name: "Ana" }]]);

const app = new Router();

// JSON for programs, HTML for browsers (which send text/html with q=1 and */* lower)
app.get(
  "/users/<int:id>",
  accept("application/json, text/html; q=0.9", (req, res, next, ctx, type) => {
    const user = users.get(ctx.id);
    if (user === undefined) throw ClientError.notFound(`no user ${ctx.id}`);
    return type === "text/html" ? res.expandUtf8(`<h1>${user.name}</h1>`) : res.expandJson(user);
  }),
);

// Content-Language follows the choice; fr-CA, fr-FR... are served fr
app.get("/", acceptLanguage("en, fr; q=0.9", (req, res, next, ctx, lang) => res.expandUtf8(lang === "fr" ? "Bonjour\n" : "Hello\n")));

// compressed as it streams, for clients that take br, gzip or deflate
app.get(
  "/report",
  acceptEncoding("br, gzip, deflate", async (req, res) => {
    res.headers.set("Content-Type", "text/csv");
    await res.appendUtf8("day,visits\n");
    for (let day = 1; day <= 365; day++) await res.appendUtf8(`${day},${(day * 7919) % 1000}\n`);
    return res.end();
  }),
);

await Server.new(process.env.VSGI_BACKEND ?? "http", { handler: app }).run(process.argv);
