import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { sshFromCommandConnection } from "../provider/config/sshFromCommandConnection";
import { hostPreparationScript } from "../provider/host/hostPreparation";
import type { SshConnection } from "../provider/transport/connection";
import { CloudLabSettings, cloudInitUserData, publicKeyOf } from "./cloudLabConfig";

/**
 * cloud-lab's host: an EC2 instance made ready for bridgelab, in one program.
 *
 *   AMI        aws.ssm.getParameter of the vendor's public parameter (Debian 12 or AL2023, x86_64)
 *   network    a security group: 22/tcp from bridgelab:sshCidr, the lab's published ports from
 *              bridgelab:publishedCidr, everything out (package installs)
 *   key pair   made from bridgelab:sshPrivateKey's public half (or bridgelab:keyName)
 *   host key   bridgelab:hostPrivateKey, installed by cloud-init from the user data: its public
 *              half is pinned by remote.Command and by bridgelab from the first connection on
 *   prepare    remote.CopyToRemote puts hostPreparationScript() on the instance, remote.Command
 *              runs it with sudo (`triggers`: the script's digest, so a new script runs again)
 *
 * The connection bridgelab gets is the one the Commands use (sshFromCommandConnection), carrying
 * a dependency on the preparation: every lab resource is created after it and deleted before it,
 * and so before the instance.
 */
export interface CloudHost {
  /** bridgelab's connection: the Commands' own, usable once the host is prepared. */
  connection: pulumi.Output<SshConnection>;
  /** Where the world reaches the lab (the URL's host). */
  publicAddress: pulumi.Output<string>;
  /** The address the host's probes use for published ports: its own (the public one is NATed outside it). */
  probeAddress: pulumi.Output<string>;
  outputs: Record<string, pulumi.Output<unknown>>;
}

export function cloudLabHost(config: pulumi.Config, s: CloudLabSettings): CloudHost {
  const stack = pulumi.getStack();
  const tags = { Name: `bridgelab-cloud-lab-${stack}`, "bridgelab:stack": stack };
  const loginKey = config.requireSecret("sshPrivateKey");
  const passphrase = config.getSecret("sshPrivateKeyPassphrase");
  const hostPrivateKey = config.requireSecret("hostPrivateKey");
  // Public halves are not secret: derived inside the secrets' applies, then unmarked.
  const hostKey = pulumi.unsecret(hostPrivateKey.apply((k) => publicKeyOf(k, "bridgelab:hostPrivateKey", { type: "ssh-ed25519" })));

  // aws ssm get-parameter --name /aws/service/debian/release/12/latest/amd64
  const ami = aws.ssm.getParameterOutput({ name: s.image.parameter });

  const keyName: pulumi.Input<string> =
    s.keyName ??
    new aws.ec2.KeyPair("cloud-lab", {
      publicKey: pulumi.unsecret(pulumi.all([loginKey, passphrase]).apply(([k, p]) => publicKeyOf(k, "bridgelab:sshPrivateKey", { passphrase: p }))),
      tags,
    }).keyName;

  // aws ec2 create-security-group; authorize-security-group-ingress --protocol tcp --port 22 --cidr SSH_CIDR …
  const sg = new aws.ec2.SecurityGroup("cloud-lab", {
    description: "bridgelab cloud-lab: SSH from bridgelab:sshCidr, the lab's published ports from bridgelab:publishedCidr",
    ...(s.vpcId ? { vpcId: s.vpcId } : {}),
    tags,
  });
  const ssh = new aws.vpc.SecurityGroupIngressRule("cloud-lab-ssh", {
    securityGroupId: sg.id,
    ipProtocol: "tcp",
    fromPort: 22,
    toPort: 22,
    cidrIpv4: s.sshCidr,
    description: "SSH: remote.Command and bridgelab",
    tags,
  });
  const published = s.ports.map(
    (port) =>
      new aws.vpc.SecurityGroupIngressRule(`cloud-lab-tcp-${port}`, {
        securityGroupId: sg.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrIpv4: s.publishedCidr,
        description: `published by the lab (tcp ${port})`,
        tags,
      }),
  );
  const egress = new aws.vpc.SecurityGroupEgressRule("cloud-lab-egress", {
    securityGroupId: sg.id,
    ipProtocol: "-1",
    cidrIpv4: "0.0.0.0/0",
    description: "package installs; the lab's egress NAT",
    tags,
  });

  const instance = new aws.ec2.Instance(
    "cloud-lab",
    {
      ami: ami.value,
      instanceType: s.instanceType,
      keyName,
      vpcSecurityGroupIds: [sg.id],
      ...(s.subnetId ? { subnetId: s.subnetId } : {}),
      associatePublicIpAddress: true,
      userData: pulumi.all([hostPrivateKey, hostKey]).apply(([priv, pub]) => cloudInitUserData(priv, pub)),
      // A new host key means a new machine: cloud-init installs it on the first boot only.
      userDataReplaceOnChange: true,
      // IMDSv2 only, hop limit 1: the lab's namespaces reach 169.254.169.254 through the egress NAT,
      // one hop too far for a token, so they cannot read the user data (the host key) or credentials.
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true, volumeType: "gp3", deleteOnTermination: true },
      tags,
    },
    // A newer AMI published by the vendor does not replace a running lab (pulumi up --replace does).
    { ignoreChanges: ["ami"] },
  );

  // One connection object for remote.Command and bridgelab. hostKey pins our host key for both.
  const commandConnection: command.types.input.remote.ConnectionArgs = {
    host: instance.publicIp,
    user: s.image.user,
    privateKey: loginKey,
    ...(passphrase ? { privateKeyPassword: passphrase } : {}),
    hostKey,
    // A new instance takes a minute to boot sshd: remote.Command dials up to 21 times.
    dialErrorLimit: 20,
    perDialTimeout: 15,
  };

  const script = hostPreparationScript();
  const digest = createHash("sha256").update(script).digest("hex");
  const remotePath = `/home/${s.image.user}/bridgelab-prepare.sh`;
  // scp bridgelab-prepare.sh admin@HOST:/home/admin/bridgelab-prepare.sh
  const copy = new command.remote.CopyToRemote(
    "cloud-lab-prepare-script",
    { connection: commandConnection, source: new pulumi.asset.StringAsset(script), remotePath, triggers: [digest, instance.id] },
    { dependsOn: [ssh] },
  );
  // ssh admin@HOST sudo sh /home/admin/bridgelab-prepare.sh
  const prepare = new command.remote.Command(
    "cloud-lab-prepare",
    { connection: commandConnection, create: `sudo sh ${remotePath}`, triggers: [digest, instance.id] },
    { dependsOn: [copy, egress] },
  );

  // The lab uses the connection only once the host is prepared: the Output carries that dependency.
  const connection = pulumi.all([sshFromCommandConnection(commandConnection), prepare.stdout]).apply(([c]) => c);

  return {
    connection,
    publicAddress: instance.publicIp,
    probeAddress: instance.privateIp,
    outputs: {
      host: pulumi.output({ kind: "ec2" as const, os: s.image.description, instanceType: s.instanceType }),
      instanceId: instance.id,
      amiId: ami.value,
      publicIp: instance.publicIp,
      publicDns: instance.publicDns,
      privateIp: instance.privateIp,
      securityGroupId: sg.id,
      publishedPorts: pulumi.output(published.map((r) => r.fromPort)),
      hostKey,
      knownHostsLine: pulumi.interpolate`${instance.publicIp} ${hostKey}`,
      sshCommand: pulumi.interpolate`ssh ${s.image.user}@${instance.publicIp}`,
      preparation: pulumi.unsecret(prepare.stdout),
    },
  };
}
