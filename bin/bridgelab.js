#!/usr/bin/env node
// The `bridgelab` command. TypeScript sources run through ts-node (a dependency anyway:
// Pulumi compiles stack programs with it), so there is no build step to forget.
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
// up/down start the dynamic-provider plugin: bring the precompiled provider up to date first (a
// no-op when current; scripts/build.js). Without it the plugin compiles provider/ with ts-node.
if (process.argv[2] === "up" || process.argv[2] === "down") {
  try {
    require("../scripts/build.js").build(path.join(__dirname, ".."));
  } catch (e) {
    console.error(`bridgelab: provider build skipped (${e && e.message ? e.message : e}); the plugin compiles the sources`);
  }
}
require("../cli/main").main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bridgelab: ${err && err.message ? err.message : err}`);
    process.exit(1);
  },
);
