import type * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";

/**
 * What Pulumi serializes into every resource's `__provider`: this shim, not the provider.
 *
 * Pulumi captures a dynamic provider by value, following every function it reaches; with
 * transports, pools and timers behind it that is large and brittle ("Unexpected missing
 * variable in closure environment"). The shim holds only the implementation's file path and
 * export name and loads it with require() inside the plugin, once per process (Node's module
 * cache is process-wide, so the SSH pool is shared too). State stays small and plain, and a
 * new bridgelab version takes effect without touching state.
 *
 * The path is kept relative to the program directory (the plugin's working directory), so a
 * checkout that moves keeps working; the absolute path is the fallback. providerLoader.js, next to
 * this file, loads it: from the precompiled build in dist/ when that is current for every
 * source, otherwise compiling the TypeScript with ts-node.
 */
export function lazyProvider(file: string, exportName: string): pulumi.dynamic.ResourceProvider {
  // One shim object per provider: Pulumi caches a dynamic provider's serialization by object
  // (PULUMI_NODEJS_CACHE_DYNAMIC_PROVIDERS, on by default), so each provider's closure is
  // serialized once per program instead of once per resource (tens of ms each).
  const key = `${process.cwd()}\0${file}\0${exportName}`;
  let shim = shims.get(key);
  if (!shim) shims.set(key, (shim = makeShim(file, exportName)));
  return shim;
}

const shims = new Map<string, pulumi.dynamic.ResourceProvider>();

function makeShim(file: string, exportName: string): pulumi.dynamic.ResourceProvider {
  const relative = path.relative(process.cwd(), file);
  const absolute = file;
  const load = (): pulumi.dynamic.ResourceProvider => {
    const fs = require("fs");
    const p = require("path");
    const candidates = [p.resolve(process.cwd(), relative), absolute];
    const found = candidates.find((c: string) => fs.existsSync(c));
    if (!found) throw new Error(`bridgelab: provider code not found at ${candidates.join(" or ")}; run from the project that created this stack`);
    // The precompiled build when it is current, else the sources through ts-node (providerLoader.js).
    const loader = p.join(p.dirname(found), "providerLoader.js");
    if (fs.existsSync(loader)) return require(loader).loadProvider(found, exportName);
    // A checkout from before providerLoader.js: compile the TypeScript on load (ts-node is a bridgelab dependency).
    const g = globalThis as { __bridgelabTsNode?: boolean };
    if (found.endsWith(".ts") && !g.__bridgelabTsNode && !require.extensions[".ts"]) {
      require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
      g.__bridgelabTsNode = true;
    }
    return require(found)[exportName];
  };
  return {
    check: (olds, news) => load().check!(olds, news),
    diff: (id, olds, news) => load().diff!(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read!(id, props),
    update: (id, olds, news) => load().update!(id, olds, news),
    delete: (id, props) => load().delete!(id, props),
  };
}
