// The Router's hello world, shared by the benchmarks.
import { Router } from "valum";

export const handler = new Router();
handler.get("/", (req, res) => {
  res.headers.set("Content-Type", "text/plain");
  return res.expandUtf8("Hello world!");
});
