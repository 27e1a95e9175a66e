import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineSummary, runEngine } from "../../engine/engine";
import { HostSnapshot, hostSnapshot, meaningfulIptables } from "../support/hostSnapshot";
import { argvOf, live, processes } from "../support/procTable";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";
import { changed, curlFromOutside, expectNothingLeft, expectVerified, ops } from "./labHarness";

// Stack cloud-lab (issue 14) through the bundled engine, with the EC2 instance and the
// remote.Command preparation replaced through config by a sandbox host that has what the lab
// needs and a real sshd (`sshd -i` over a proxy command: no port opened). The bridgelab part
// is the program's own: netns-lab over SSH with the host key pinned, its LabProbe, the outputs
// (the public address and the lab's URL); up, an unchanged up (no remote call), destroy, and
// the sandbox host as it was. Then the same stack making an instance: the engine refuses
// @pulumi/aws and @pulumi/command at preview, saying what to run instead, and nothing changes.
const repo = path.resolve(__dirname, "..", "..");
let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let tmp: string;
let before: HostSnapshot;
const pids: number[] = [];

beforeAll(async () => {
  box = await makeSandbox("cl-e2e");
  // A stand-in sudo (sudo -n only, logged): the lab runs with sudo: true, as on the instance (admin, ec2-user).
  sshd = await startSshd(box.name, { fakeSudo: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-cloud-lab-e2e-"));
  before = await hostSnapshot(box.sh);
});
afterAll(async () => {
  await sshd?.stop();
  await box?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const stateFile = () => path.join(tmp, "state.json");
const trace = () => path.join(tmp, "trace.jsonl");
const traced = () => (fs.existsSync(trace()) ? fs.readFileSync(trace(), "utf8").trim().split("\n").filter(Boolean) : []);

function engine(op: "up" | "destroy" | "preview", o: { config?: Record<string, string>; secretConfig?: Record<string, string>; state?: string } = {}): Promise<EngineSummary> {
  return runEngine({
    op,
    dir: path.join(repo, "labs"),
    stack: "cloud-lab",
    stateFile: o.state ?? stateFile(),
    config: o.config ?? { publicAddress: "198.51.100.2" },
    // The sandbox host stands in for the prepared instance: the connection the program would
    // have made from the instance, a secret (the key), the host key pinned.
    secretConfig: o.secretConfig ?? { connection: JSON.stringify(sshd.connection({ sudo: true, dialAttempts: 3 })) },
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", BRIDGELAB_TRACE_FILE: trace() },
  });
}
const ok = (s: EngineSummary) => {
  if (!s.ok) throw new Error(`engine ${s.op} failed: ${s.error}\n${s.logs.slice(-30).join("\n")}`);
  return s;
};

/**
 * A snapshot without what a lab may leave on purpose, as the soak allows: tables iptables-save
 * lists once they were used (empty, built-in chains only) and bridgelab's empty directories.
 */
function kept(h: HostSnapshot): HostSnapshot {
  return {
    ...h,
    iptables: meaningfulIptables(h.iptables),
    files: h.files.filter((f) => !["/run/bridgelab", "/run/bridgelab/owners", "/run/bridgelab/proc"].includes(f)),
  };
}

/** sshd sessions of this test's sshd still alive (each connection is an `sshd -i` of its own). */
const sessions = () => processes().filter((p) => live(p) && argvOf(p.pid).includes(path.join(sshd.dir, "sshd_config"))).length;

describe("stack cloud-lab on a sandbox host over SSH, through the bundled engine", () => {
  it("up: netns-lab over SSH (sudo) with the host key pinned, verified, the URL answering from outside", async () => {
    const s = ok(await engine("up"));
    expect(ops(s)).toEqual({
      "Bridge:br0": "create",
      "Egress:br0": "create",
      "NetNamespace:netns0": "create",
      "NetNamespace:netns1": "create",
      "VethPair:netns0-ceth0": "create",
      "VethPair:netns1-ceth1": "create",
      "Process:netns0": "create",
      "PortPublish:netns0-tcp-5000": "create",
      "LabProbe:verification": "create",
    });
    // No resource of another provider: the instance and the preparation are replaced by config.
    expect(s.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("command:"))).toEqual([]);
    const matrix = expectVerified(s);
    expect(matrix.map((r) => r.name)).toEqual(expect.arrayContaining(["http:host-to-published-netns0:5000", "ping:netns1-to-egress"]));
    expect(s.outputs).toMatchObject({ publicIp: "198.51.100.2", url: "http://198.51.100.2:5000/", host: { kind: "given", connection: "ssh" } });
    // What a user's browser does with the URL: from the sandbox's outside, its stand-in internet.
    expect(await curlFromOutside(box, "198.51.100.2:5000")).toBe("hello from netns0");
    // Every script went over SSH, and the key is in the state only as ciphertext.
    expect(traced().length).toBeGreaterThan(0);
    expect(traced().every((l) => l.includes('"host":"ssh:root@'))).toBe(true);
    const sudo = fs.readFileSync(path.join(sshd.dir, "sudo.log"), "utf8").trim().split("\n");
    expect(sudo.length).toBe(traced().length);
    const state = fs.readFileSync(stateFile(), "utf8");
    expect(state).not.toContain("PRIVATE KEY");
    expect(state).toContain("ciphertext");
    pids.push((s.outputs.containers as Record<string, { pid: number }>).netns0.pid);
  });

  it("an unchanged up changes nothing and makes no remote call", async () => {
    const calls = traced().length;
    const s = ok(await engine("up"));
    expect(changed(s)).toEqual({});
    expect(traced().length).toBe(calls);
  });

  it("destroy leaves the sandbox host as it was: no namespace, link, rule, process or sshd session", async () => {
    ok(await engine("destroy"));
    await expectNothingLeft({ box, stateFile } as never, pids);
    expect(kept(await hostSnapshot(box.sh))).toEqual(kept(before));
    expect(sessions()).toBe(0);
  });
});

describe("stack cloud-lab making an instance, through the bundled engine", () => {
  it("fails at preview naming @pulumi/aws or @pulumi/command's plugin and the Pulumi CLI; nothing is created", async () => {
    const state = path.join(tmp, "ec2.json");
    const calls = traced().length;
    const keys = Object.fromEntries(["sshPrivateKey", "hostPrivateKey"].map((k) => [k, sshd.keys.privateKey]));
    const s = await engine("up", { config: { sshCidr: "203.0.113.7/32" }, secretConfig: keys, state });
    expect(s).toMatchObject({ ok: false, previewFailed: true });
    expect(s.error).toMatch(
      /^the preview failed, so nothing was changed:\n.*(aws:ssm\/getParameter:getParameter is a function \(data source\)|aws:ec2\/\w+:\w+ is a resource) of the Pulumi package "aws" \(npm @pulumi\/aws \d+\.\d+\.\d+\): it needs that package's provider plugin, pulumi-resource-aws v\d+\.\d+\.\d+, .*`bridgelab engine` runs only dynamic providers .* Run this program with the Pulumi CLI \(`pulumi up`\)/s,
    );
    expect(fs.existsSync(state)).toBe(false);
    expect(traced().length).toBe(calls);
  });
});
