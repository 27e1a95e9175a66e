import { AMI_ID, INSTANCE, Registered, invoked, registered, settle, value } from "./awsMocks";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { hostPreparationScript } from "../../provider/host/hostPreparation";
import { cloudLab } from "../../stacks/cloudLab";
import { CloudLabConfigError, cloudInitUserData, publicKeyOf } from "../../stacks/cloudLabConfig";

// Stack cloud-lab (issue 14) under Pulumi's mocks: the real arguments of every AWS and
// @pulumi/command resource — the AMI's SSM parameter, the security group's rules, the user data
// with the host key, the preparation script and its triggers — and the dependencies that order
// them: the lab after the preparation, the preparation after the copy and the rules, so that a
// destroy removes the lab before the instance. No AWS call, no SSH: the bridgelab part runs for
// real in test/e2e/cloudLab.test.ts.
const repo = path.resolve(__dirname, "..", "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-cloud-lab-"));
afterAll(async () => {
  await settle();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** An ed25519 key pair made by ssh-keygen: the private key text and `ssh-keygen -y`'s public line (no comment). */
function keygen(name: string, type = "ed25519"): { priv: string; pub: string } {
  const file = path.join(tmp, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", name, "-f", file]);
  const pub = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim().split(" ").slice(0, 2).join(" ");
  return { priv: fs.readFileSync(file, "utf8"), pub };
}
const login = keygen("login");
const host = keygen("host");
const SECRET_KEYS = ["bridgelab:sshPrivateKey", "bridgelab:hostPrivateKey"];

/** Run the stack with these bridgelab:KEY values (and the two keys), recording what it registers from here on. */
async function stack(cfg: Record<string, string>): Promise<{ out: Record<string, pulumi.Output<unknown>>; made: Registered[]; calls: typeof invoked }> {
  const all = { "bridgelab:sshPrivateKey": login.priv, "bridgelab:hostPrivateKey": host.priv, ...Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k.includes(":") ? k : `bridgelab:${k}`, v])) };
  pulumi.runtime.setAllConfig(all, SECRET_KEYS);
  const [r, i] = [registered.length, invoked.length];
  const out = cloudLab(new pulumi.Config("bridgelab"));
  await settle();
  return { out, made: registered.slice(r), calls: invoked.slice(i) };
}
const of = (made: Registered[], type: string) => made.filter((r) => r.type === type);
function one(made: Registered[], type: string, name?: string): Registered {
  const all = of(made, type).filter((r) => name === undefined || r.name === name);
  if (all.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${all.length}`);
  return all[0];
}

const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const INSTANCE_T = "aws:ec2/instance:Instance";
const COPY = "command:remote:CopyToRemote";
const COMMAND = "command:remote:Command";
const script = hostPreparationScript();
const digest = createHash("sha256").update(script).digest("hex");

describe("stack cloud-lab on Debian 12 (the default)", () => {
  let run: Awaited<ReturnType<typeof stack>>;
  beforeAll(async () => {
    run = await stack({ sshCidr: "198.51.100.0/24" });
  });

  it("reads the AMI from Debian's public SSM parameter and boots it, x86_64, t3.micro", async () => {
    expect(run.calls.map((c) => [c.token, c.inputs.name])).toEqual([["aws:ssm/getParameter:getParameter", "/aws/service/debian/release/12/latest/amd64"]]);
    expect(one(run.made, INSTANCE_T).inputs).toMatchObject({ ami: AMI_ID, instanceType: "t3.micro", associatePublicIpAddress: true });
    expect(await value(run.out.amiId)).toBe(AMI_ID);
  });

  it("makes the key pair from the private key in config: its public half, as ssh-keygen -y prints it", () => {
    const kp = one(run.made, "aws:ec2/keyPair:KeyPair");
    expect(kp.inputs.publicKey).toBe(login.pub);
    expect(kp.secrets).toEqual([]); // a public key is not a secret
    expect(one(run.made, INSTANCE_T).inputs.keyName).toBe("cloud-lab-4f7a2c1");
    expect(one(run.made, INSTANCE_T).dependencies).toContain(kp.urn);
  });

  it("lets SSH in from sshCidr only, the lab's published port 5000 from the same CIDR by default, everything out", () => {
    const sg = one(run.made, "aws:ec2/securityGroup:SecurityGroup");
    expect(sg.inputs.vpcId).toBeUndefined(); // the region's default VPC
    const rules = of(run.made, INGRESS).map((r) => ({ name: r.name, ...pick(r.inputs, ["ipProtocol", "fromPort", "toPort", "cidrIpv4"]) }));
    expect(rules).toEqual([
      { name: "cloud-lab-ssh", ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "198.51.100.0/24" },
      { name: "cloud-lab-tcp-5000", ipProtocol: "tcp", fromPort: 5000, toPort: 5000, cidrIpv4: "198.51.100.0/24" },
    ]);
    expect(of(run.made, EGRESS).map((r) => pick(r.inputs, ["ipProtocol", "cidrIpv4"]))).toEqual([{ ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" }]);
    for (const r of [...of(run.made, INGRESS), ...of(run.made, EGRESS)]) expect(r.dependencies).toContain(sg.urn);
    expect(one(run.made, INSTANCE_T).inputs.vpcSecurityGroupIds).toEqual(["cloud-lab-id"]);
  });

  it("gives the instance our host key in its user data (a secret, replacing the instance when it changes), IMDSv2 only with hop limit 1", () => {
    const i = one(run.made, INSTANCE_T);
    expect(i.inputs.userData).toBe(cloudInitUserData(host.priv, host.pub));
    expect(i.inputs.userData).toContain(`\n  ed25519_public: "${host.pub}"\n`);
    expect(i.inputs.userData.startsWith("#cloud-config\n")).toBe(true);
    expect(i.secrets).toEqual(["userData"]);
    expect(i.inputs).toMatchObject({
      userDataReplaceOnChange: true,
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true, volumeType: "gp3", deleteOnTermination: true },
      tags: { Name: "bridgelab-cloud-lab-mocks" },
    });
  });

  it("copies the preparation script with remote.CopyToRemote over the pinned connection, after the SSH rule", async () => {
    const copy = one(run.made, COPY);
    const connection = { host: INSTANCE.publicIp, user: "admin", privateKey: login.priv, hostKey: host.pub, dialErrorLimit: 20, perDialTimeout: 15 };
    expect(copy.inputs).toMatchObject({ remotePath: "/home/admin/bridgelab-prepare.sh", triggers: [digest, "cloud-lab-id"], connection });
    expect(await copy.inputs.source.text).toBe(script);
    expect(copy.secrets).toEqual(["connection"]);
    expect(copy.dependencies).toEqual(expect.arrayContaining([one(run.made, INGRESS, "cloud-lab-ssh").urn, one(run.made, INSTANCE_T).urn]));
  });

  it("runs it with remote.Command under sudo, re-run when the script changes (its digest is a trigger), after the copy and the egress rule", () => {
    const cmd = one(run.made, COMMAND);
    expect(cmd.inputs).toMatchObject({ create: "sudo sh /home/admin/bridgelab-prepare.sh", triggers: [digest, "cloud-lab-id"] });
    expect(cmd.inputs.connection).toEqual(one(run.made, COPY).inputs.connection);
    expect(cmd.inputs.delete).toBeUndefined();
    expect(cmd.dependencies).toEqual(expect.arrayContaining([one(run.made, COPY).urn, one(run.made, EGRESS).urn, one(run.made, INSTANCE_T).urn]));
  });

  it("builds netns-lab over the same connection, mapped for bridgelab (sudo, 21 dials), secret, and every lab resource after the preparation", () => {
    const lab = run.made.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/bridgelab:"));
    expect(lab.map((r) => r.type.split(":").pop()).sort()).toEqual(["Bridge", "Egress", "LabProbe", "NetNamespace", "NetNamespace", "PortPublish", "Process", "VethPair", "VethPair"]);
    const prepare = one(run.made, COMMAND).urn;
    for (const r of lab) {
      expect({ resource: r.name, dependsOnPreparation: r.dependencies.includes(prepare) }).toEqual({ resource: r.name, dependsOnPreparation: true });
      expect({ resource: r.name, secrets: r.secrets }).toEqual({ resource: r.name, secrets: expect.arrayContaining(["connection"]) });
      expect(r.inputs.connection).toEqual({ kind: "ssh", host: INSTANCE.publicIp, user: "admin", privateKey: login.priv, hostKey: host.pub, dialAttempts: 21, readyTimeoutMs: 15_000, sudo: true });
    }
    // So the engine deletes them before the Command, the Command before the copy and the instance.
  });

  it("probes the published port at the instance's own address, and outputs the public one and the URL", async () => {
    const probe = one(run.made, "pulumi-nodejs:dynamic/bridgelab:LabProbe");
    const published = (probe.inputs.probes as Array<{ name: string; target: string }>).filter((p) => p.name.includes("-published-"));
    expect(published.map((p) => p.name).sort()).toEqual(["http:host-to-published-netns0:5000", "http:netns1-to-published-netns0:5000"]);
    expect(new Set(published.map((p) => p.target))).toEqual(new Set([`${INSTANCE.privateIp}:5000`]));
    expect(await value(run.out.url)).toBe(`http://${INSTANCE.publicIp}:5000/`);
    expect(await value(run.out.publicIp)).toBe(INSTANCE.publicIp);
    expect(await value(run.out.knownHostsLine)).toBe(`${INSTANCE.publicIp} ${host.pub}`);
    expect(await value(run.out.sshCommand)).toBe(`ssh admin@${INSTANCE.publicIp}`);
    expect(await value(run.out.publishedPorts)).toEqual([5000]);
  });
});

describe("stack cloud-lab on Amazon Linux 2023, in a given VPC, with an existing key pair", () => {
  let run: Awaited<ReturnType<typeof stack>>;
  beforeAll(async () => {
    run = await stack({ os: "al2023", instanceType: "t3.small", sshCidr: "203.0.113.7/32", publishedCidr: "0.0.0.0/0", keyName: "ops", vpcId: "vpc-0123abcd", subnetId: "subnet-0123abcd", hostPort: "8080" });
  });

  it("reads the AL2023 parameter, logs in as ec2-user, uses the key pair named, in the subnet given", () => {
    expect(run.calls.map((c) => c.inputs.name)).toEqual(["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"]);
    expect(of(run.made, "aws:ec2/keyPair:KeyPair")).toEqual([]);
    expect(one(run.made, INSTANCE_T).inputs).toMatchObject({ keyName: "ops", subnetId: "subnet-0123abcd", instanceType: "t3.small" });
    expect(one(run.made, "aws:ec2/securityGroup:SecurityGroup").inputs.vpcId).toBe("vpc-0123abcd");
    expect(one(run.made, COMMAND).inputs.create).toBe("sudo sh /home/ec2-user/bridgelab-prepare.sh");
    expect(one(run.made, COPY).inputs.connection.user).toBe("ec2-user");
  });

  it("opens the published port to publishedCidr and SSH still to sshCidr only", () => {
    expect(of(run.made, INGRESS).map((r) => [r.inputs.fromPort, r.inputs.cidrIpv4])).toEqual([
      [22, "203.0.113.7/32"],
      [8080, "0.0.0.0/0"],
    ]);
  });
});

describe("stack cloud-lab on a given host (bridgelab:connection): no instance, no preparation", () => {
  it("declares nothing of AWS or @pulumi/command, and links the URL at bridgelab:publicAddress", async () => {
    const run = await stack({
      connection: JSON.stringify({ kind: "ssh", host: "lab.example.com", user: "admin", sudo: true, privateKey: login.priv, hostKey: host.pub }),
      publicAddress: "198.51.100.2",
    });
    expect(run.calls).toEqual([]);
    expect(run.made.filter((r) => !r.type.startsWith("pulumi-nodejs:dynamic/") && !r.type.startsWith("bridgelab:index:")).map((r) => r.type)).toEqual([]);
    expect(await value(run.out.url)).toBe("http://198.51.100.2:5000/");
  });

  it("bridgelab:sandbox (what `bridgelab up --stack cloud-lab` passes) is a given host too: the lab on the sandbox host, its uplink in the URL", async () => {
    const run = await stack({ sandbox: "cl-mock" });
    expect(run.calls).toEqual([]);
    expect(run.made.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("command:"))).toEqual([]);
    expect(one(run.made, "pulumi-nodejs:dynamic/bridgelab:Bridge").inputs.connection).toEqual({ kind: "sandbox", name: "cl-mock" });
    expect(await value(run.out.url)).toBe("http://198.51.100.2:5000/");
  });

  it("loading the stack program loads neither @pulumi/aws nor @pulumi/command (they are optional peers)", () => {
    const out = execFileSync(process.execPath, ["-e", `require("./dist/stacks/cloudLab"); console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /@pulumi\\/(aws|command)\\//.test(k)).length))`], { cwd: repo, encoding: "utf8" });
    expect(out.trim()).toBe("0");
  });
});

describe("cloud-lab's config, refused before anything is declared", () => {
  it.each<[string, Record<string, string>, RegExp]>([
    ["no sshCidr", {}, /bridgelab:sshCidr is missing: give the address SSH may come from/],
    ["SSH open to the world", { sshCidr: "0.0.0.0/0" }, /bridgelab:sshCidr "0\.0\.0\.0\/0" opens SSH to the whole internet/],
    ["a CIDR with host bits", { sshCidr: "203.0.113.7/24" }, /bridgelab:sshCidr "203\.0\.113\.7\/24" has host bits set: the security group wants the network, 203\.0\.113\.0\/24/],
    ["not a CIDR", { sshCidr: "my-laptop" }, /bridgelab:sshCidr "my-laptop" is not an IPv4 CIDR/],
    ["an unknown os", { sshCidr: "203.0.113.7/32", os: "ubuntu" }, /bridgelab:os "ubuntu" is not an image cloud-lab boots: choose "debian-12" or "al2023"/],
    ["an arm64 type", { sshCidr: "203.0.113.7/32", instanceType: "t4g.small" }, /bridgelab:instanceType "t4g\.small" is an arm64 \(Graviton\) type/],
    ["a dynamic host port", { sshCidr: "203.0.113.7/32", hostPort: "0" }, /bridgelab:hostPort 0 \(a dynamic port\) cannot be opened in the security group/],
    ["a subnet without its VPC", { sshCidr: "203.0.113.7/32", subnetId: "subnet-0123abcd" }, /bridgelab:vpcId and bridgelab:subnetId go together/],
  ])("%s", async (_what, cfg, rule) => {
    const before = registered.length;
    await expect(stack(cfg)).rejects.toThrow(CloudLabConfigError);
    await expect(stack(cfg)).rejects.toThrow(rule);
    expect(registered.length).toBe(before);
  });

  it("keys: the public half of a private key; a public key, an RSA host key or garbage refused without showing them", () => {
    expect(publicKeyOf(login.priv, "bridgelab:sshPrivateKey")).toBe(login.pub);
    expect(() => publicKeyOf(login.pub, "bridgelab:sshPrivateKey")).toThrow(/bridgelab:sshPrivateKey \(secret, not shown\) is a public key/);
    const rsa = keygen("rsa-host", "rsa");
    expect(publicKeyOf(rsa.priv, "bridgelab:sshPrivateKey")).toBe(rsa.pub);
    expect(() => publicKeyOf(rsa.priv, "bridgelab:hostPrivateKey", { type: "ssh-ed25519" })).toThrow(/bridgelab:hostPrivateKey \(secret, not shown\) is a ssh-rsa key: it must be ssh-ed25519/);
    let message = "";
    try {
      publicKeyOf("-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n", "bridgelab:hostPrivateKey");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^cloud-lab: bridgelab:hostPrivateKey \(secret, not shown\) is not a private key ssh2 can read/);
    expect(message).not.toContain("not-a-key");
  });
});

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}
