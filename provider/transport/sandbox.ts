import { enterHostArgv, sandboxPaths, sandboxRoot } from "../sandbox/sandboxLayout";
import { sandboxExists } from "../sandbox/sandboxHost";
import { spawnScript } from "./spawnScript";
import { HostGoneError } from "./hostErrors";
import { ExecResult, RunOptions, Transport } from "./types";

/**
 * Runs scripts inside a sandbox host on this machine:
 *   nsenter --net=$ROOT/NAME/net --mount=$ROOT/NAME/mnt --uts=$ROOT/NAME/uts -- sh -s
 *
 * A sandbox host that does not exist throws HostGoneError: whatever was made in it went with
 * it (destroy then forgets its resources; see providers.ts).
 */
export class SandboxTransport implements Transport {
  readonly label: string;
  constructor(readonly name: string, private readonly root = sandboxRoot()) {
    this.label = `sandbox:${name}`;
  }
  async run(script: string, opts?: RunOptions): Promise<ExecResult> {
    if (!sandboxExists(this.name, this.root)) {
      throw new HostGoneError(this.label, `sandbox host "${this.name}" does not exist; create it with \`npx bridgelab sandbox create ${this.name}\``);
    }
    return spawnScript(this.label, enterHostArgv(sandboxPaths(this.name, this.root)), script, opts);
  }
  async close(): Promise<void> {}
}
