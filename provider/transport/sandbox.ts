import { enterHostArgv, sandboxPaths, sandboxRoot } from "../sandbox/sandboxLayout";
import { sandboxExists } from "../sandbox/sandboxHost";
import { spawnScript } from "./spawnScript";
import { ExecResult, RunOptions, Transport, TransportError } from "./types";

/**
 * Runs scripts inside a sandbox host on this machine:
 *   nsenter --net=$ROOT/NAME/net --mount=$ROOT/NAME/mnt --uts=$ROOT/NAME/uts -- sh -s
 */
export class SandboxTransport implements Transport {
  readonly label: string;
  constructor(readonly name: string, private readonly root = sandboxRoot()) {
    this.label = `sandbox:${name}`;
  }
  async run(script: string, opts?: RunOptions): Promise<ExecResult> {
    if (!sandboxExists(this.name, this.root)) {
      throw new TransportError(this.label, `sandbox host "${this.name}" does not exist; create it with \`npx bridgelab sandbox create ${this.name}\``);
    }
    return spawnScript(this.label, enterHostArgv(sandboxPaths(this.name, this.root)), script, opts);
  }
  async close(): Promise<void> {}
}
