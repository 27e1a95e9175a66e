import * as fs from "node:fs";
import { compareRootSnapshots, takeRootSnapshot } from "./rootSnapshot";

/**
 * After all tests: the machine's root network namespace must be exactly as before, and no
 * sandbox host may be left behind. Any difference fails the whole run.
 */
export default async function globalTeardown(): Promise<void> {
  const file = process.env.BRIDGELAB_ROOT_SNAPSHOT;
  if (!file || !fs.existsSync(file)) throw new Error("root namespace guard: no snapshot was taken before the tests");
  const before = JSON.parse(fs.readFileSync(file, "utf8"));
  fs.rmSync(file);
  const diffs = compareRootSnapshots(before, takeRootSnapshot());
  if (diffs.length) {
    throw new Error(`root namespace guard: the tests changed the machine's own network namespace or left sandboxes behind:\n${diffs.join("\n")}`);
  }
  console.log("root namespace guard: links, addresses, routes, iptables, ip_forward, netns list and sandboxes unchanged");
}
