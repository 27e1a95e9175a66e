import type * as pulumi from "@pulumi/pulumi";
import type { LocalConnection, SandboxConnection, SshConnection, SsmConnection } from "../transport/connection";

/**
 * A connection as program code writes it: any field may be an Output or a secret (a key from
 * `config.requireSecret`, a host from an instance's `publicIp`), as @pulumi/command's
 * `remote.ConnectionArgs` allows. Pulumi resolves them before the provider sees the connection,
 * so the provider works with plain HostConnection values. `kind` stays a literal, so the union
 * still tells the kinds apart.
 *
 *   const connection: HostConnectionInput = { kind: "ssh", host: vm.publicIp, user: "admin",
 *                                             privateKey: config.requireSecret("sshKey"), hostKey };
 */
type InputFields<T> = {
  [K in keyof T]: K extends "kind" ? T[K] : K extends "jumpHost" ? pulumi.Input<SshConnectionInput> : pulumi.Input<T[K]>;
};

export type LocalConnectionInput = InputFields<LocalConnection>;
export type SandboxConnectionInput = InputFields<SandboxConnection>;
export type SshConnectionInput = InputFields<SshConnection>;
export type SsmConnectionInput = InputFields<SsmConnection>;
export type HostConnectionInput = LocalConnectionInput | SandboxConnectionInput | SshConnectionInput | SsmConnectionInput;
