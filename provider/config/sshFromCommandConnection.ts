import * as pulumi from "@pulumi/pulumi";
import type { SshConnection } from "../transport/connection";
import { CommandConnectionError, commandConnectionProblems, mapCommandConnection } from "./commandConnectionMapping";
import type { CommandConnectionValues, CommandMappingValues } from "./commandConnectionMapping";

/**
 * The shape of @pulumi/command's `remote.ConnectionArgs` (1.x), declared here rather than
 * imported, so that bridgelab's types and code need no @pulumi/command: a program that never
 * uses it installs nothing more. A `remote.ConnectionArgs` object is assignable to it (the
 * tests check that against the real package).
 */
export interface CommandConnectionArgs {
  /** The host's name or address. */
  host: pulumi.Input<string>;
  /** @default 22 */
  port?: pulumi.Input<number>;
  /** @default "root" */
  user?: pulumi.Input<string>;
  /** Password (and keyboard-interactive) login (secret). */
  password?: pulumi.Input<string>;
  /** Private key text (secret). */
  privateKey?: pulumi.Input<string>;
  /** Passphrase of privateKey (secret): bridgelab's `passphrase`. */
  privateKeyPassword?: pulumi.Input<string>;
  /** ssh-agent socket: bridgelab's `agent`. */
  agentSocketPath?: pulumi.Input<string>;
  /** The host's public key line (`ssh-ed25519 AAAA…`): remote.Command and bridgelab both verify it. */
  hostKey?: pulumi.Input<string>;
  /** remote.Command's failed dials allowed (it dials up to N + 1 times): bridgelab's `dialAttempts` N + 1. -1 (unlimited) is refused. */
  dialErrorLimit?: pulumi.Input<number>;
  /** Seconds per dial: bridgelab's `readyTimeoutMs` × 1000. 0 (no limit) is refused. */
  perDialTimeout?: pulumi.Input<number>;
  /** A bastion to go through: bridgelab's `jumpHost` (like `ssh -J`). */
  proxy?: pulumi.Input<CommandProxyConnectionArgs>;
}

/** @pulumi/command's `remote.ProxyConnectionArgs`: the same fields, without a proxy of its own. */
export type CommandProxyConnectionArgs = Omit<CommandConnectionArgs, "proxy">;

/** What a remote.Command connection cannot say and bridgelab needs. */
export interface SshFromCommandOptions {
  /**
   * The host's key when the connection has no `hostKey`: an OpenSSH public key line or its
   * `SHA256:` fingerprint (`ssh-keygen -lf`). Prefer the connection's own `hostKey` (a key
   * line): remote.Command verifies it too, and skips verification without it.
   */
  hostKey?: pulumi.Input<string>;
  /** The proxy's key when `proxy.hostKey` is not set. */
  proxyHostKey?: pulumi.Input<string>;
  /** Skip host key verification for the host and its proxy: throwaway hosts only. @default false */
  insecureSkipHostKeyCheck?: boolean;
  /** Run bridgelab's scripts through `sudo -n` (passwordless sudo). @default true unless the user is root */
  sudo?: pulumi.Input<boolean>;
}

/**
 * A bridgelab SSH connection made from the connection a `remote.Command` uses, so one object
 * serves both:
 *
 *   const conn: command.types.input.remote.ConnectionArgs = { host: vm.publicIp, user: "admin",
 *     privateKey: config.requireSecret("sshKey"), hostKey: config.require("hostKey") };
 *   new command.remote.Command("prepare", { connection: conn, create: "…" });
 *   new bl.Bridge("br0", { connection: bl.sshFromCommandConnection(conn), address: "172.18.0.1/16" });
 *
 * Any field may be an Output or a secret: the result is one Output, secret when any field is,
 * so a key stays encrypted in state. Fields are renamed as commandConnectionMapping.ts lists
 * (privateKeyPassword → passphrase, agentSocketPath → agent, proxy → jumpHost, dialErrorLimit N →
 * dialAttempts N + 1, perDialTimeout S → readyTimeoutMs S × 1000); what has no equivalent
 * (dialErrorLimit -1, perDialTimeout 0, a field bridgelab does not know) and a host whose key is
 * not pinned are refused with CommandConnectionError naming the field: at this call for values
 * already known, else when the Output resolves (in preview, before anything on the host).
 */
export function sshFromCommandConnection(connection: pulumi.Input<CommandConnectionArgs>, options: SshFromCommandOptions = {}): pulumi.Output<SshConnection> {
  // What can be told now (a plain object's fields, unknown ones counted as given) is refused now.
  if (!pulumi.Output.isInstance(connection) && !isPromise(connection)) {
    const problems = commandConnectionProblems(connection, options, isKnown);
    if (problems.length > 0) throw new CommandConnectionError(problems);
  }
  return pulumi
    .all([pulumi.output(connection), pulumi.output(options)])
    .apply(([c, o]) => mapCommandConnection(c as unknown as CommandConnectionValues, o as unknown as CommandMappingValues));
}

function isKnown(v: unknown): boolean {
  return !pulumi.Output.isInstance(v) && !isPromise(v);
}

function isPromise(v: unknown): boolean {
  return typeof (v as { then?: unknown } | undefined)?.then === "function";
}
