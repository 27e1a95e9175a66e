// Tiers run in one jest invocation; the root-namespace guard wraps all of them.
/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  globalSetup: "<rootDir>/test/guard/globalSetup.ts",
  globalTeardown: "<rootDir>/test/guard/globalTeardown.ts",
  testTimeout: 120000,
};
