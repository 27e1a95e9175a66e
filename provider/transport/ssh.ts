import { checkConnection } from "./connectionCheck";
import { SshConnection } from "./connection";
import { execOverSsh } from "./sshExec";
import { ResolvedSsh, describeSsh, resolveSsh, sshLabel } from "./sshOptions";
import { holdSsh, releaseSsh, withPooledSsh } from "./sshPool";
import { ExecResult, RunOptions, Transport, TransportError } from "./types";

export { closeAllSshConnections, sshPoolStats } from "./sshPool";
export type { SshPoolStats } from "./sshPool";
export { HostKeyError, SshAuthError, SshCredentialError } from "./sshErrors";

/**
 * Runs scripts on a host over SSH. Equivalent to
 *
 *   ssh -p PORT user@host 'exec sh -c '\''echo "bridgelab-pgid-NONCE $$" >&2; exec sh -s'\''' <<<"$script"
 *
 * with `sudo -n sh -s` in place of `sh -s` when `sudo` is set. The connection comes from a
 * process-wide pool (sshPool.ts): every transport for the same user, host, port, host key,
 * credentials and route shares one SSH connection, dialed on first use. Nothing connects in
 * the constructor, and nothing is created at module load.
 *
 * The host key is verified against `hostKey` before any credential is sent
 * (sshHostKey.ts); a timed-out command is killed on the host (sshExec.ts).
 */
export class SshTransport implements Transport {
  readonly label: string;
  /** The label plus the route, for logs: `ssh:root@10.0.0.5:22 via ssh:admin@bastion:22`. */
  readonly description: string;
  private readonly resolved: ResolvedSsh;
  private held = false;
  private closed = false;

  constructor(connection: SshConnection, env: NodeJS.ProcessEnv = process.env) {
    this.label = sshLabel(connection);
    this.description = describeSsh(connection);
    const problems = checkConnection(connection, env);
    if (problems.length) throw new TransportError(this.label, `invalid connection: ${problems.join("; ")}`);
    this.resolved = resolveSsh(connection, env);
  }

  /** Whether scripts run through `sudo -n`. */
  get sudo(): boolean {
    return this.resolved.sudo;
  }

  async run(script: string, opts?: RunOptions): Promise<ExecResult> {
    if (this.closed) throw new TransportError(this.label, "this transport is closed");
    if (!this.held) {
      holdSsh(this.resolved);
      this.held = true;
    }
    return withPooledSsh(this.resolved, (link) => execOverSsh(link, this.label, this.resolved.sudo, script, opts));
  }

  /**
   * Release this transport's hold on the pooled connection. The connection itself closes
   * once no open transport holds it and nothing runs on it (after a short linger, so the
   * next resource on the same host can reuse it). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.held) releaseSsh(this.resolved);
  }
}
