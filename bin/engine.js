#!/usr/bin/env node
// The test engine's command line (see test/engine/cli.ts). It is TypeScript run through ts-node;
// transpileOnly because `npm run build` already type-checks and startup time matters here.
"use strict";
const path = require("path");
require("ts-node").register({
  transpileOnly: true,
  project: path.join(__dirname, "..", "tsconfig.json"),
});
require("../test/engine/cli").main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`${(e && e.stack) || e}\n`);
  process.exitCode = 1;
});
