"use strict";
/**
 * PROTOTYPE, measured by bench/fixedCost.ts (variants "after-lazy", "empty-ts-lazy"): loaded with
 * NODE_OPTIONS=--require into the program runner and the dynamic-provider plugin of an engine run.
 * The proposal: the engine starts both with `node --require <this file>`.
 *
 * `@pulumi/pulumi/runtime/index.js` eagerly requires
 *   - `./closure/codePaths`, which loads `@npmcli/arborist` and its tree (pacote, sigstore, tar…,
 *     ~480 modules) for computeCodePaths, used only to package code (e.g. @pulumi/aws lambdas);
 *   - `./closure/serializeClosure`, which loads the whole `typescript` compiler (to parse function
 *     text), used to serialize closures: a program needs it (dynamic providers), a plugin never
 *     does (it deserializes providers with require-from-string).
 * Here those requires, from runtime/index.js only, get stand-ins whose functions load the real
 * module on their first call: callers see the same functions; what nobody calls is never loaded.
 * codePaths everywhere; serializeClosure in the plugin only. Other modules requiring them
 * directly (dynamic/index.js: serializeClosure) are untouched.
 */
const Module = require("module");
const path = require("path");

const inPlugin = /cmd[\\/]dynamic-provider([\\/]|$)/.test(process.argv[1] || "");
const lazy = {
  "./closure/codePaths": ["computeCodePaths"],
  ...(inPlugin ? { "./closure/serializeClosure": ["serializeFunctionAsync", "serializeFunction"] } : {}),
};
const runtimeIndex = `${path.sep}@pulumi${path.sep}pulumi${path.sep}runtime${path.sep}index.js`;
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const names = Object.prototype.hasOwnProperty.call(lazy, request) ? lazy[request] : undefined;
  if (names && parent && typeof parent.filename === "string" && parent.filename.endsWith(runtimeIndex)) {
    const real = () => load.call(Module, request, parent, isMain);
    return Object.fromEntries(names.map((n) => [n, (...args) => real()[n](...args)]));
  }
  return load.apply(this, arguments);
};
