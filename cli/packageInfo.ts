import * as fs from "node:fs";
import * as path from "node:path";

/**
 * bridgelab's own package directory: the nearest directory above this file whose package.json is
 * bridgelab's (dist/cli/ when installed, cli/ when the sources run under ts-jest or ts-node).
 */
export function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string }).name === "bridgelab") return dir;
    if (path.dirname(dir) === dir) throw new Error(`bridgelab: no package.json of bridgelab above ${__dirname}`);
  }
}

/** The version in bridgelab's package.json. */
export function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}
