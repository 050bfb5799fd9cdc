// `npm run fuzz`: the property-based fuzz suite alone, FUZZ_RUNS cases per property (see
// docs/fuzzing.md). The compiled tests in dist/, as jest.config.js.
export default {
  testEnvironment: "node",
  roots: ["<rootDir>/dist/test/fuzz/properties"],
  testMatch: ["**/*.test.js"],
  moduleFileExtensions: ["js", "mjs", "json"],
  transform: {},
  testTimeout: 24 * 3600 * 1000,
};
