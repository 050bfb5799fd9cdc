// The front-server configurations of examples/deploy/, as functions. The example files are
// generated from them (`node dist/examples/deploy/generate.js`), and the interop suite
// (test/interop/) starts the real front servers with configs written by the same functions:
// what the examples say is what the tests run.
//
// Each function takes where the front server listens, a folder for its run-time files (pid,
// temporary files, sockets), and the mounts: which backend answers under which prefix.

/** A backend the front server forwards to. */
export type Backend = "scgi" | "fastcgi" | "cgi" | "ajp" | "http";

/** One application mounted by the front server. */
export interface Mount {
  backend: Backend;
  /** `""` for the root, or a prefix such as `/app` (no trailing slash). */
  prefix: string;
  /** TCP address of a backend that listens itself (scgi, fastcgi, ajp, http). */
  upstream?: { host: string; port: number };
  /**
   * nginx and HAProxy, instead of `upstream`: several hosts that serve the same application;
   * requests are spread over them, and one that refuses connections is skipped.
   */
  hosts?: { host: string; port: number }[];
  /** HAProxy over HTTP with `hosts`: the path each host answers 200 to while it is healthy. */
  healthCheck?: string;
  /**
   * lighttpd only: the command line lighttpd runs (`bin-path`) with the listening socket on
   * fd 0, and the UNIX socket path it creates for it (scgi, fastcgi).
   */
  spawn?: { command: string; socket: string; maxProcs?: number };
  /** cgi: the executable script the front server runs for each request. */
  script?: string;
  /** ajp: the shared secret (Apache `secret=`; the backend's `secret` option). */
  secret?: string;
}

/** Where a front server listens and keeps its files. */
export interface FrontConfig {
  host: string;
  port: number;
  /** A folder for the pid file, temporary files and sockets. */
  runDir: string;
  /** Where errors go: a file, or `stderr`. */
  errorLog: string;
  /**
   * lighttpd only: `server.breakagelog`, the file that gets the standard error of the apps it
   * spawns (bin-path) and of CGI scripts. Unset, they write to lighttpd's own standard error.
   */
  breakageLog?: string;
  mounts: Mount[];
  /** nginx/Apache: the user the workers run as (`root` in tests started as root). */
  user?: string;
  /** Extra comment lines at the top. */
  header?: string[];
}

function comment(lines: string[] | undefined): string {
  return (lines ?? []).map((l) => `# ${l}`.trimEnd() + "\n").join("");
}

function q(s: string): string {
  return JSON.stringify(s);
}

function need<T>(value: T | undefined, what: string, mount: Mount): T {
  if (value === undefined) throw new Error(`mount ${mount.backend} at ${q(mount.prefix || "/")} needs ${what}`);
  return value;
}

// The hosts a balancing front server spreads the mount's requests over: `hosts`, or the one upstream.
function hostsOf(m: Mount): { host: string; port: number }[] {
  return m.hosts !== undefined && m.hosts.length > 0 ? m.hosts : [need(m.upstream, "upstream or hosts", m)];
}

// --------------------------------------------------------------------------------------------
// lighttpd 1.4

function lighttpdMount(m: Mount): string {
  const root = m.prefix === "";
  // Under a prefix, a condition keeps /application from matching /app; the mount point itself
  // (/app) is redirected to /app/ (docs/deployment.md, "The mount point").
  const open = root
    ? ""
    : `$HTTP["url"] =~ "^${m.prefix}(/|$)" {\n` +
      `  # ${m.prefix} itself: 308 to ${m.prefix}/ (query kept). Else the app would get SCRIPT_NAME = ${q(m.prefix)} and no\n` +
      `  # PATH_INFO, which it cannot tell from a request for ${q(m.prefix)} at the root.\n` +
      `  $HTTP["url"] == ${q(m.prefix)} {\n    url.redirect = ( "" => "${m.prefix}/\${qsa}" )\n    url.redirect-code = 308\n  }\n`;
  const close = root ? "" : "}\n";
  const ind = root ? "" : "  ";
  let body = "";
  switch (m.backend) {
    case "scgi":
    case "fastcgi": {
      const key = m.backend === "scgi" ? "scgi.server" : "fastcgi.server";
      const opts: string[] = [];
      if (m.spawn !== undefined) {
        opts.push(`"bin-path" => ${q(m.spawn.command)}`, `"socket" => ${q(m.spawn.socket)}`, `"max-procs" => ${m.spawn.maxProcs ?? 1}`);
      } else {
        const up = need(m.upstream, "upstream or spawn", m);
        opts.push(`"host" => ${q(up.host)}`, `"port" => ${up.port}`);
      }
      opts.push(`"check-local" => "disable"`);
      // At the root lighttpd would send SCRIPT_NAME "/" and strip it from PATH_INFO.
      if (root) opts.push(`"fix-root-scriptname" => "enable"`);
      const pad = `${ind}      `;
      body =
        `${ind}# ${m.backend === "scgi" ? "SCGI" : "FastCGI"}: SCRIPT_NAME = ${root ? '""' : q(m.prefix)}, PATH_INFO = the rest of the path.\n` +
        (m.spawn !== undefined ? `${ind}# lighttpd starts the app itself (bin-path) and hands it the listening socket on fd 0.\n` : "") +
        `${ind}${key} = ( ${q(root ? "/" : m.prefix)} => ((\n${opts.map((o) => pad + o).join(",\n")}\n${ind}  )) )\n`;
      break;
    }
    case "cgi": {
      const script = need(m.script, "script", m);
      body =
        `${ind}# CGI: one process per request. The alias maps the whole mount to the script, so that\n` +
        `${ind}# SCRIPT_NAME = ${root ? '""' : q(m.prefix)} and PATH_INFO = the rest of the path.\n` +
        `${ind}alias.url += ( ${q(root ? "/" : m.prefix)} => ${q(root ? script + "/" : script)} )\n` +
        `${ind}cgi.assign = ( "" => "" )\n`;
      break;
    }
    case "ajp": {
      const up = need(m.upstream, "upstream", m);
      body =
        `${ind}# AJP13: the "" key (with "/" lighttpd truncates the path). lighttpd sends the path decoded\n` +
        `${ind}# and no mount prefix${root ? "" : ": start the app with the scriptName option " + q(m.prefix)}.\n` +
        `${ind}# lighttpd 1.4.69 frames request bodies against the spec (the ajp backend copes) and stalls\n` +
        `${ind}# about 40 ms per 8 KiB of body; it answers 400 itself to PATCH. Best for GET and HEAD.\n` +
        `${ind}ajp13.server = ( "" => ((\n${ind}      "host" => ${q(up.host)},\n${ind}      "port" => ${up.port},\n${ind}      "check-local" => "disable"\n${ind}  )) )\n`;
      break;
    }
    case "http": {
      const up = need(m.upstream, "upstream", m);
      body =
        `${ind}# Plain HTTP reverse proxy to the http backend.\n` +
        `${ind}proxy.server = ( "" => (( "host" => ${q(up.host)}, "port" => ${up.port} )) )\n`;
      break;
    }
  }
  return open + body + close;
}

/**
 * A standalone lighttpd 1.4 configuration (`lighttpd -D -f lighttpd.conf`).
 *
 * @example writeFileSync("lighttpd.conf", lighttpdConfig({ host: "127.0.0.1", port: 8080, runDir: "/run/app", errorLog: "stderr", mounts: [{ backend: "scgi", prefix: "", upstream: { host: "127.0.0.1", port: 9001 } }] }));
 */
export function lighttpdConfig(c: FrontConfig): string {
  const modules = new Set<string>();
  // mod_redirect: the mount point of a prefix is redirected (lighttpdMount).
  if (c.mounts.some((m) => m.prefix !== "")) modules.add("mod_redirect");
  for (const m of c.mounts) {
    if (m.backend === "scgi") modules.add("mod_scgi");
    if (m.backend === "fastcgi") modules.add("mod_fastcgi");
    if (m.backend === "cgi") modules.add("mod_alias").add("mod_cgi");
    if (m.backend === "ajp") modules.add("mod_ajp13");
    if (m.backend === "http") modules.add("mod_proxy");
  }
  return (
    comment(c.header) +
    `server.modules = ( ${[...modules].map(q).join(", ")} )\n` +
    `server.bind = ${q(c.host)}\n` +
    `server.port = ${c.port}\n` +
    `server.document-root = ${q(c.runDir)}\n` +
    `server.pid-file = ${q(c.runDir + "/lighttpd.pid")}\n` +
    (c.errorLog === "stderr" ? "" : `server.errorlog = ${q(c.errorLog)}\n`) +
    (c.breakageLog === undefined ? "" : `# The standard error of the spawned apps and CGI scripts (their standard output is lost).\nserver.breakagelog = ${q(c.breakageLog)}\n`) +
    `server.upload-dirs = ( ${q(c.runDir)} )\n` +
    `# Stream request and response bodies instead of buffering them whole (uploads, downloads,\n` +
    `# server-sent events). With it, a request body without Content-Length is answered 411.\n` +
    `server.stream-request-body = 2\n` +
    `server.stream-response-body = 2\n` +
    `# Keep percent-encoded slashes (%2F) as sent.\n` +
    `server.http-parseopts = ( "url-path-2f-decode" => "disable" )\n` +
    "\n" +
    c.mounts.map(lighttpdMount).join("\n")
  );
}

// --------------------------------------------------------------------------------------------
// nginx

function nginxLocation(m: Mount, upstreamName: string): string {
  const root = m.prefix === "";
  // The mount point itself (/app) gets its own exact location below: the regex needs the slash.
  const loc = root ? "location / {" : `location ~ ^${m.prefix}(?<path_info>/.*)$ {`;
  const lines: string[] = [];
  switch (m.backend) {
    case "fastcgi":
      lines.push(
        "include /etc/nginx/fastcgi_params;",
        `fastcgi_pass ${upstreamName};`,
        "# Reuse connections: needs keepalive in the upstream block too.",
        "fastcgi_keep_conn on;",
        "# Stream bodies both ways instead of spooling them to temporary files.",
        "fastcgi_request_buffering off;",
        "fastcgi_buffering off;",
        "# httpoxy: never pass a Proxy request header as HTTP_PROXY.",
        'fastcgi_param HTTP_PROXY "";',
      );
      if (!root) {
        lines.push(
          "# Split the prefix off: SCRIPT_NAME = the prefix, PATH_INFO = the rest (else the app sees",
          "# SCRIPT_NAME = the whole path and no prefix).",
          `fastcgi_param SCRIPT_NAME ${m.prefix};`,
          "fastcgi_param PATH_INFO $path_info;",
        );
      }
      break;
    case "scgi":
      lines.push(
        "include /etc/nginx/scgi_params;",
        `scgi_pass ${upstreamName};`,
        "# nginx 1.22 with scgi_request_buffering off sends CONTENT_LENGTH = what it has read so far,",
        "# not the body's length, then the whole body: keep request buffering on for SCGI.",
        "scgi_request_buffering on;",
        "scgi_buffering off;",
        'scgi_param HTTP_PROXY "";',
      );
      if (!root) {
        lines.push(
          "# SCRIPT_NAME = the prefix, PATH_INFO = the rest: the app strips the prefix.",
          `scgi_param SCRIPT_NAME ${m.prefix};`,
          "scgi_param PATH_INFO $path_info;",
        );
      }
      break;
    case "http":
      lines.push(
        `proxy_pass http://${upstreamName};`,
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header Host $http_host;",
        "proxy_request_buffering off;",
        "proxy_buffering off;",
      );
      break;
    default:
      throw new Error(`nginx cannot forward to ${m.backend}`);
  }
  const redirect = root
    ? ""
    : `    # ${m.prefix} itself: 308 to ${m.prefix}/ (query kept, relative Location). Else the app would get\n` +
      `    # SCRIPT_NAME = ${m.prefix} and no PATH_INFO, which it cannot tell from a request for ${m.prefix} at the root.\n` +
      `    location = ${m.prefix} {\n      absolute_redirect off;\n      return 308 ${m.prefix}/$is_args$args;\n    }\n`;
  return `${redirect}    ${loc}\n${lines.map((l) => `      ${l}`).join("\n")}\n    }\n`;
}

/**
 * A standalone nginx configuration (`nginx -p DIR -c nginx.conf -g 'daemon off;'`).
 *
 * @example writeFileSync("nginx.conf", nginxConfig({ host: "127.0.0.1", port: 8080, runDir: "/run/app", errorLog: "stderr", mounts: [{ backend: "fastcgi", prefix: "", upstream: { host: "127.0.0.1", port: 9000 } }] }));
 */
export function nginxConfig(c: FrontConfig): string {
  const upstreams: string[] = [];
  const locations: string[] = [];
  c.mounts.forEach((m, i) => {
    const hosts = hostsOf(m);
    const name = `${m.backend}_app${i === 0 ? "" : i}`;
    const several = hosts.length > 1;
    upstreams.push(
      `  upstream ${name} {\n` +
        (several
          ? `    # Round robin over the hosts. A request whose host refuses the connection or times out goes to\n` +
            `    # the next one (${m.backend === "http" ? "proxy" : m.backend}_next_upstream error timeout, the default), and that host is left out\n` +
            `    # for fail_timeout (nginx has no active health checks: the first failure marks it).\n`
          : "") +
        hosts.map((h) => `    server ${h.host}:${h.port}${several ? " max_fails=1 fail_timeout=10s" : ""};\n`).join("") +
        (m.backend === "scgi" ? "" : `    # Idle connections kept open for reuse (FastCGI: with fastcgi_keep_conn on).\n    keepalive 8;\n`) +
        `  }\n`,
    );
    locations.push(nginxLocation(m, name));
  });
  const d = c.runDir;
  return (
    comment(c.header) +
    (c.user !== undefined ? `user ${c.user};\n` : "") +
    "worker_processes 1;\n" +
    `pid ${d}/nginx.pid;\n` +
    `error_log ${c.errorLog} warn;\n` +
    "events { worker_connections 256; }\n\n" +
    "http {\n" +
    "  access_log off;\n" +
    `  client_body_temp_path ${d}/client_body;\n` +
    `  fastcgi_temp_path ${d}/fastcgi;\n` +
    `  scgi_temp_path ${d}/scgi;\n` +
    `  proxy_temp_path ${d}/proxy;\n` +
    `  uwsgi_temp_path ${d}/uwsgi;\n` +
    "  # No limit on request bodies here: the application decides (nginx's default is 1 MiB).\n" +
    "  client_max_body_size 0;\n" +
    "  # Idle client connections. Kept-alive upstream connections: the backend's idle timeout must\n" +
    "  # stay above nginx's (60 s).\n" +
    "  keepalive_timeout 60s;\n\n" +
    upstreams.join("") +
    "\n" +
    `  server {\n    listen ${c.host}:${c.port};\n` +
    locations.join("") +
    "  }\n}\n"
  );
}

// --------------------------------------------------------------------------------------------
// Apache httpd 2.4

function apacheMount(m: Mount): string {
  const root = m.prefix === "";
  return (root ? "" : apacheMountPoint(m.prefix)) + apacheBackend(m);
}

// The mount point itself (/app): 308 to /app/, the query kept (mod_alias appends it). A
// <LocationMatch> because a server-wide RedirectMatch loses to ProxyPass (mod_proxy translates
// first); it also covers ScriptAlias.
function apacheMountPoint(prefix: string): string {
  return (
    `# ${prefix} itself: 308 to ${prefix}/. Else the app would get SCRIPT_NAME = ${q(prefix)} and no PATH_INFO,\n` +
    `# which it cannot tell from a request for ${q(prefix)} at the root.\n` +
    `<LocationMatch ${q("^" + prefix + "$")}>\n  Redirect 308 ${q(prefix + "/")}\n</LocationMatch>\n`
  );
}

function apacheBackend(m: Mount): string {
  const root = m.prefix === "";
  // <Location "/app"> matches /app, /app/ and /app/..., not /application.
  const location = root ? "/" : m.prefix;
  // Inside a <Location>, what follows the location is appended to the URL: keep the path whole.
  const url = (scheme: string, up: { host: string; port: number }): string => `${scheme}://${up.host}:${up.port}${root ? "/" : m.prefix}`;
  switch (m.backend) {
    case "fastcgi": {
      const up = need(m.upstream, "upstream", m);
      return (
        `# FastCGI: connections pooled and reused (enablereuse=on).\n` +
        `<Location ${q(location)}>\n` +
        `  ProxyPass ${q(url("fcgi", up))} enablereuse=on\n` +
        `  ProxyFCGIBackendType GENERIC\n` +
        (root
          ? ""
          : `  # Apache sends SCRIPT_NAME = the whole path: say where the prefix ends (SCRIPT_NAME = the\n` +
            `  # prefix, PATH_INFO = the rest).\n` +
            `  ProxyFCGISetEnvIf "true" SCRIPT_NAME ${q(m.prefix)}\n` +
            `  ProxyFCGISetEnvIf "%{REQUEST_URI} =~ m#^${m.prefix}(/.*)#" PATH_INFO "$1"\n`) +
        `  # Pass the Authorization header to the app.\n` +
        `  CGIPassAuth On\n` +
        `</Location>\n`
      );
    }
    case "scgi": {
      const up = need(m.upstream, "upstream", m);
      return (
        `# SCGI: one connection per request. Apache sends SCRIPT_NAME = the whole path: under a prefix\n` +
        `# start the app with the scriptName option${root ? "" : " " + q(m.prefix)}.\n` +
        `<Location ${q(location)}>\n  ProxyPass ${q(url("scgi", up))}\n</Location>\n`
      );
    }
    case "ajp": {
      const up = need(m.upstream, "upstream", m);
      return (
        `# AJP13 with a shared secret (the app's secret option must match); ping= makes Apache CPING\n` +
        `# a pooled connection before using it. AJP carries no mount prefix: start the app with the\n` +
        `# scriptName option${root ? " when mounted under a prefix" : " " + q(m.prefix)}.\n` +
        `# nocanon: the path goes to the app as the client sent it (else Apache re-encodes %2F as %252F).\n` +
        `<Location ${q(location)}>\n  ProxyPass ${q(url("ajp", up))}${m.secret !== undefined ? ` secret=${m.secret}` : ""} ping=2 nocanon\n</Location>\n`
      );
    }
    case "cgi": {
      const script = need(m.script, "script", m);
      const dir = script.slice(0, script.lastIndexOf("/")) || "/";
      return (
        `# CGI: one process per request, run as the User below (the script and its folders must be\n` +
        `# readable and executable by that user). SCRIPT_NAME = ${root ? '""' : q(m.prefix)}, PATH_INFO = the rest.\n` +
        `ScriptAlias ${q(root ? "/" : m.prefix)} ${q(root ? script + "/" : script)}\n` +
        `<Directory ${q(dir)}>\n  Options +ExecCGI\n  Require all granted\n  CGIPassAuth On\n</Directory>\n`
      );
    }
    case "http": {
      const up = need(m.upstream, "upstream", m);
      return `# nocanon: the path goes to the app as the client sent it (else Apache re-encodes %2F as %252F).\n<Location ${q(location)}>\n  ProxyPass ${q(url("http", up))} nocanon\n  ProxyPassReverse ${q(url("http", up))}\n</Location>\nProxyPreserveHost On\n`;
    }
  }
}

const APACHE_MODULES: Record<string, string> = {
  mpm_event: "mod_mpm_event.so",
  authz_core: "mod_authz_core.so",
  mime: "mod_mime.so",
  setenvif: "mod_setenvif.so",
  proxy: "mod_proxy.so",
  proxy_fcgi: "mod_proxy_fcgi.so",
  proxy_scgi: "mod_proxy_scgi.so",
  proxy_ajp: "mod_proxy_ajp.so",
  proxy_http: "mod_proxy_http.so",
  alias: "mod_alias.so",
  cgid: "mod_cgid.so",
};

/**
 * A standalone Apache httpd 2.4 configuration with Debian's module paths
 * (`apache2 -DFOREGROUND -f apache.conf`).
 *
 * @example writeFileSync("apache.conf", apacheConfig({ host: "127.0.0.1", port: 8080, runDir: "/run/app", errorLog: "stderr", mounts: [{ backend: "ajp", prefix: "", upstream: { host: "127.0.0.1", port: 8009 }, secret: "XYZ" }] }));
 */
export function apacheConfig(c: FrontConfig): string {
  const modules = ["mpm_event", "authz_core", "setenvif", "proxy"];
  for (const m of c.mounts) {
    const mod = { fastcgi: "proxy_fcgi", scgi: "proxy_scgi", ajp: "proxy_ajp", http: "proxy_http", cgi: "cgid" }[m.backend];
    if (!modules.includes(mod)) modules.push(mod);
    if ((m.backend === "cgi" || m.prefix !== "") && !modules.includes("alias")) modules.push("alias");
  }
  const d = c.runDir;
  return (
    comment(c.header) +
    `ServerRoot ${q(d)}\n` +
    `Listen ${c.host}:${c.port}\n` +
    `ServerName ${c.host}\n` +
    `PidFile ${q(d + "/httpd.pid")}\n` +
    `ErrorLog ${q(c.errorLog === "stderr" ? "/dev/stderr" : c.errorLog)}\n` +
    "LogLevel warn\n" +
    `Mutex file:${d} default\n` +
    `DefaultRuntimeDir ${q(d)}\n` +
    (c.user !== undefined ? `User ${c.user}\nGroup ${c.user}\n` : "") +
    modules.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/${APACHE_MODULES[m]}\n`).join("") +
    (modules.includes("cgid") ? `ScriptSock ${q(d + "/cgid.sock")}\n` : "") +
    `DocumentRoot ${q(d)}\n` +
    `<Directory "/">\n  AllowOverride None\n  Require all denied\n</Directory>\n` +
    "# Keep %2F in paths as sent (Apache answers 404 to encoded slashes by default).\n" +
    "AllowEncodedSlashes NoDecode\n" +
    "# How long Apache waits for the backend to send something.\n" +
    "ProxyTimeout 60\n\n" +
    c.mounts.map(apacheMount).join("\n")
  );
}

// --------------------------------------------------------------------------------------------
// HAProxy 2.6

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
