/**
 * httpoxy (CVE-2016-5385) in a CGI process: the front server turns a client's `Proxy:` header
 * into HTTP_PROXY in the process environment, the variable HTTP clients take their proxy from.
 * The backend deletes it before the application runs; but Node 24 and later, with
 * NODE_USE_ENV_PROXY=1 or --use-env-proxy, read it when the process starts, before any code:
 * there, only refusing the request keeps the client from choosing the proxy of the
 * application's outgoing requests.
 */

/** Whether node was told to take its HTTP proxy from the environment. */
function usesEnvironmentProxy(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NODE_USE_ENV_PROXY === "1") return true;
  if (process.execArgv.includes("--use-env-proxy")) return true;
  return /(?:^|\s)--use-env-proxy(?:\s|$)/.test(env.NODE_OPTIONS ?? "");
}

/**
 * Deletes HTTP_PROXY from `env` (the process environment) and returns why the request must be
 * refused, or `null`: when node already took HTTP_PROXY for its proxy. A lower-case
 * `http_proxy`, which no request header can produce, wins over HTTP_PROXY in node: set so, the
 * proxy is the administrator's and nothing is refused.
 *
 * @example const refusal = dropRequestProxy(process.env); if (refusal !== null) logError(refusal);
 */
export function dropRequestProxy(env: Record<string, string | undefined>): string | null {
  if (env.HTTP_PROXY === undefined) return null;
  delete env.HTTP_PROXY;
  if (!usesEnvironmentProxy(env) || env.http_proxy !== undefined) return null;
  return (
    "cgi: refused a request with a Proxy header: node takes its HTTP proxy from HTTP_PROXY here " +
    "(NODE_USE_ENV_PROXY=1 or --use-env-proxy, read at start-up), so the client would choose the proxy " +
    "of outgoing requests (httpoxy); set the proxy as http_proxy (lower case), which no request can set, " +
    "or turn the environment proxy off"
  );
}
