// The front-server configurations of examples/deploy/, as functions. The example files are
// generated from them (`node dist/examples/deploy/generate.js`), and the interop suite
// (test/interop/) starts the real front servers with configs written by the same functions:
// what the examples say is what the tests run.
//
// Each function takes where the front server listens, a folder for its run-time files (pid,
// temporary files, sockets), and the mounts: which backend answers under which prefix.
//
// One file per front server under templates/, the types they take in templates/mount.ts.

export type { Backend, FrontConfig, Mount } from "./templates/mount.js";
export { lighttpdConfig } from "./templates/lighttpd.js";
export { nginxConfig } from "./templates/nginx.js";
export { apacheConfig } from "./templates/apache.js";
export { haproxyConfig } from "./templates/haproxy.js";
