// The peer: Fastify's hello world.
import Fastify from "fastify";

const port = Number(process.argv[2] ?? 3003);
const app = Fastify({ logger: false });
app.get("/", (request, reply) => {
  reply.type("text/plain; charset=UTF-8").send("Hello world!");
});
await app.listen({ port, host: "127.0.0.1" });
console.log(`Listening on 'http://127.0.0.1:${port}/'`);
