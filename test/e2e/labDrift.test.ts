import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createSandbox, deleteSandbox, sandboxExists } from "../../provider/sandbox/sandboxHost";
import { SandboxTransport } from "../../provider/transport/sandbox";
import { runChecked } from "../../provider/transport/types";
import { note } from "../support/notes";

// Issue 12, point 2: `bridgelab up` sees the host as it is. The main command, as a newcomer runs
// it, on a sandbox host of its own (bundled engine): the lab is brought up; then the host is
// wiped (the sandbox host deleted and created again empty, as a reboot leaves it), changed by hand
// (a veth deleted, the bridge's MTU changed, the DNAT chain flushed, the server killed), and
// broken in a way the lab cannot repair (a DROP rule of the host's own in FORWARD). Every time
// `bridgelab up` refreshes first: it rebuilds and repairs what the lab declares and prints a
// verification probed during that run, or fails naming each broken path; never exit 0 with a
// dead path. `bridgelab verify` probes without changing anything; `bridgelab refresh` records.
const run = promisify(execFile);
const repo = path.resolve(__dirname, "..", "..");
const bin = path.join(repo, "bin", "bridgelab.js");
const sandbox = `drift-${process.pid}`;
let stateDir: string;
let tmp: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function cli(...args: string[]): Promise<Ran> {
  const started = Date.now();
  try {
    const r = await run(process.execPath, [bin, ...args], { cwd: repo, encoding: "utf8", maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr, ms: Date.now() - started };
  }
}

const lab = () => ["--engine", "bundled", "--sandbox", sandbox, "--state-dir", stateDir];
const up = () => cli("up", ...lab());
const verify = (...more: string[]) => cli("verify", ...lab(), ...more);
const sh = async (script: string) => (await runChecked(new SandboxTransport(sandbox), script, "test")).stdout;
const state = () => JSON.parse(fs.readFileSync(path.join(stateDir, "netns-lab.json"), "utf8")) as { resources: Array<{ urn: string; outputs: Record<string, unknown> }> };

/** The paths a LabProbe named as not as expected in up's error ("  NAME: from → target …"). */
function brokenNamed(text: string): string[] {
  return [...text.matchAll(/^ {2}((?:ping|http|tcp):\S+): \S+ → /gm)].map((m) => m[1]);
}

/** Every verification header an up or verify printed: [good, total]. */
function verified(text: string): Array<[number, number]> {
  return [...text.matchAll(/^verification: (\d+)\/(\d+) paths as expected/gm)].map((m) => [Number(m[1]), Number(m[2])]);
}

function expectUpVerified(r: Ran, how: RegExp): void {
  if (r.code !== 0) throw new Error(`bridgelab up exited ${r.code}\n${r.stderr}`);
  expect(r.stderr).toMatch(how);
  const v = verified(r.stderr);
  expect(v.length).toBe(1);
  expect(v[0][0]).toBe(v[0][1]);
  expect(r.stderr).toContain(`lab "netns-lab" on sandbox host "${sandbox}" is up.`);
}

const refreshFirst = /info: refreshing stack netns-lab \(pass 1 of 3\)/;
const byUpdate = /^\(paths probed on the host by this run's update, after its changes\)$/m;
const byRefresh = /^\(paths probed on the host by this run's refresh \(nothing needed changing\)\)$/m;
const again = /^\(the update changed the lab after this run's refresh probed it, so its paths were probed again just now\)$/m;
const timings: Record<string, number[]> = {};
const timed = (what: string, r: Ran) => (timings[what] ??= []).push(r.ms);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-drift-"));
  stateDir = path.join(tmp, "state");
});
afterAll(async () => {
  if (sandboxExists(sandbox)) await cli("down", ...lab());
  await deleteSandbox(sandbox);
  fs.rmSync(tmp, { recursive: true, force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  note(`bridgelab up refreshing first (labDrift, wall times): ${Object.entries(timings).map(([k, xs]) => `${k} ${median(xs)} ms (median of ${xs.length})`).join("; ")}`);
});

describe("bridgelab up sees the host as it is (netns-lab on a sandbox host of its own)", () => {
  it("up builds the lab, verify finds it as declared, and an up with nothing to change shows the refresh's probe", async () => {
    const first = await up();
    expectUpVerified(first, byUpdate);
    timed("first up", first);
    const v = await verify();
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^resources: \d+ as recorded$/m);
    expect(v.stdout).toContain(`lab "netns-lab" on sandbox host "${sandbox}" is as declared, every path as expected.`);
    timed("verify", v);
    const same = await up();
    expectUpVerified(same, byRefresh);
    expect(same.stderr).toMatch(refreshFirst);
    expect(same.stderr).toMatch(/^Resources:\n {2}\d+ unchanged$/m);
    timed("unchanged up", same);
  });

  it("(a) the host wiped (sandbox host deleted and created again empty): verify fails naming every broken path; up rebuilds the lab and verifies it now", async () => {
    await deleteSandbox(sandbox);
    await createSandbox(sandbox);
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^ {2}- {2}gone {5}bridgelab:NetNamespace +netns0$/m);
    expect(v.stdout).toMatch(/^ {2}- {2}gone {5}bridgelab:Bridge +br0$/m);
    expect(v.stdout).toMatch(/^verification: 1\/14 paths as expected/m); // only the path that must be blocked
    expect(v.stdout).toContain("verification: 13 of 14 paths not as expected:");
    expect(brokenNamed(v.stdout)).toEqual(expect.arrayContaining(["ping:netns0-to-netns1-on-br0", "ping:netns0-to-egress", "http:outside-to-netns0:5000"]));
    expect(brokenNamed(v.stdout)).toHaveLength(13);
    // verify changed nothing: still nothing on the host, the state still lists everything.
    expect(await sh("ip -br link show type bridge; ip netns list")).toBe("");
    expect(state().resources.some((r) => r.urn.endsWith("NetNamespace::netns0"))).toBe(true);

    const r = await up();
    expectUpVerified(r, byUpdate);
    timed("up after a wipe", r);
    expect(r.stderr).toMatch(/^Refreshed:$/m);
    expect(r.stderr).toMatch(/^ {2}- {2}gone {5}bridgelab:VethPair +netns0-ceth0$/m);
    expect(r.stderr).toMatch(/^ {2}\+ {2}create {3}bridgelab:NetNamespace +netns0$/m);
    expect(r.stderr).toMatch(/^ {2}\+ {2}create {3}bridgelab:Process +netns0$/m);
    expect(await sh("ip -br link show type bridge")).toMatch(/^br0 /m);
    expect(await sh("ip netns list")).toMatch(/^netns1\b/m);
    expect((await verify("--probes-only")).code).toBe(0);
  });

  it("(b) hand-made drift of each kind — a veth deleted, the bridge MTU changed, the DNAT chain flushed, the server killed: up repairs all of it and verifies", async () => {
    await sh(
      [
        "ip link del veth1",
        "ip link set br0 mtu 1400",
        "iptables -t nat -F BRIDGELAB-DNAT",
        // The published server, by the pid its Process recorded (first word of the pid file).
        'kill "$(cut -d" " -f1 /run/bridgelab/proc/netns0.pid)"',
      ].join("\n"),
    );
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^ {2}- {2}gone {5}bridgelab:VethPair +netns1-ceth1$/m);
    expect(v.stdout).toMatch(/^ {2}~ {2}drift {4}bridgelab:Bridge +br0 +\[.*mtu.*\]$/m);
    expect(v.stdout).toMatch(/^ {2}~ {2}drift {4}bridgelab:PortPublish +netns0-tcp-5000 +\[.*rules.*\]$/m);
    expect(v.stdout).toMatch(/^ {2}- {2}gone {5}bridgelab:Process +netns0$/m);
    expect(brokenNamed(v.stdout)).toEqual(expect.arrayContaining(["ping:netns1-to-egress", "http:outside-to-netns0:5000", "http:host-to-netns0:5000"]));

    const r = await up();
    expectUpVerified(r, byUpdate);
    timed("up repairing drift", r);
    expect(r.stderr).toMatch(/^ {2}\+ {2}create {3}bridgelab:VethPair +netns1-ceth1$/m);
    expect(r.stderr).toMatch(/^ {2}~ {2}update {3}bridgelab:Bridge +br0 +\[.*mtu.*\]$/m);
    expect(r.stderr).toMatch(/^ {2}~ {2}update {3}bridgelab:PortPublish +netns0-tcp-5000/m);
    expect(r.stderr).toMatch(/^ {2}\+ {2}create {3}bridgelab:Process +netns0$/m);
    expect(await sh("cat /sys/class/net/br0/mtu")).toBe("1500\n");
    expect(await sh("ip -br link show veth1")).toMatch(/^veth1@/);
    expect(await sh("iptables -t nat -S BRIDGELAB-DNAT")).toMatch(/--dport 5000 .*-j DNAT --to-destination 172\.18\.0\.10:5000/);
  });

  it("drift that breaks no path (the bridge MTU alone): up repairs it and probes again after the repair, since no LabProbe ran in the update", async () => {
    await sh("ip link set br0 mtu 1400");
    const r = await up();
    expectUpVerified(r, again);
    expect(r.stderr).toMatch(/^ {2}~ {2}update {3}bridgelab:Bridge +br0 +\[.*mtu.*\]$/m);
    expect(r.stderr).not.toMatch(/update {3}bridgelab:LabProbe/);
    expect(await sh("cat /sys/class/net/br0/mtu")).toBe("1500\n");
  });

  it("bridgelab refresh records a deleted veth in the state without changing the host; the next up builds it again", async () => {
    await sh("ip link del veth0");
    const r = await cli("refresh", ...lab());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ {2}- {2}gone {5}bridgelab:VethPair +netns0-ceth0$/m);
    expect(state().resources.some((x) => x.urn.endsWith("VethPair::netns0-ceth0"))).toBe(false);
    expect(await sh("ip -br link show veth0 2>&1 || true")).toMatch(/does not exist/);
    const fixed = await up();
    expectUpVerified(fixed, byUpdate);
    expect(fixed.stderr).toMatch(/^ {2}\+ {2}create {3}bridgelab:VethPair +netns0-ceth0$/m);
  });

  it("(c) a path the lab cannot repair (a DROP rule of the host's own in FORWARD): up exits 1 naming each broken path, every time, until the host is fixed", async () => {
    await sh("iptables -I FORWARD -s 172.18.0.0/16 -m comment --comment drift-test -j DROP");
    for (let i = 0; i < 2; i++) {
      const r = await up();
      timed("up failing on a broken path", r);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^ {2}~ {2}update {3}bridgelab:LabProbe +verification .*FAILED$/m);
      const m = /lab verification on sandbox:\S+: (\d+) of 14 paths not as expected:/.exec(r.stderr);
      expect(m).not.toBeNull();
      const named = brokenNamed(r.stderr);
      expect(named).toHaveLength(Number(m![1]));
      expect(named).toEqual(expect.arrayContaining(["ping:netns0-to-egress", "ping:netns1-to-egress", "http:outside-to-netns0:5000"]));
      expect(r.stderr).not.toContain("is up.");
      expect(r.stderr).toContain("bridgelab up failed (bundled engine");
    }
    const v = await verify();
    expect(v.code).toBe(1);
    expect(brokenNamed(v.stdout)).toEqual(expect.arrayContaining(["ping:netns0-to-egress", "http:outside-to-netns0:5000"]));
    // The rule is the host's, not the lab's: up left it in place.
    expect(await sh("iptables -S FORWARD")).toContain("drift-test");

    await sh("iptables -D FORWARD -s 172.18.0.0/16 -m comment --comment drift-test -j DROP");
    const fixed = await up();
    expectUpVerified(fixed, byRefresh);
  });

  it("down takes it away with the sandbox host", async () => {
    const r = await cli("down", ...lab());
    expect(r.code).toBe(0);
    expect(sandboxExists(sandbox)).toBe(false);
  });
});
