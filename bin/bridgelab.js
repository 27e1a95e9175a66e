#!/usr/bin/env node
// The `bridgelab` command. TypeScript sources run through ts-node (a dependency anyway:
// Pulumi compiles stack programs with it), so there is no build step to forget.
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("../cli/main").main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bridgelab: ${err && err.message ? err.message : err}`);
    process.exit(1);
  },
);
