import { HostConnection } from "./connection";
import { checkConnection } from "./connectionCheck";
import { LocalTransport } from "./local";
import { SandboxTransport } from "./sandbox";
import { SshTransport } from "./ssh";
import { SsmTransport } from "./ssm";
import { describeSsm } from "./ssmOptions";
import { describeSsh } from "./sshOptions";
import { Transport } from "./types";

export { checkConnection } from "./connectionCheck";

/**
 * Open the transport a `connection` input asks for. Nothing connects yet: SSH dials on the
 * first run. Throws an Error listing every problem checkConnection finds.
 */
export function openTransport(c: HostConnection, env: NodeJS.ProcessEnv = process.env): Transport {
  const problems = checkConnection(c, env);
  if (problems.length) throw new Error(`invalid connection ${describeConnection(c)}: ${problems.join("; ")}`);
  switch (c.kind) {
    case "local":
      return new LocalTransport({ sudo: c.sudo === true });
    case "sandbox":
      return new SandboxTransport(c.name);
    case "ssh":
      return new SshTransport(c, env);
    case "ssm":
      return new SsmTransport(c);
  }
}

/**
 * A label for messages and logs, without secrets: `local`, `local(sudo)`, `sandbox:lab-1`,
 * `ssh:root@10.0.0.5:22`, `ssh:root@10.0.0.5:22 via ssh:admin@bastion:22 (sudo)`,
 * `ssm:i-0123456789abcdef0@eu-west-1 (profile ops)`.
 */
export function describeConnection(c: HostConnection): string {
  const k = (c as { kind?: unknown } | null)?.kind;
  switch (k) {
    case "local":
      return (c as { sudo?: boolean }).sudo ? "local(sudo)" : "local";
    case "sandbox":
      return `sandbox:${String((c as { name?: unknown }).name)}`;
    case "ssh":
      return describeSsh(c as Extract<HostConnection, { kind: "ssh" }>);
    case "ssm":
      return describeSsm(c as Extract<HostConnection, { kind: "ssm" }>);
    default:
      return `connection of unknown kind ${JSON.stringify(k) ?? String(k)}`;
  }
}
