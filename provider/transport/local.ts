import { spawnScript } from "./spawnScript";
import { ExecResult, RunOptions, Transport } from "./types";

export interface LocalTransportOptions {
  /** Run through `sudo -n` (non-interactive: fails instead of prompting for a password). */
  sudo?: boolean;
}

/**
 * Runs scripts on this machine. Equivalent to `sh -s <<<"$script"` (or `sudo -n sh -s`).
 * Beware: on the machine itself this changes the machine's own networking.
 */
export class LocalTransport implements Transport {
  readonly label: string;
  private readonly prefix: string[];
  constructor(opts: LocalTransportOptions = {}) {
    this.prefix = opts.sudo ? ["sudo", "-n"] : [];
    this.label = opts.sudo ? "local(sudo)" : "local";
  }
  run(script: string, opts?: RunOptions): Promise<ExecResult> {
    return spawnScript(this.label, this.prefix, script, opts);
  }
  async close(): Promise<void> {}
}
