// @ts-check
"use strict";
/**
 * How the dynamic-provider plugin loads bridgelab's provider code (the shim in lazyProvider.ts
 * calls loadProvider). Plain JavaScript on purpose: it runs before anything can compile
 * TypeScript.
 *
 * The sources are TypeScript. Compiling them in the plugin with ts-node costs every engine run
 * about a second and ~55 MB of the plugin's memory (the `typescript` compiler and its work), so
 * `scripts/build.js` (npm run build, npm ci's prepare) transpiles provider/ ahead of time into
 * dist/build-HASH/ with the same compiler options, and writes dist/bridgelab-build.json: the
 * SHA-256 of every source it was built from (provider/**\/*.ts and tsconfig.json).
 *
 * That build is used only when it is exactly current: the set of sources and every source's
 * content must match the manifest, checked once per plugin process. Anything else (no build, an
 * edited, added or removed source, BRIDGELAB_PROVIDER_DIST=0) compiles the sources with ts-node
 * as before, so stale code never runs. The choice is made once per project root and process and
 * applies to every provider module, so one process never mixes the two copies of a module.
 * BRIDGELAB_PROVIDER_LOG=1 prints the choice (on the plugin's stderr: the engine's log).
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const MANIFEST = path.join("dist", "bridgelab-build.json");
/** Directories (relative to the project root) whose .ts files the build compiles. */
const SOURCE_DIRS = ["provider"];
/** Files besides the sources that change what the build emits. */
const EXTRA_INPUTS = ["tsconfig.json"];
const STATE = Symbol.for("bridgelab.providerLoader.v1");

/**
 * @typedef {{ dist: true, root: string, out: string } | { dist: false, root: string, reason: string }} Decision
 * @typedef {{ decisions: Map<string, Decision>, roots: Map<string, string>, tsNode: boolean }} LoaderState
 */

/** @returns {LoaderState} */
function state() {
  const g = /** @type {Record<symbol, LoaderState | undefined>} */ (/** @type {unknown} */ (globalThis));
  return (g[STATE] ??= { decisions: new Map(), roots: new Map(), tsNode: false });
}

/** The project root of a provider file: the nearest directory above it with a package.json. */
function projectRoot(file) {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.dirname(path.resolve(file));
    dir = up;
  }
}

/** Every build input under root, relative path (with /) → SHA-256 of its content. */
function snapshotSources(root) {
  /** @type {Record<string, string>} */
  const out = {};
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out[r] = hashFile(path.join(root, r));
    }
  };
  for (const d of SOURCE_DIRS) if (fs.existsSync(path.join(root, d))) walk(d);
  for (const f of EXTRA_INPUTS) if (fs.existsSync(path.join(root, f))) out[f] = hashFile(path.join(root, f));
  return out;
}

function hashFile(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Whether root's build is current, and where it is; not cached (loadProvider caches). */
function inspectBuild(root) {
  if (process.env.BRIDGELAB_PROVIDER_DIST === "0") return { dist: false, root, reason: "BRIDGELAB_PROVIDER_DIST=0" };
  /** @type {{ out?: unknown, sources?: Record<string, string> }} */
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(root, MANIFEST), "utf8"));
  } catch {
    return { dist: false, root, reason: `no build (${MANIFEST}); run npm run build` };
  }
  const built = manifest.sources ?? {};
  if (typeof manifest.out !== "string" || !/^build-[0-9a-f]+$/.test(manifest.out)) return { dist: false, root, reason: `${MANIFEST} names no build` };
  const out = path.join(root, "dist", manifest.out);
  if (!fs.existsSync(out)) return { dist: false, root, reason: `dist/${manifest.out} is missing` };
  const now = snapshotSources(root);
  for (const [rel, hash] of Object.entries(now)) {
    if (!(rel in built)) return { dist: false, root, reason: `${rel} is newer than the build (not in it)` };
    if (built[rel] !== hash) return { dist: false, root, reason: `${rel} changed since the build` };
  }
  for (const rel of Object.keys(built)) if (!(rel in now)) return { dist: false, root, reason: `${rel} was removed since the build` };
  for (const rel of Object.keys(now)) {
    if (rel.endsWith(".ts") && !fs.existsSync(path.join(out, rel.replace(/\.ts$/, ".js")))) return { dist: false, root, reason: `dist/${manifest.out} has no output for ${rel}` };
  }
  return { dist: true, root, out };
}

/** This process's decision for root (made on first use). */
function decisionFor(root) {
  const s = state();
  let d = s.decisions.get(root);
  if (!d) {
    d = inspectBuild(root);
    s.decisions.set(root, d);
    if (process.env.BRIDGELAB_PROVIDER_LOG) console.error(d.dist ? `bridgelab: provider code from ${path.relative(root, d.out)}` : `bridgelab: provider code compiled by ts-node: ${d.reason}`);
  }
  return d;
}

/** Export `exportName` of the provider source file `tsFile` (absolute path to a .ts file). */
function loadProvider(tsFile, exportName) {
  const s = state();
  let root = s.roots.get(tsFile); // the shim calls this on every provider method call
  if (root === undefined) s.roots.set(tsFile, (root = projectRoot(tsFile)));
  const d = decisionFor(root);
  if (d.dist && tsFile.endsWith(".ts")) {
    const js = path.join(d.out, path.relative(root, tsFile)).replace(/\.ts$/, ".js");
    if (fs.existsSync(js)) return require(js)[exportName];
  }
  if (tsFile.endsWith(".ts") && !s.tsNode && !require.extensions[".ts"]) {
    require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    s.tsNode = true;
  }
  return require(tsFile)[exportName];
}

/** For tests and benchmarks: what this process decided for the project holding `file`. */
function loadedFrom(file) {
  return state().decisions.get(projectRoot(file));
}

module.exports = { loadProvider, loadedFrom, inspectBuild, snapshotSources, projectRoot, MANIFEST };
