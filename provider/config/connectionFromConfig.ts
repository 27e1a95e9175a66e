import * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../transport/connection";

/**
 * The host a stack builds on, from stack config:
 *
 *   bridgelab:connection   a HostConnection object, e.g. set with
 *                          pulumi config set --path --secret 'connection.privateKey' "$(cat ~/.ssh/id_ed25519)"
 *   bridgelab:sandbox      the name of a sandbox host on this machine (the default: "bridgelab")
 *
 * The connection is kept as an Output so a secret private key stays secret in state.
 * `config` is the namespace to read (default "bridgelab": `bridgelab:connection`, `bridgelab:sandbox`).
 */
export function connectionFromConfig(config: pulumi.Config = new pulumi.Config("bridgelab")): pulumi.Input<HostConnection> {
  const explicit = config.getSecretObject<HostConnection>("connection");
  if (explicit) return explicit;
  return { kind: "sandbox", name: config.get("sandbox") ?? "bridgelab" };
}
