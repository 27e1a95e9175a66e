import * as ipaddr from "ipaddr.js";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Stack cloud-lab's settings, read and checked before anything is declared: pure apart from
 * parsing keys (ssh2, already bridgelab's). Every refusal names the config key, the value and
 * the rule. Secrets are described, never shown.
 */

/** The images cloud-lab boots: the latest x86_64 AMI, from the vendors' public SSM parameters, and the login user their cloud-init makes. */
export const CLOUD_IMAGES = {
  "debian-12": { parameter: "/aws/service/debian/release/12/latest/amd64", user: "admin", description: "Debian 12 (bookworm)" },
  al2023: { parameter: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", user: "ec2-user", description: "Amazon Linux 2023" },
} as const;
export type CloudOs = keyof typeof CLOUD_IMAGES;

export interface CloudLabSettings {
  os: CloudOs;
  image: (typeof CLOUD_IMAGES)[CloudOs];
  instanceType: string;
  /** Who may reach SSH (22/tcp). */
  sshCidr: string;
  /** Who may reach the lab's published ports. */
  publishedCidr: string;
  /** The lab's published host ports: each one opened in the security group. */
  ports: number[];
  /** An existing EC2 key pair instead of one made from bridgelab:sshPrivateKey. */
  keyName?: string;
  /** Both or neither: where the instance goes (else the region's default VPC). */
  vpcId?: string;
  subnetId?: string;
}

/** Graviton (arm64) types: cloud-lab boots x86_64 images. t4g, m7gd, c6gn, x2gd, a1… */
const ARM64_TYPE = /^(a1|[a-z]+\d+[a-z]*g[a-z]*)\./;

export class CloudLabConfigError extends Error {
  constructor(problems: string[]) {
    super(`cloud-lab: ${problems.join("; ")}`);
    this.name = "CloudLabConfigError";
  }
}

/**
 * The settings from stack config (bridgelab:KEY). `ports` are the lab's published host ports
 * (netns-lab's hostPort when it runs a server).
 */
export function cloudLabSettings(config: pulumi.Config, ports: number[]): CloudLabSettings {
  const problems: string[] = [];
  const os = (config.get("os") ?? "debian-12") as CloudOs;
  if (!(os in CLOUD_IMAGES)) problems.push(`bridgelab:os ${JSON.stringify(os)} is not an image cloud-lab boots: choose ${Object.keys(CLOUD_IMAGES).map((k) => JSON.stringify(k)).join(" or ")}`);
  const instanceType = config.get("instanceType") ?? "t3.micro";
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) problems.push(`bridgelab:instanceType ${JSON.stringify(instanceType)} is not an EC2 instance type such as "t3.micro"`);
  else if (ARM64_TYPE.test(instanceType)) {
    problems.push(`bridgelab:instanceType ${JSON.stringify(instanceType)} is an arm64 (Graviton) type, and cloud-lab boots the x86_64 image: choose an x86_64 type such as "t3.micro"`);
  }
  const sshCidr = config.get("sshCidr");
  if (sshCidr === undefined) problems.push(`bridgelab:sshCidr is missing: give the address SSH may come from, yours, as a CIDR (e.g. "$(curl -s https://checkip.amazonaws.com)/32")`);
  else cidrProblem("bridgelab:sshCidr", sshCidr, problems, true);
  const publishedCidr = config.get("publishedCidr") ?? sshCidr ?? "";
  if (config.get("publishedCidr") !== undefined) cidrProblem("bridgelab:publishedCidr", publishedCidr, problems, false);
  for (const p of ports) {
    if (p === 0) problems.push("bridgelab:hostPort 0 (a dynamic port) cannot be opened in the security group before the host picks it: give a fixed port, e.g. 5000");
    else if (p === 22) problems.push("bridgelab:hostPort 22 is SSH's: the lab cannot publish on it");
    else if (!(Number.isInteger(p) && p >= 1 && p <= 65535)) problems.push(`bridgelab:hostPort ${p} is invalid: a port is an integer 1–65535`);
  }
  const keyName = config.get("keyName");
  if (keyName !== undefined && !/^[\x20-\x7e]{1,255}$/.test(keyName)) problems.push(`bridgelab:keyName ${JSON.stringify(keyName)} is not an EC2 key pair name (1–255 printable ASCII characters)`);
  const vpcId = config.get("vpcId");
  const subnetId = config.get("subnetId");
  if ((vpcId === undefined) !== (subnetId === undefined)) {
    problems.push(`bridgelab:vpcId and bridgelab:subnetId go together (the security group is made in the VPC, the instance in the subnet): give both, or neither for the region's default VPC`);
  }
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) problems.push(`bridgelab:vpcId ${JSON.stringify(vpcId)} is not a VPC id ("vpc-" and 8 or 17 hex digits)`);
  if (subnetId !== undefined && !/^subnet-[0-9a-f]{8,17}$/.test(subnetId)) problems.push(`bridgelab:subnetId ${JSON.stringify(subnetId)} is not a subnet id ("subnet-" and 8 or 17 hex digits)`);
  if (problems.length > 0) throw new CloudLabConfigError(problems);
  return {
    os,
    image: CLOUD_IMAGES[os],
    instanceType,
    sshCidr: sshCidr!,
    publishedCidr,
    ports,
    ...(keyName !== undefined ? { keyName } : {}),
    ...(vpcId !== undefined ? { vpcId, subnetId } : {}),
  };
}

function cidrProblem(key: string, v: string, problems: string[], ssh: boolean): void {
  let prefix: number;
  try {
    const parsed = ipaddr.parseCIDR(v);
    if (parsed[0].kind() !== "ipv4" || !ipaddr.IPv4.isValidFourPartDecimal(v.split("/")[0])) throw new Error("not IPv4");
    prefix = parsed[1];
  } catch {
    problems.push(`${key} ${JSON.stringify(v)} is not an IPv4 CIDR such as "203.0.113.7/32"`);
    return;
  }
  if (ipaddr.IPv4.networkAddressFromCIDR(v).toString() !== v.split("/")[0]) {
    problems.push(`${key} ${JSON.stringify(v)} has host bits set: the security group wants the network, ${ipaddr.IPv4.networkAddressFromCIDR(v).toString()}/${prefix}`);
  } else if (ssh && prefix === 0) {
    problems.push(`${key} "0.0.0.0/0" opens SSH to the whole internet: give your own address, e.g. "203.0.113.7/32"`);
  }
}

/**
 * The OpenSSH public key line of a private key (`ssh-ed25519 AAAA…`, no comment), as
 * `ssh-keygen -y -f KEY` prints it. Throws naming `key` (never the key) when it does not parse.
 */
export function publicKeyOf(privateKey: string, key: string, o: { passphrase?: string; type?: string } = {}): string {
  const { utils } = require("ssh2") as typeof import("ssh2");
  const parsed = utils.parseKey(privateKey, o.passphrase);
  const k = Array.isArray(parsed) ? parsed[0] : parsed;
  if (k instanceof Error || !k) throw new CloudLabConfigError([`${key} (secret, not shown) is not a private key ssh2 can read: ${k instanceof Error ? k.message : "no key"}`]);
  if (!k.isPrivateKey()) throw new CloudLabConfigError([`${key} (secret, not shown) is a public key: give the private key (the file without .pub)`]);
  if (o.type && k.type !== o.type) throw new CloudLabConfigError([`${key} (secret, not shown) is a ${k.type} key: it must be ${o.type} (ssh-keygen -t ed25519 -N '' -f ~/.ssh/lab_host)`]);
  return `${k.type} ${k.getPublicSSH().toString("base64")}`;
}

/**
 * The instance's user data: cloud-init installs the SSH host key we chose, so its public half
 * is known (and pinned by remote.Command and bridgelab) before the first connection:
 *
 *   #cloud-config
 *   ssh_keys:
 *     ed25519_private: "-----BEGIN OPENSSH PRIVATE KEY-----\n…"
 *     ed25519_public: "ssh-ed25519 AAAA…"
 *
 * Values are written as JSON strings, which YAML reads as double-quoted scalars.
 */
export function cloudInitUserData(hostPrivateKey: string, hostPublicKey: string): string {
  return [
    "#cloud-config",
    "# bridgelab cloud-lab: the SSH host key is the stack's own (bridgelab:hostPrivateKey), so remote.Command",
    "# and bridgelab pin it from the first connection on.",
    "ssh_keys:",
    `  ed25519_private: ${JSON.stringify(hostPrivateKey.endsWith("\n") ? hostPrivateKey : hostPrivateKey + "\n")}`,
    `  ed25519_public: ${JSON.stringify(hostPublicKey)}`,
    "",
  ].join("\n");
}
