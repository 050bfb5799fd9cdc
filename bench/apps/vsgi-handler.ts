// VSGI without the router: a plain handler on the http backend.
import { Server, type Request, type Response } from "valum/vsgi";

const port = process.argv[2] ?? "3003";
const handler = (req: Request, res: Response): Promise<boolean> => {
  res.headers.set("Content-Type", "text/plain");
  return res.expandUtf8("Hello world!");
};
await Server.new("http", { handler }).run([process.argv[0]!, process.argv[1]!, "--port", port]);
