#!/usr/bin/env node
// The `bridgelab` command: the compiled CLI (dist/cli). In a checkout, `npm run build` makes it.
"use strict";
let cli;
try {
  cli = require("../dist/cli/main.js");
} catch (e) {
  if (e && e.code === "MODULE_NOT_FOUND" && String(e.message).includes("dist/cli/main.js")) {
    console.error("bridgelab: the compiled CLI is missing (dist/cli/main.js); in a checkout of bridgelab run `npm run build` first");
    process.exit(1);
  }
  throw e;
}
cli.run(process.argv.slice(2));
