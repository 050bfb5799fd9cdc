// The interop suite: real front servers (lighttpd, nginx, Apache httpd, HAProxy) in front of the
// backends. Run serially: each file starts its own front servers on loopback ports.
export default {
  testEnvironment: "node",
  roots: ["<rootDir>/dist/test/interop"],
  testMatch: ["**/*.test.js"],
  moduleFileExtensions: ["js", "mjs", "json"],
  transform: {},
  testTimeout: 60000,
  maxWorkers: 1,
};
