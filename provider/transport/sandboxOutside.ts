import { enterOutsideArgv, sandboxPaths, sandboxRoot } from "../sandbox/sandboxLayout";
import { sandboxExists } from "../sandbox/sandboxHost";
import type { HostConnection } from "./connection";
import { spawnScript } from "./spawnScript";
import { traced } from "./trace";
import { HostGoneError } from "./hostErrors";
import { ExecResult, RunOptions, Transport } from "./types";

/**
 * Runs scripts in a sandbox host's outside, the namespace that stands in for the internet
 * (198.51.100.1, 203.0.113.1), on this machine:
 *
 *   nsenter --net=$ROOT/NAME/outside -- sh -s
 *
 * Only sandbox hosts have an outside; a real host's internet is not ours to run things in.
 * The outside shares this machine's mount namespace (so `ip netns` there lists the machine's
 * namespaces): scripts run here must not use `ip netns`.
 */
export class SandboxOutsideTransport implements Transport {
  readonly label: string;
  constructor(readonly name: string, private readonly root = sandboxRoot()) {
    this.label = `outside:${name}`;
  }
  async run(script: string, opts?: RunOptions): Promise<ExecResult> {
    if (!sandboxExists(this.name, this.root)) {
      throw new HostGoneError(this.label, `sandbox host "${this.name}" does not exist; create it with \`npx bridgelab sandbox create ${this.name}\``);
    }
    return spawnScript(this.label, enterOutsideArgv(sandboxPaths(this.name, this.root)), script, opts);
  }
  async close(): Promise<void> {}
}

/** The outside of the connection's host, when it has one (sandbox connections); undefined otherwise. */
export function openOutsideTransport(c: HostConnection): Transport | undefined {
  return c.kind === "sandbox" ? traced(new SandboxOutsideTransport(c.name)) : undefined;
}
