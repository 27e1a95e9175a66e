import * as pulumi from "@pulumi/pulumi";
import { connectionFromConfig } from "../provider/config/connectionFromConfig";
import { UPLINK } from "../provider/sandbox/sandboxLayout";
import { cloudLabSettings } from "./cloudLabConfig";
import { netnsLab } from "./netnsLab";

/**
 * Lab "cloud-lab": a lab host from nothing, in one program. An EC2 instance (Debian 12 or Amazon
 * Linux 2023) is made and prepared with @pulumi/command (cloudLabHost.ts), then netns-lab is
 * built on it over SSH by bridgelab with the host key pinned, and verified by its LabProbe:
 *
 *   aws ssm get-parameter … → aws ec2 run-instances … (security group, key pair, user data)
 *   scp bridgelab-prepare.sh; ssh admin@HOST sudo sh bridgelab-prepare.sh
 *   netns-lab over ssh admin@HOST (sudo): br0, netns0/netns1, egress NAT, port 5000 published
 *
 * Outputs: publicIp and url (http://PUBLIC-IP:5000/), with netns-lab's own (verification…).
 *
 * Config (bridgelab:KEY), besides netns-lab's (hostPort 5000, …) and aws:region:
 *   os debian-12 | al2023 · instanceType t3.micro · sshCidr (required: who may SSH)
 *   publishedCidr (default sshCidr: who may open the lab's ports) · keyName (an existing key pair)
 *   vpcId + subnetId (default: the region's default VPC)
 *   sshPrivateKey (secret, required) · sshPrivateKeyPassphrase (secret) · hostPrivateKey (secret,
 *   required: an ed25519 key, the instance's SSH host key)
 *
 * With bridgelab:connection (or bridgelab:sandbox, as `bridgelab up --stack cloud-lab` sets) there
 * is no instance and no preparation: the lab goes on that host as it is (the tests give a sandbox
 * host with sshd), its published ports probed and linked at bridgelab:publicAddress (default: a
 * sandbox host's uplink, or the SSH host). Nothing of @pulumi/aws or @pulumi/command is loaded then.
 */
export function cloudLab(config: pulumi.Config): Record<string, pulumi.Output<unknown>> {
  const server = config.getNumber("server") ?? 0;
  const hostPort = config.getNumber("hostPort") ?? 5000;
  const ports = server >= 0 ? [hostPort] : [];

  // A host given in config (bridgelab up passes its sandbox host as bridgelab:sandbox).
  if (config.getSecretObject("connection") !== undefined || config.get("sandbox") !== undefined) {
    const connection = connectionFromConfig(config);
    const address = pulumi.unsecret(
      pulumi.output(connection).apply((c) => config.get("publicAddress") ?? (c.kind === "sandbox" ? UPLINK.hostAddress.split("/")[0] : c.kind === "ssh" ? c.host : "127.0.0.1")),
    );
    const lab = netnsLab(config, { connection, publicAddress: address });
    return {
      host: pulumi.unsecret(pulumi.output(connection).apply((c) => ({ kind: "given" as const, connection: c.kind }))),
      publicIp: address,
      ...(ports.length ? { url: pulumi.interpolate`http://${address}:${ports[0]}/` } : {}),
      ...lab,
    };
  }

  const settings = cloudLabSettings(config, ports);
  // Loaded on demand: @pulumi/aws and @pulumi/command only for a stack that makes an instance.
  const { cloudLabHost } = require("./cloudLabHost") as typeof import("./cloudLabHost");
  const host = cloudLabHost(config, settings);
  const lab = netnsLab(config, { connection: host.connection, publicAddress: host.probeAddress });
  return {
    ...host.outputs,
    ...(ports.length ? { url: pulumi.interpolate`http://${host.publicAddress}:${ports[0]}/` } : {}),
    ...lab,
  };
}
