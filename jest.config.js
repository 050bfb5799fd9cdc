// Jest runs the compiled ESM in dist/ (see README, "Development"): `npm test` builds first.
export default {
  testEnvironment: "node",
  roots: ["<rootDir>/dist/test"],
  testMatch: ["**/*.test.js"],
  testPathIgnorePatterns: ["/dist/test/interop/"],
  moduleFileExtensions: ["js", "mjs", "json"],
  transform: {},
  testTimeout: 30000,
};
