// Stand-in until the Router lands: replaced by `new Router()` with one route.
import type { Request, Response } from "valum/vsgi";

export const handler = (req: Request, res: Response): Promise<boolean> | boolean => {
  if (req.path !== "/") return false;
  res.headers.set("Content-Type", "text/plain");
  return res.expandUtf8("Hello world!");
};
