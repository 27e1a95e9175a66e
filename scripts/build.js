#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * node scripts/build.js [ROOT]   (npm run build after the type check; npm ci runs it as prepare)
 *
 * Transpiles provider/**\/*.ts into dist/build-HASH/provider/ so that the dynamic-provider plugin
 * loads plain JavaScript instead of starting the TypeScript compiler (see
 * provider/resources/providerLoader.js, which uses the build only while it matches the sources).
 *
 * Each file goes through typescript's transpileModule with tsconfig.json's options and
 * module=commonjs: exactly what ts-node's transpileOnly mode does in the plugin, so the build
 * runs the same code, without the ~1 s and ~55 MB of compiling at load. Type checking stays
 * with `tsc --noEmit` (npm run build).
 *
 * Safe against a plugin starting meanwhile: the output goes to a new directory named after the
 * hash of its inputs (renamed into place when complete, and only if no input changed while it
 * was compiled: else it is discarded and the build retried), and dist/bridgelab-build.json,
 * which names it and lists the SHA-256 of every input, is replaced atomically last. Same
 * inputs: nothing to compile. Older build directories are removed, except the one the previous
 * manifest named (a running plugin may still use it).
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const ts = require("typescript");
const { snapshotSources, MANIFEST } = require("../provider/resources/providerLoader.js");

/** @returns {{ out: string, compiled: number }} */
function build(root) {
  root = path.resolve(root);
  for (let attempt = 1; ; attempt++) {
    const r = buildOnce(root);
    if (r) return r;
    if (attempt === 3) throw new Error("bridgelab build: the sources kept changing while they were compiled; try again");
  }
}

/** One build; undefined when a source changed while it was compiled (nothing is kept then). */
function buildOnce(root) {
  const sources = snapshotSources(root);
  const hash = crypto
    .createHash("sha256")
    .update(JSON.stringify({ sources, typescript: ts.version }))
    .digest("hex")
    .slice(0, 16);
  const outName = `build-${hash}`;
  const dist = path.join(root, "dist");
  const out = path.join(dist, outName);
  const manifestFile = path.join(root, MANIFEST);
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(manifestFile, "utf8")).out;
  } catch {
    previous = undefined;
  }

  let compiled = 0;
  if (!fs.existsSync(out)) {
    const options = compilerOptions(root);
    const tmp = path.join(dist, `.tmp-${outName}-${process.pid}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    const errors = [];
    for (const rel of Object.keys(sources)) {
      if (!rel.endsWith(".ts")) continue;
      const tsFile = path.join(root, rel);
      const jsFile = path.join(tmp, rel.replace(/\.ts$/, ".js"));
      const r = ts.transpileModule(fs.readFileSync(tsFile, "utf8"), { compilerOptions: options, fileName: tsFile, reportDiagnostics: true });
      for (const d of r.diagnostics ?? []) errors.push(`${rel}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
      fs.mkdirSync(path.dirname(jsFile), { recursive: true });
      fs.writeFileSync(jsFile, r.outputText);
      if (r.sourceMapText) {
        // Stack traces point at the .ts sources (the plugin registers source-map-support).
        const map = JSON.parse(r.sourceMapText);
        map.sources = [path.relative(path.dirname(path.join(out, rel)), tsFile)];
        fs.writeFileSync(`${jsFile}.map`, JSON.stringify(map));
      }
      compiled++;
    }
    if (errors.length) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new Error(`bridgelab build: ${errors.length} error(s):\n${errors.join("\n")}`);
    }
    // A directory named after these inputs must hold exactly their output: it is reused as is.
    if (JSON.stringify(snapshotSources(root)) !== JSON.stringify(sources)) {
      fs.rmSync(tmp, { recursive: true, force: true });
      return undefined;
    }
    try {
      fs.renameSync(tmp, out);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(out)) throw e; // else a concurrent build of the same inputs got there first
    }
  }

  const manifest = { out: outName, typescript: ts.version, sources };
  const tmpManifest = `${manifestFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmpManifest, JSON.stringify(manifest, null, 1) + "\n");
  fs.renameSync(tmpManifest, manifestFile);

  for (const e of fs.readdirSync(dist)) {
    if (/^build-[0-9a-f]+$/.test(e) && e !== outName && e !== previous) fs.rmSync(path.join(dist, e), { recursive: true, force: true });
  }
  return { out, compiled };
}

/** tsconfig.json's options as ts-node's transpileOnly mode uses them (module commonjs, source maps, no declarations). */
function compilerOptions(root) {
  const file = path.join(root, "tsconfig.json");
  /** @type {import("typescript").CompilerOptions} */
  let options = {};
  if (fs.existsSync(file)) {
    const cfg = ts.readConfigFile(file, ts.sys.readFile);
    if (cfg.error) throw new Error(`bridgelab build: ${ts.flattenDiagnosticMessageText(cfg.error.messageText, "\n")}`);
    options = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root).options;
  }
  return {
    ...options,
    module: ts.ModuleKind.CommonJS,
    sourceMap: true,
    inlineSourceMap: false,
    inlineSources: false,
    declaration: false,
    declarationMap: false,
    composite: false,
    noEmit: false,
    outDir: undefined,
    rootDir: undefined,
  };
}

module.exports = { build };

if (require.main === module) {
  const t0 = performance.now();
  try {
    const { out, compiled } = build(process.argv[2] ?? path.join(__dirname, ".."));
    const rel = path.relative(process.cwd(), out) || out;
    console.error(compiled ? `bridgelab build: ${compiled} files → ${rel} (${Math.round(performance.now() - t0)} ms)` : `bridgelab build: ${rel} is current`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
