/**
 * Type tests for `basepath` and `subdomain`: compiled by the main build. Each `@ts-expect-error`
 * line proves a wrong use fails to compile.
 */
import { Router, basepath, subdomain, type HandlerCallback } from "../../valum/index.js";

const api = new Router();
const app = new Router();

// a Router or a handler, and the result composes with use, routes and another middleware
app.use(basepath("/api", api));
app.use(basepath("/plain", (req, res, next) => next()));
app.get("/users/<int:id>", basepath("/x", (req, res, next, ctx) => res.expandUtf8(String(ctx.id))));
app.use(subdomain("api", basepath("/v1", api)));
const composed: HandlerCallback = subdomain("*", api, { strict: true, skip: 3 });

app.use(
  subdomain("*.users", (req, res, next, ctx) => {
    const labels: string[] = ctx.subdomains;
    // @ts-expect-error the labels are strings
    const wrong: number[] = ctx.subdomains;
    return res.expandUtf8(`${labels.join(".")} ${String(wrong)}`);
  }),
);

// @ts-expect-error the prefix is a string
basepath(5, api);
// @ts-expect-error strict is a boolean
subdomain("api", api, { strict: "yes" });
// @ts-expect-error no such option
subdomain("api", api, { skipp: 2 });

export { composed };
