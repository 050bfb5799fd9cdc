// Apache httpd 2.4: the template (see ../templates.ts).
import { comment, q, need, type FrontConfig, type Mount } from "./mount.js";

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
