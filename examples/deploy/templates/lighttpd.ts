// lighttpd 1.4: the template (see ../templates.ts).
import { comment, q, need, type FrontConfig, type Mount } from "./mount.js";

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
