import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runEngine, EngineSummary } from "../../engine/engine";
import { ownerOf } from "../../provider/host/owner";
import { HostSnapshot, hostSnapshot, meaningfulIptables } from "../support/hostSnapshot";
import { makeSandbox } from "../support/sandboxFixture";

// Issue 12, point 7: several stacks of one program side by side on one sandbox host, with the same
// resource names (bridge, egress, ns0, veth0, server, web: the PortPublish NAME "web" in every
// stack), and one stack joining another's bridge by name. Each step is followed by a snapshot of
// the host; every line of it is attributed to the stack whose up added it, so a destroy can be
// shown to remove exactly its own lines and nobody else's.
//
//   alpha  prefix sa, bridge sabr 172.18.0.0/16, a dynamic port
//   beta   prefix sb, bridge sbbr 172.19.0.0/16, a dynamic port
//   gamma  prefix sc, no bridge: joins sabr (addresses .100, .101), a dynamic port
//   delta  prefix sa, like alpha: every kernel name taken by alpha
const fixture = path.resolve(__dirname, "..", "fixtures", "shared-host");
const PROJECT = "shared-host";
let box: Awaited<ReturnType<typeof makeSandbox>>;
let tmp: string;

beforeAll(async () => {
  box = await makeSandbox("e2e-shared");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-shared-"));
});
afterAll(async () => {
  await box?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface StackDef {
  stack: string;
  config: Record<string, string>;
}
const alpha: StackDef = { stack: "alpha", config: { prefix: "sa", subnet: "172.18.0.0/16" } };
const beta: StackDef = { stack: "beta", config: { prefix: "sb", subnet: "172.19.0.0/16" } };
const gamma: StackDef = { stack: "gamma", config: { prefix: "sc", subnet: "172.18.0.0/16", bridge: "sabr" } };
const delta: StackDef = { stack: "delta", config: { prefix: "sa", subnet: "172.18.0.0/16" } };

function engine(def: StackDef, op: "up" | "refresh" | "destroy"): Promise<EngineSummary> {
  return runEngine({
    op,
    dir: fixture,
    stack: def.stack,
    stateFile: path.join(tmp, `${def.stack}.json`),
    config: { sandbox: box.name, ...def.config },
    skipPreview: op === "up",
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
  });
}
function ok(s: EngineSummary): EngineSummary {
  if (!s.ok) throw new Error(`engine ${s.op} failed: ${s.error}\n${s.logs.join("\n")}`);
  return s;
}
const dynamicOps = (s: EngineSummary) => s.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => `${r.name}:${r.op}`).sort();

/** The owner id bridgelab tags a resource's objects with. */
const ownerId = (stack: string, kind: string, name: string) => ownerOf(`urn:pulumi:${stack}::${PROJECT}::pulumi-nodejs:dynamic/bridgelab:${kind}::${name}`)!.id;

/** One line per fact of the host; the kernel's own numbers are left out by hostSnapshot. */
function lines(s: HostSnapshot): string[] {
  const out: string[] = [...s.netns.map((n) => `netns ${n}`)];
  for (const [ns, st] of Object.entries(s.stacks)) {
    const where = ns || "host";
    out.push(...st.links.map((l) => `link ${where} ${l}`), ...st.addrs.map((a) => `addr ${where} ${a}`), ...st.routes.map((r) => `route ${where} ${r}`));
  }
  out.push(...s.iptables.map((l) => `ipt ${l}`), ...s.files.map((f) => `file ${f}`));
  return out.sort();
}

/**
 * Shared by every owner, there while any needs them: the BRIDGELAB chains and their jumps (tag
 * "bridgelab:v1" alone), iptables' table headers, bridgelab's own directories and its dynamic-port
 * cursor (/run/bridgelab/ports/tcp, gone with the host's last mapping). Sysctls are compared
 * only at the end, with the empty host.
 */
function shared(l: string): boolean {
  return (
    /^ipt (\*|COMMIT|:)/.test(l) ||
    /^ipt .*--comment "?bridgelab:v1"? /.test(l) ||
    /^ipt -A BRIDGELAB-ISOLATION-STAGE-[12] -j RETURN$/.test(l) ||
    /^file \/run\/bridgelab(\/owners|\/proc)?$/.test(l) ||
    // Where dynamic allocation goes on from (Docker's order round the range): one per protocol, for every owner.
    /^file \/run\/bridgelab\/ports(\/\w+)?$/.test(l) ||
    /^file \/run\/bridgelab\/[^/]*\.lock$/.test(l)
  );
}
const minus = (a: string[], b: string[]) => {
  const bs = new Set(b);
  return a.filter((x) => !bs.has(x));
};
const owned = (all: string[]) => all.filter((l) => !shared(l));

let empty: HostSnapshot;
const own: Record<string, string[]> = {};
const snap = async () => hostSnapshot(box.sh);

/** Up a stack and attribute to it every line its up added; nothing of anybody else may change. */
async function upAndAttribute(def: StackDef): Promise<EngineSummary> {
  const before = lines(await snap());
  const s = ok(await engine(def, "up"));
  const after = lines(await snap());
  expect(owned(minus(before, after))).toEqual([]);
  own[def.stack] = owned(minus(after, before));
  expect(own[def.stack].length).toBeGreaterThan(10);
  return s;
}

/** The host holds exactly the empty host's lines plus those of `stacks` (and the shared plumbing). */
async function expectHostHolds(stacks: string[], extra: string[] = []): Promise<void> {
  const now = owned(lines(await snap()));
  const want = [...owned(lines(empty)), ...stacks.flatMap((s) => own[s]), ...extra].sort();
  expect(now).toEqual(want);
}

/** alpha's bridge as the host shows it: the link, its address, its routes, its owner's record. */
function bridgeLinesOfAlpha(): string[] {
  return own.alpha.filter((l) => /^(link|addr) host sabr /.test(l) || /^route host .* dev=sabr$/.test(l) || l === `file /run/bridgelab/owners/${ownerId("alpha", "Bridge", "bridge")}`);
}

async function curlOutside(port: number): Promise<string> {
  return (await box.outside(`curl -s --max-time 5 http://198.51.100.2:${port}/ || echo unreachable`)).trim();
}

describe("three stacks of one program on one host, same resource names (issue 12)", () => {
  const ports: Record<string, number> = {};

  test("alpha, then gamma joining alpha's bridge, then beta: each up adds only its own objects", async () => {
    empty = await snap();
    for (const def of [alpha, gamma, beta]) {
      const s = await upAndAttribute(def);
      ports[def.stack] = Number(s.outputs.hostPortAllocated);
    }
    // Every object an up added carries that stack's names, addresses or owner ids.
    expect(own.alpha).toEqual(expect.arrayContaining([expect.stringMatching(/^link host sabr bridge .*alias=bridgelab:v2:bridge:/), `file /run/bridgelab/owners/${ownerId("alpha", "Bridge", "bridge")}`]));
    expect(own.gamma.some((l) => /^link host sabr /.test(l))).toBe(false);
    expect(own.gamma).toEqual(expect.arrayContaining([expect.stringMatching(/^link host scv0 veth .*master=sabr alias=bridgelab:v2:veth:/)]));
    for (const st of ["alpha", "beta", "gamma"]) {
      expect(own[st].filter((l) => l.includes(`bridgelab:v2:publish:web:${ownerId(st, "PortPublish", "web")}`)).length).toBeGreaterThan(0);
    }
    // Dynamic ports: each stack's mapping is its own, none adopted from another.
    expect(new Set(Object.values(ports)).size).toBe(3);
    for (const def of [alpha, beta, gamma]) expect(await curlOutside(ports[def.stack])).toBe(`hello from ${def.config.prefix}`);
  });

  test("delta, with alpha's kernel names, is refused naming alpha's resources, and leaves the host as it was", async () => {
    const before = lines(await snap());
    const s = await engine(delta, "up");
    expect(s.ok).toBe(false);
    expect(s.error).toMatch(/already exists and belongs to resource "\w+" \(pulumi-nodejs:dynamic\/bridgelab:\w+\) of stack "alpha", project "shared-host"/);
    ok(await engine(delta, "destroy"));
    expect(lines(await snap())).toEqual(before);
  });

  test("a refresh of each stack finds its own objects as recorded, none taken from another", async () => {
    for (const def of [alpha, beta, gamma]) {
      const s = ok(await engine(def, "refresh"));
      expect(s.resources.filter((r) => r.op === "gone" || (r.changes?.length ?? 0) > 0).map((r) => `${r.name}: ${r.op} ${r.changes ?? ""}`)).toEqual([]);
    }
  });

  test("alpha's destroy keeps its bridge while gamma's veths are on it, naming them; everything else of alpha goes, nobody else's", async () => {
    const s = await engine(alpha, "destroy");
    expect(s.ok).toBe(false);
    expect(s.error).toMatch(/bridge "sabr" on sandbox:\S+ still has ports of other stacks: "scv0" of resource "veth0" \(pulumi-nodejs:dynamic\/bridgelab:VethPair\) of stack "gamma", project "shared-host"; "scv1" of resource "veth1"/);
    expect(dynamicOps(s)).toEqual(["bridge:delete", "egress:delete", "ns0:delete", "ns1:delete", "server:delete", "veth0:delete", "veth1:delete", "web:delete"]);
    const bridgeLines = bridgeLinesOfAlpha();
    expect(bridgeLines.length).toBeGreaterThanOrEqual(4);
    await expectHostHolds(["beta", "gamma"], bridgeLines);
    expect(await curlOutside(ports.gamma)).toBe("hello from sc");
    expect(await curlOutside(ports.beta)).toBe("hello from sb");
  });

  test("gamma's destroy, then alpha's again: each removes exactly its own; beta's lab still answers", async () => {
    ok(await engine(gamma, "destroy"));
    const bridgeLines = bridgeLinesOfAlpha();
    await expectHostHolds(["beta"], bridgeLines);
    ok(await engine(alpha, "destroy"));
    await expectHostHolds(["beta"]);
    expect(await curlOutside(ports.beta)).toBe("hello from sb");
    ok(await engine(beta, "destroy"));
    await expectHostHolds([]);
    // Nothing is left, shared plumbing included: the host is as it was before the first up.
    const end = await snap();
    expect(meaningfulIptables(end.iptables)).toEqual(meaningfulIptables(empty.iptables));
    expect(end.sysctls).toEqual(empty.sysctls);
    expect(end.netns).toEqual([]);
    expect(end.files.filter((f) => /^\/run\/bridgelab\/(owners|proc|ports)\/./.test(f))).toEqual([]);
  });

  test("the other way round: beta, alpha, gamma up; destroyed gamma (the last), beta (the middle), alpha (the first), each exactly its own", async () => {
    for (const def of [beta, alpha, gamma]) await upAndAttribute(def);
    ok(await engine(gamma, "destroy"));
    await expectHostHolds(["alpha", "beta"]);
    ok(await engine(beta, "refresh"));
    ok(await engine(beta, "destroy"));
    await expectHostHolds(["alpha"]);
    const s = ok(await engine(alpha, "refresh"));
    expect(s.resources.filter((r) => r.op === "gone" || (r.changes?.length ?? 0) > 0)).toEqual([]);
    ok(await engine(alpha, "destroy"));
    await expectHostHolds([]);
    const end = await snap();
    expect(meaningfulIptables(end.iptables)).toEqual(meaningfulIptables(empty.iptables));
    expect(end.sysctls).toEqual(empty.sysctls);
  });
});
