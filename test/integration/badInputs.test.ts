import type * as pulumi from "@pulumi/pulumi";
import { checkPortMapping } from "../../provider/ecs/portRules";
import { bridgeProvider } from "../../provider/resources/bridge";
import { bridgeIsolationProvider } from "../../provider/resources/bridgeIsolation";
import { connectionIdentity } from "../../provider/resources/contract";
import { egressProvider } from "../../provider/resources/egress";
import { labProbeProvider } from "../../provider/resources/labProbe";
import { netNamespaceProvider } from "../../provider/resources/netNamespace";
import { forgetPortClaims } from "../../provider/resources/portClaims";
import { portPublishProvider } from "../../provider/resources/portPublish";
import { processProvider } from "../../provider/resources/process";
import { vethPairProvider } from "../../provider/resources/vethPair";
import { releaseHostSubnet } from "../../provider/resources/vethRoutes";
import { BASE, BadInput, ECS_RESERVED_CASES, MARKER_PREFIX, ResourceKind, badInputs } from "../fixtures/bad-inputs";
import { useHost } from "../support/hosts";
import * as fs from "node:fs";

// Issue 7, part 1: every invalid input of the catalogue is rejected at check with a reason
// naming the field, the value (as JSON) and the rule; the few only the host can judge (a
// namespace that does not exist) fail at create before any change. The sandbox host's links,
// namespaces, rules and state directory are the same before and after, and no payload ran.
const PROVIDERS: Record<ResourceKind, pulumi.dynamic.ResourceProvider> = {
  NetNamespace: netNamespaceProvider,
  Bridge: bridgeProvider,
  VethPair: vethPairProvider,
  Egress: egressProvider,
  BridgeIsolation: bridgeIsolationProvider,
  PortPublish: portPublishProvider,
  Process: processProvider,
  LabProbe: labProbeProvider,
};

const CASES: BadInput[] = badInputs();
// Claims between resources of one program: a second static port, an overlapping host route.
const CLAIM_CASES = 2;
const CREATE_CASES = 3;
const TOTAL = CASES.length + ECS_RESERVED_CASES.length + CLAIM_CASES + CREATE_CASES;

describe(`bad-input catalogue: ${TOTAL} invalid inputs rejected, sandbox host unchanged`, () => {
  const host = useHost("sandbox", "it-bad");
  let before = "";

  const snapshot = async () =>
    host.sh(
      [
        "ip -j link | sed -E 's/\"(stats64|stats)\":\\{[^}]*\\}//g'",
        "echo ---; ip netns list",
        "echo ---; iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//'",
        "echo ---; ls -la /run/bridgelab 2>&1 | grep -v '^total' || true",
      ].join("\n"),
    );
  const markers = async () => (await host.sh(`ls ${MARKER_PREFIX}* 2>/dev/null || true`)).trim();

  beforeAll(async () => {
    before = await snapshot();
  });

  const check = (r: ResourceKind, news: Record<string, unknown>) =>
    PROVIDERS[r].check!({}, { connection: host.connection, ...BASE[r], ...news });

  it.each(CASES.map((c) => [`${c.resource}: ${c.what}`, c] as const))("%s", async (_label, c) => {
    const { failures } = await check(c.resource, c.news);
    const mine = failures!.filter((f) => f.property === c.property);
    expect(mine.length).toBeGreaterThan(0);
    const reasons = mine.map((f) => f.reason).join("\n");
    expect(reasons).toContain(JSON.stringify(c.value));
    expect(reasons).toMatch(c.rule);
  });

  it("each valid base passes check (the failures above are the bad field's alone)", async () => {
    for (const r of Object.keys(BASE) as ResourceKind[]) {
      const { failures } = await check(r, {});
      expect([r, failures]).toEqual([r, []]);
    }
    forgetPortClaims(connectionIdentity(host.connection));
    releaseHostSubnet(connectionIdentity(host.connection), "vh1");
  });

  it.each(ECS_RESERVED_CASES)("ECS: reserved host port %i is refused by provider/ecs's checkPortMapping", (port) => {
    const { mapping, problems } = checkPortMapping("containers[0].portMappings[0]", { containerPort: 80, hostPort: port });
    expect(mapping).toBeUndefined();
    expect(problems.join("\n")).toMatch(new RegExp(`containers\\[0\\]\\.portMappings\\[0\\]\\.hostPort ${port} is reserved`));
  });

  it("claims: a second PortPublish on the same static host port, a second VethPair host route in an overlapping subnet", async () => {
    const id = connectionIdentity(host.connection);
    try {
      expect((await check("PortPublish", { name: "first", hostPort: 8088 })).failures).toEqual([]);
      const dup = (await check("PortPublish", { name: "second", hostPort: 8088 })).failures!;
      expect(dup).toEqual([expect.objectContaining({ property: "hostPort", reason: expect.stringMatching(/0\.0\.0\.0:8088 failed: port is already allocated .*"first"/) })]);

      const veth = { netns: undefined, peerIfname: undefined, bridge: undefined, gateway: undefined, address: undefined };
      expect((await check("VethPair", { ...veth, name: "va", hostAddress: "10.77.0.1/24" })).failures).toEqual([]);
      const clash = (await check("VethPair", { ...veth, name: "vb", hostAddress: "10.77.0.129/25" })).failures!;
      expect(clash).toEqual([expect.objectContaining({ property: "hostAddress", reason: expect.stringMatching(/hostAddress "10\.77\.0\.129\/25" .*overlaps hostAddress "10\.77\.0\.1\/24" of veth "va"/) })]);
    } finally {
      forgetPortClaims(id);
      releaseHostSubnet(id, "va");
      releaseHostSubnet(id, "vb");
    }
  });

  describe("only the host can tell: a namespace that does not exist fails at create, nothing changed", () => {
    const gone = "bl-no-such-ns";
    const create = async (r: ResourceKind, news: Record<string, unknown>) => {
      const { inputs, failures } = await check(r, news);
      expect(failures).toEqual([]);
      return PROVIDERS[r].create(inputs);
    };
    it("VethPair into a missing netns", async () => {
      const err = await create("VethPair", { name: "vbad0", netns: gone, bridge: undefined, address: "172.31.0.10/16", gateway: "172.31.0.1" }).then(
        () => undefined,
        (e: Error) => e,
      );
      releaseHostSubnet(connectionIdentity(host.connection), "vbad0");
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toContain(gone);
      expect(err!.message).toMatch(/netns|namespace/i);
    });
    it("Process in a missing netns", async () => {
      const err = await create("Process", { name: "pbad0", netns: gone }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toContain(gone);
      expect(err!.message).toMatch(/netns|namespace/i);
    });
  });

  it("afterwards: links, namespaces, iptables and /run/bridgelab are unchanged, and no payload created its file", async () => {
    expect(await snapshot()).toEqual(before);
    expect(await markers()).toBe("");
    expect(fs.readdirSync("/tmp").filter((f) => `/tmp/${f}`.startsWith(MARKER_PREFIX))).toEqual([]);
  });

  it("last: a Process whose workdir does not exist (carrying a shell payload, passed as argv) fails at create and undoes its pid and log; the payload never runs", async () => {
    const workdir = `/nonexistent/$(touch ${MARKER_PREFIX}wd)`;
    const err = await PROVIDERS.Process.create((await check("Process", { name: "pbad1", workdir })).inputs).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain("pbad1");
    expect(await markers()).toBe("");
    expect((await host.sh("ls -A /run/bridgelab/proc")).trim()).toBe("");
  });
});
