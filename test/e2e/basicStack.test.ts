import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runEngine, EngineSummary } from "../../engine/engine";
import { parseIpAddrJson, parseIpLinkJson } from "../../provider/host/ipJson";
import { makeSandbox } from "../support/sandboxFixture";

// The real path end to end: the stack program (stacks/, stack "basic") runs under the real
// @pulumi/pulumi runner, its resources go through the real dynamic-provider plugin, and the
// kernel of a sandbox host is checked from outside after every step.
const repo = path.resolve(__dirname, "..", "..");
let box: Awaited<ReturnType<typeof makeSandbox>>;
let tmp: string;
let trace: string;

beforeAll(async () => {
  box = await makeSandbox("e2e-basic");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-e2e-"));
  trace = path.join(tmp, "trace.jsonl");
});
afterAll(async () => {
  await box?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function engine(op: "up" | "preview" | "refresh" | "destroy", config: Record<string, string> = {}): Promise<EngineSummary> {
  return runEngine({
    op,
    dir: path.join(repo, "labs"),
    stack: "basic",
    stateFile: path.join(tmp, "state.json"),
    config: { sandbox: box.name, ...config },
    env: { BRIDGELAB_TRACE_FILE: trace, PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
  });
}

/** Remote runs made since the last call. */
function remoteCalls(): string[] {
  if (!fs.existsSync(trace)) return [];
  const lines = fs.readFileSync(trace, "utf8").split("\n").filter(Boolean);
  fs.writeFileSync(trace, "");
  return lines;
}

const ops = (s: EngineSummary) => Object.fromEntries(s.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => [r.name, r.op]));
const link = async (name: string) => parseIpLinkJson(await box.sh(`ip -j -d link show dev ${name} 2>/dev/null || echo '[]'`))[0];
const netnsList = async () => (await box.sh("ip netns list")).trim();

function ok(s: EngineSummary): EngineSummary {
  if (!s.ok) throw new Error(`engine ${s.op} failed: ${s.error}\n${s.logs.join("\n")}`);
  return s;
}

describe("stack basic through the test engine and the real plugin", () => {
  it("up → kernel state matches, with typed tokens", async () => {
    const s = ok(await engine("up"));
    expect(ops(s)).toEqual({ netns: "create", bridge: "create" });
    expect(s.resources.map((r) => r.type)).toEqual(expect.arrayContaining(["pulumi-nodejs:dynamic/bridgelab:Bridge", "pulumi-nodejs:dynamic/bridgelab:NetNamespace"]));
    const br = await link("br0");
    expect(br).toMatchObject({ kind: "bridge", mtu: 1500, ifalias: expect.stringMatching(/^bridgelab:v2:bridge:[0-9a-f]{8}$/) });
    expect(br.flags).toContain("UP");
    const [a] = parseIpAddrJson(await box.sh("ip -j addr show dev br0"));
    expect(a.addrs.filter((x) => x.family === "inet").map((x) => `${x.local}/${x.prefixlen}`)).toEqual(["172.18.0.1/16"]);
    expect(await netnsList()).toMatch(/^netns0/);
    expect(s.outputs.bridge).toMatchObject({ name: "br0", ifindex: br.ifindex, mac: br.address, subnet: "172.18.0.0/16", mtu: 1500 });
    expect(s.outputs.netns).toMatchObject({ name: "netns0", path: "/run/netns/netns0" });
    // One round trip per create, after the one check of the host that precedes a run's first change.
    const calls = remoteCalls().map((l) => JSON.parse(l).script as string);
    expect(calls).toHaveLength(3);
    expect(calls[0]).toBe("echo '@@bridgelab about'");
  });

  it("a second up changes nothing and makes no remote call", async () => {
    const s = ok(await engine("up"));
    expect(ops(s)).toEqual({ netns: "same", bridge: "same" });
    for (const r of s.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))) expect(r.providerCalls).toEqual(["Check", "Diff"]);
    expect(remoteCalls()).toEqual([]);
  });

  it("preview of an MTU change says update and changes nothing", async () => {
    const s = ok(await engine("preview", { mtu: "1400" }));
    expect(ops(s)).toEqual({ netns: "same", bridge: "update" });
    expect(s.resources.find((r) => r.name === "bridge")!.changes).toEqual(["mtu"]);
    expect((await link("br0")).mtu).toBe(1500);
    expect(remoteCalls()).toEqual([]);
  });

  it("an MTU change updates in place (same ifindex)", async () => {
    const before = await link("br0");
    const s = ok(await engine("up", { mtu: "1400" }));
    expect(ops(s)).toEqual({ netns: "same", bridge: "update" });
    const after = await link("br0");
    expect(after.mtu).toBe(1400);
    expect(after.ifindex).toBe(before.ifindex);
    expect(remoteCalls()).toHaveLength(2); // the run's check of the host, then the update
  });

  it("refresh notices drift made by hand; the next up puts it back", async () => {
    await box.sh("ip link set dev br0 mtu 1300");
    const r = ok(await engine("refresh", { mtu: "1400" }));
    expect(r.resources.find((x) => x.name === "bridge")).toMatchObject({ op: "refresh", changes: ["mtu"] });
    const u = ok(await engine("up", { mtu: "1400" }));
    expect(ops(u)).toEqual({ netns: "same", bridge: "update" });
    expect((await link("br0")).mtu).toBe(1400);
  });

  it("refresh after the namespace was deleted by hand drops it; up recreates it", async () => {
    await box.sh("ip netns del netns0");
    const r = ok(await engine("refresh", { mtu: "1400" }));
    expect(r.resources.find((x) => x.name === "netns")!.op).toBe("gone");
    const u = ok(await engine("up", { mtu: "1400" }));
    expect(ops(u)).toEqual({ netns: "create", bridge: "same" });
    expect(await netnsList()).toMatch(/^netns0/);
  });

  it("renaming the bridge with a new address replaces it: the new one made first, the old one deleted after", async () => {
    remoteCalls();
    const s = ok(await engine("up", { mtu: "1400", bridgeName: "br1", bridgeAddress: "172.19.0.1/16" }));
    expect(ops(s)).toEqual({ netns: "same", bridge: "replace" });
    expect(await link("br0")).toBeUndefined();
    expect(await link("br1")).toMatchObject({ kind: "bridge", mtu: 1400 });
    const calls = remoteCalls().map((l) => JSON.parse(l).script as string);
    // The trace keeps each script's first line: the create's test for br1, the delete's (its ownership test, then the ports of other stacks) for br0.
    const created = calls.findIndex((c) => c.startsWith("if ip link show dev br1"));
    const deleted = calls.findIndex((c) => c.startsWith("if ip -j link show dev br0 ") && c.includes("busy="));
    expect(created).toBeGreaterThanOrEqual(0);
    expect(deleted).toBeGreaterThan(created);
  });

  it("a replacement that cannot be made leaves the old bridge as it was", async () => {
    // A link named br2 that is not a bridge: the new bridge cannot be made, and br1 stays.
    await box.sh("ip link add br2 type veth peer name br2p");
    const before = await link("br1");
    const s = await engine("up", { mtu: "1400", bridgeName: "br2", bridgeAddress: "172.20.0.1/16" });
    expect(s.ok).toBe(false);
    expect(s.error).toContain('"br2" already exists but is not a bridge');
    expect(await link("br1")).toMatchObject({ ifindex: before.ifindex, mtu: 1400 });
    // Its owner record is the new bridge's too (one owner): still there.
    expect((await box.sh("cat /run/bridgelab/owners/*")).trim()).toMatch(/::bridge$/m);
    await box.sh("ip link del br2");
    expect(ops(ok(await engine("up", { mtu: "1400", bridgeName: "br1", bridgeAddress: "172.19.0.1/16" })))).toEqual({ netns: "same", bridge: "same" });
  });

  it("renaming the bridge but keeping its address deletes the old one first (two bridges cannot hold one subnet)", async () => {
    remoteCalls();
    const s = ok(await engine("up", { mtu: "1400", bridgeName: "br3", bridgeAddress: "172.19.0.1/16" }));
    expect(ops(s)).toEqual({ netns: "same", bridge: "replace" });
    expect(await link("br1")).toBeUndefined();
    const calls = remoteCalls().map((l) => JSON.parse(l).script as string);
    const deleted = calls.findIndex((c) => c.startsWith("if ip -j link show dev br1 ") && c.includes("busy="));
    const created = calls.findIndex((c) => c.startsWith("if ip link show dev br3"));
    expect(deleted).toBeGreaterThanOrEqual(0);
    expect(created).toBeGreaterThan(deleted);
  });

  it("destroy leaves nothing behind", async () => {
    const s = ok(await engine("destroy", { bridgeName: "br3", bridgeAddress: "172.19.0.1/16" }));
    expect(ops(s)).toEqual({ netns: "delete", bridge: "delete" });
    expect(await link("br3")).toBeUndefined();
    expect((await box.sh("ls /run/bridgelab/owners/ 2>/dev/null || true")).trim()).toBe("");
    expect(await netnsList()).toBe("");
    const links = parseIpLinkJson(await box.sh("ip -j link")).map((l) => l.ifname).sort();
    expect(links).toEqual(["eth0", "lo"]);
    const state = JSON.parse(fs.readFileSync(path.join(tmp, "state.json"), "utf8"));
    expect(state.resources.filter((r: { custom: boolean }) => r.custom)).toEqual([]);
  });
});
