// HAProxy 2.6: the template (see ../templates.ts).
import { comment, hostsOf, type FrontConfig } from "./mount.js";

/**
 * A standalone HAProxy 2.6 configuration (`haproxy -db -f haproxy.cfg`).
 *
 * @example writeFileSync("haproxy.cfg", haproxyConfig({ host: "127.0.0.1", port: 8080, runDir: "/run/app", errorLog: "stderr", mounts: [{ backend: "fastcgi", prefix: "", upstream: { host: "127.0.0.1", port: 9000 } }] }));
 */
export function haproxyConfig(c: FrontConfig): string {
  let frontend = "";
  let backends = "";
  c.mounts.forEach((m, i) => {
    const hosts = hostsOf(m);
    const name = `app${i}`;
    const proto = m.backend === "fastcgi" ? " proto fcgi" : "";
    const several = hosts.length > 1;
    const balance = several
      ? `  # Round robin over the hosts; "check" takes a host out while it fails its health check${m.backend === "http" && m.healthCheck !== undefined ? "" : " (a TCP\n  # connection)"}, and a request\n` +
        `  # whose host refuses the connection is sent again, the last time to another host (redispatch).\n` +
        `  balance roundrobin\n  option redispatch\n  retries 2\n` +
        (m.backend === "http" && m.healthCheck !== undefined ? `  option httpchk GET ${m.healthCheck}\n  http-check expect status 200\n` : "")
      : "";
    const servers = hosts.map((h, n) => `  server s${n + 1} ${h.host}:${h.port}${proto}${several ? " check inter 2s fall 2 rise 2" : ""}\n`).join("");
    if (m.prefix === "") frontend += `  default_backend ${name}\n`;
    else {
      frontend +=
        `  # ${m.prefix} itself: 308 to ${m.prefix}/, the query kept. Else the app would get SCRIPT_NAME = ${m.prefix} and no\n` +
        `  # PATH_INFO, which it cannot tell from a request for ${m.prefix} at the root.\n` +
        `  http-request redirect code 308 location ${m.prefix}/?%[query] if { path ${m.prefix} } { query -m found }\n` +
        `  http-request redirect code 308 location ${m.prefix}/ if { path ${m.prefix} }\n` +
        `  use_backend ${name} if { path_beg ${m.prefix}/ }\n`;
    }
    if (m.backend === "fastcgi") {
      backends +=
        `backend ${name}\n` +
        `  use-fcgi-app fcgi${i}\n` +
        `  # "http-reuse always" would share backend connections between clients too (with "safe",\n` +
        `  # the default, the first request of each client connection gets one of its own), but\n` +
        `  # HAProxy 2.6 then answers 500 itself to some concurrent uploads: see docs/deployment.md.\n` +
        balance +
        servers +
        "\n" +
        `fcgi-app fcgi${i}\n` +
        `  # Required by HAProxy; the app does not use it.\n` +
        `  docroot ${c.runDir}\n` +
        `  # Reuse connections and multiplex several requests on each.\n` +
        `  option keep-conn\n` +
        `  option mpxs-conns\n` +
        `  option max-reqs 8\n` +
        `  option get-values\n` +
        `  pass-header Authorization\n` +
        (m.prefix === ""
          ? ""
          : `  # SCRIPT_NAME = the prefix, PATH_INFO = the rest: the app strips the prefix.\n  path-info ^(${m.prefix})(/.*)$\n`) +
        "\n";
    } else if (m.backend === "http") {
      backends += `backend ${name}\n` + balance + servers + "\n";
    } else {
      throw new Error(`HAProxy cannot forward to ${m.backend}`);
    }
  });
  return (
    comment(c.header) +
    "global\n" +
    `  log ${c.errorLog} format raw local0 warning\n` +
    "defaults\n" +
    "  mode http\n" +
    "  log global\n" +
    "  option dontlog-normal\n" +
    "  timeout connect 5s\n" +
    "  timeout client 60s\n" +
    "  timeout server 60s\n" +
    "  # The FastCGI mux needs a body's length: with this, chunked request bodies that fit HAProxy's\n" +
    "  # buffer (tune.bufsize, 16 KiB) are buffered and passed; larger ones are still answered 400.\n" +
    "  option http-buffer-request\n\n" +
    `frontend web\n  bind ${c.host}:${c.port}\n` +
    frontend +
    "\n" +
    backends
  );
}
