// The peer: @fastify/static serving the folder given as the second argument.
import Fastify from "fastify";
import fastifyStatic from "@fastify/static";

const port = Number(process.argv[2] ?? 3003);
const root = process.argv[3]!;
const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root, prefix: "/static/" });
await app.listen({ port, host: "127.0.0.1" });
console.log(`Listening on 'http://127.0.0.1:${port}/'`);
