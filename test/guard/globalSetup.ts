import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureBuild } from "./ensureBuild";
import { takeRootSnapshot } from "./rootSnapshot";

/** Before any test: remember the machine's root network namespace (see globalTeardown). */
export default async function globalSetup(): Promise<void> {
  ensureBuild(path.resolve(__dirname, "..", ".."));
  // Sandbox hosts of this run live under a root of its own, so runs on one machine (CI, two
  // developers) never see each other's, and a leftover is attributable to this run.
  process.env.BRIDGELAB_SANDBOX_ROOT ??= `/run/bridgelab/test-${process.pid}`;
  const file = path.join(os.tmpdir(), `bridgelab-root-snapshot-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(takeRootSnapshot()));
  process.env.BRIDGELAB_ROOT_SNAPSHOT = file;
}
