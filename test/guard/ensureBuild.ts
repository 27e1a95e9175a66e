import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Engine tests run programs and the dynamic-provider plugin, which load bridgelab as a package:
 * its compiled dist/ (the self-reference `require("bridgelab")` from inside this repository).
 * Before any test, bring dist/ up to date when a source is newer than the last build, so that
 * `npx jest test/e2e/…` after an edit never runs stale code. `npm test` has just built it.
 */
const SOURCES = ["provider", "stacks", "engine", "cli"];

function newest(dir: string): number {
  let latest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) latest = Math.max(latest, newest(p));
    else if (e.name.endsWith(".ts")) latest = Math.max(latest, fs.statSync(p).mtimeMs);
  }
  return latest;
}

export function ensureBuild(root: string): void {
  const stamp = path.join(root, "dist", ".tsbuildinfo");
  const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
  const sources = Math.max(...SOURCES.map((d) => newest(path.join(root, d))), fs.statSync(path.join(root, "tsconfig.build.json")).mtimeMs);
  if (sources <= built) return;
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" });
  // tsc leaves the build info untouched when nothing it emits changed: mark this build as seen.
  const now = new Date();
  if (fs.existsSync(stamp)) fs.utimesSync(stamp, now, now);
}
