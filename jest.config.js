// Tiers run in one jest invocation; the root-namespace guard wraps all of them.
/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  globalSetup: "<rootDir>/test/guard/globalSetup.ts",
  globalTeardown: "<rootDir>/test/guard/globalTeardown.ts",
  testTimeout: 120000,
  // The default reporter only counts skipped tests; this one also names them, with their reasons.
  reporters: ["default", "<rootDir>/test/support/summaryReporter.js"],
  // As in tsconfig.json's paths: tests that import the package by name get its sources.
  moduleNameMapper: { "^bridgelab$": "<rootDir>/provider/index.ts", "^bridgelab/ecs$": "<rootDir>/provider/ecs/index.ts" },
};
