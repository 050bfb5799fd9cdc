// nginx: the template (see ../templates.ts).
import { comment, hostsOf, type FrontConfig, type Mount } from "./mount.js";

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
