// The hello example: the application of the README. It runs unchanged on every backend:
//   npm start                                      (http on 127.0.0.1:3003)
//   node dist/examples/hello/app.js --help
//   VSGI_BACKEND=scgi node dist/examples/hello/app.js -p 9001
import { Router } from "valum";
import { Server } from "valum/vsgi";

const app = new Router();

app.get("/", (req, res) => {
  res.headers.set("Content-Type", "text/plain");
  return res.expandUtf8("Hello world!\n");
});

app.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`user #${ctx.id}\n`), "user");

app.get("/hello/<name>", (req, res, next, ctx) => {
  res.headers.set("Content-Type", "text/plain");
  return res.expandUtf8(`Hello ${ctx.name}! Your profile: ${app.urlFor("user", { id: 41 })}\n`);
});

await Server.new(process.env.VSGI_BACKEND ?? "http", { handler: app }).run(process.argv);
