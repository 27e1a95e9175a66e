import { egressCreateScript, egressDeleteScript, egressReadScript, egressRule, egressUpdateScript, EgressSpec } from "../../provider/host/egressScripts";
import { isolationCreateScript, isolationDeleteScript, isolationReadScript, isolationRules, isolationUpdateScript, IsolationSpec } from "../../provider/host/isolationScripts";
import { ownerOf } from "../../provider/host/owner";
import { ownedRuleArgs } from "../../provider/host/ruleSet";
import { checkIfnameList, checkNetworkCidr, checkRuleName } from "../../provider/host/validateNetfilter";
import { bridgeIsolationProvider } from "../../provider/resources/bridgeIsolation";
import { UNKNOWN } from "../../provider/resources/contract";
import { egressProvider } from "../../provider/resources/egress";
import { describeScriptFixtures } from "../support/scriptFixtures";

const lab = { kind: "sandbox", name: "lab" };
/** The owners fixtures name: Egress "lab" and BridgeIsolation "br-a" of stack dev, project lab. */
const EGRESS_URN = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:Egress::lab";
const ISOLATION_URN = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:BridgeIsolation::br-a";
const EG = ownerOf(EGRESS_URN)!;
const ISO = ownerOf(ISOLATION_URN)!;
const egress: EgressSpec = { name: "lab", bridge: "br0", subnet: "172.18.0.0/16", ipForward: true, owner: EG };
const fenced: IsolationSpec = { bridge: "br-a", isolated: true, icc: false, allowFrom: ["br-b"], owner: ISO };
// State of bridgelab 0.1: no owner, its v1 tags.
const { owner: _e, ...egressV1 } = egress;
const { owner: _f, ...fencedV1 } = fenced;

describeScriptFixtures("egress and isolation scripts match their fixtures", {
  "egress-create.sh": egressCreateScript(egress),
  "egress-create-outif-noforward.sh": egressCreateScript({ ...egress, outInterface: "eth0", ipForward: false }),
  "egress-create-v1.sh": egressCreateScript(egressV1),
  "egress-read.sh": egressReadScript(egress),
  "egress-update-outif.sh": egressUpdateScript(egress, { ...egress, outInterface: "eth0" }),
  // 0.1's rule taken over by its own stack under 0.2: re-tagged in place.
  "egress-update-retag-v1.sh": egressUpdateScript(egressV1, egress),
  "egress-delete.sh": egressDeleteScript(egress),
  "egress-delete-v1.sh": egressDeleteScript(egressV1),
  "isolation-create.sh": isolationCreateScript({ bridge: "br-a", isolated: true, icc: true, allowFrom: [], owner: ISO }),
  "isolation-create-icc-allow.sh": isolationCreateScript(fenced),
  "isolation-read.sh": isolationReadScript(fenced),
  "isolation-update-icc-on.sh": isolationUpdateScript(fenced, { ...fenced, icc: true, allowFrom: [] }),
  "isolation-update-retag-v1.sh": isolationUpdateScript(fencedV1, fenced),
  "isolation-delete.sh": isolationDeleteScript(fenced),
  "isolation-delete-v1.sh": isolationDeleteScript(fencedV1),
});

// Generated rules against literal argv, as the CNI portmap tests do: what reaches iptables.
describe("egress rule", () => {
  it("is seed 004's MASQUERADE in our chain, with our tag (naming its owner) before the target", () => {
    expect(EG.id).toBe("0276c64e");
    expect(ownedRuleArgs(egressRule(egress))).toEqual([
      "iptables", "-w", "-t", "nat", "-A", "BRIDGELAB-POSTROUTING",
      "-s", "172.18.0.0/16", "!", "-o", "br0",
      "-m", "comment", "--comment", "bridgelab:v2:egress:lab:0276c64e",
      "-j", "MASQUERADE",
    ]);
  });
  it("state of bridgelab 0.1 (no owner) keeps 0.1's tag", () => {
    expect(egressRule(egressV1).tag).toBe("bridgelab:v1:egress:lab");
  });
  it("with outInterface matches that interface instead of excluding the bridge (iptables takes one -o)", () => {
    expect(ownedRuleArgs(egressRule({ ...egress, outInterface: "eth0" }))).toEqual([
      "iptables", "-w", "-t", "nat", "-A", "BRIDGELAB-POSTROUTING",
      "-s", "172.18.0.0/16", "-o", "eth0",
      "-m", "comment", "--comment", "bridgelab:v2:egress:lab:0276c64e",
      "-j", "MASQUERADE",
    ]);
  });
});

describe("isolation rules", () => {
  it("isolated (the default): Docker's two stages, one rule each", () => {
    expect(isolationRules({ bridge: "br-a", isolated: true, icc: true, allowFrom: [] }).map(ownedRuleArgs)).toEqual([
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-ISOLATION-STAGE-1", "-i", "br-a", "!", "-o", "br-a", "-m", "comment", "--comment", "bridgelab:v1:isolation:br-a", "-j", "BRIDGELAB-ISOLATION-STAGE-2"],
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-ISOLATION-STAGE-2", "-o", "br-a", "-m", "comment", "--comment", "bridgelab:v1:isolation:br-a", "-j", "DROP"],
    ]);
  });
  it("allowFrom inserts the exceptions first; icc=false drops bridge-to-itself with its own tag", () => {
    expect(ISO.id).toBe("b96e2010");
    expect(isolationRules(fencedV1).map((r) => r.tag)).toEqual([...Array(4).fill("bridgelab:v1:isolation:br-a"), "bridgelab:v1:icc:br-a"]);
    expect(isolationRules(fenced).map(ownedRuleArgs)).toEqual([
      ["iptables", "-w", "-t", "filter", "-I", "BRIDGELAB-ISOLATION-STAGE-1", "-i", "br-b", "-o", "br-a", "-m", "comment", "--comment", "bridgelab:v2:isolation:br-a:b96e2010", "-j", "RETURN"],
      ["iptables", "-w", "-t", "filter", "-I", "BRIDGELAB-ISOLATION-STAGE-1", "-i", "br-a", "-o", "br-b", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-m", "comment", "--comment", "bridgelab:v2:isolation:br-a:b96e2010", "-j", "RETURN"],
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-ISOLATION-STAGE-1", "-i", "br-a", "!", "-o", "br-a", "-m", "comment", "--comment", "bridgelab:v2:isolation:br-a:b96e2010", "-j", "BRIDGELAB-ISOLATION-STAGE-2"],
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-ISOLATION-STAGE-2", "-o", "br-a", "-m", "comment", "--comment", "bridgelab:v2:isolation:br-a:b96e2010", "-j", "DROP"],
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-ISOLATION-STAGE-1", "-i", "br-a", "-o", "br-a", "-m", "comment", "--comment", "bridgelab:v2:icc:br-a:b96e2010", "-j", "DROP"],
    ]);
  });
  it("not isolated, icc on: no rules at all", () => {
    expect(isolationRules({ bridge: "br-a", isolated: false, icc: true, allowFrom: [] })).toEqual([]);
  });
});

describe("checkNetworkCidr", () => {
  it.each(["172.18.0.0/16", "10.0.0.0/8", "192.168.1.128/25", "203.0.113.7/32"])("accepts %j", (c) => expect(checkNetworkCidr("subnet", c)).toBeUndefined());
  it.each([
    ["172.18.0.1/16", /^subnet "172.18.0.1\/16" is not a network address: the host bits after \/16 must be zero; did you mean "172.18.0.0\/16"\?/],
    ["172.18.0.0", /^subnet "172.18.0.0" is not an IPv4 network in CIDR form like "172.18.0.0\/16"/],
    ["fd00::/64", /^subnet "fd00::\/64" is an IPv6 network; only IPv4/],
    ["172.18.0.0/33", /^subnet "172.18.0.0\/33" has prefix \/33; it must be 1–32/],
    ["172.18.0.0/0", /has prefix \/0/],
    ["0172.18.0.0/16", /four decimal parts/],
    ["172.18.0.0/16; reboot", /not an IPv4 network/],
    [16, /^subnet must be a string/],
  ])("rejects %j", (c, msg) => expect(checkNetworkCidr("subnet", c)).toMatch(msg as RegExp));
});

describe("checkRuleName and checkIfnameList", () => {
  it("rule names are tag-safe", () => {
    expect(checkRuleName("name", "lab-egress_1.a")).toBeUndefined();
    expect(checkRuleName("name", "lab egress")).toMatch(/^name "lab egress" may hold only letters.*bridgelab:v2:KIND:NAME:OWNERID/);
    expect(checkRuleName("name", "x".repeat(65))).toMatch(/1–64 characters/);
  });
  it("interface lists name the index, the value and the rule", () => {
    expect(checkIfnameList("allowFrom", ["br-b", "br-c"])).toBeUndefined();
    expect(checkIfnameList("allowFrom", ["br-b", "br c"])).toMatch(/^allowFrom\[1\] "br c" may hold only/);
    expect(checkIfnameList("allowFrom", ["br-b", "br-b"])).toMatch(/^allowFrom\[1\] "br-b" is listed twice/);
    expect(checkIfnameList("allowFrom", "br-b")).toMatch(/^allowFrom must be a list of interface names, got "br-b"/);
  });
});

describe("Egress check and diff", () => {
  it("fills defaults and normalises nothing it does not need to", async () => {
    const r = await egressProvider.check!({}, { connection: lab, name: "lab", bridge: "br0", subnet: "172.18.0.0/16" });
    expect(r).toEqual({ inputs: { connection: lab, name: "lab", bridge: "br0", subnet: "172.18.0.0/16", ipForward: true }, failures: [] });
  });
  it("names the field, the value and the rule", async () => {
    const r = await egressProvider.check!({}, { connection: lab, name: "my lab", bridge: "a-very-long-bridge", subnet: "172.18.0.1/16", outInterface: "eth 0", ipForward: "yes" });
    expect(r.failures).toEqual([
      { property: "name", reason: expect.stringMatching(/^name "my lab" may hold only/) },
      { property: "bridge", reason: expect.stringMatching(/^bridge "a-very-long-bridge" is 18 bytes long/) },
      { property: "subnet", reason: expect.stringMatching(/^subnet "172.18.0.1\/16" is not a network address.*"172.18.0.0\/16"/) },
      { property: "ipForward", reason: 'ipForward must be true or false, got "yes"' },
      { property: "outInterface", reason: expect.stringMatching(/^outInterface "eth 0" may hold only/) },
    ]);
  });
  it("refuses the bridge as outInterface, naming both fields", async () => {
    const r = await egressProvider.check!({}, { connection: lab, name: "lab", bridge: "br0", subnet: "172.18.0.0/16", outInterface: "br0" });
    expect(r.failures).toEqual([{ property: "outInterface", reason: expect.stringMatching(/^outInterface "br0" is the bridge itself \(bridge "br0"\)/) }]);
  });
  it("skips unknown values at preview", async () => {
    const r = await egressProvider.check!({}, { connection: lab, name: "lab", bridge: UNKNOWN, subnet: UNKNOWN, outInterface: "eth0" });
    expect(r.failures).toEqual([]);
  });

  const olds = { ...egressV1, connection: lab, rules: ["-A ..."], missingRules: [], ipForwardOn: true, ipForwardBefore: false, forwardPolicy: "ACCEPT" };
  const news = { ...egressV1, connection: lab };
  it("no change, no drift → nothing to do", async () => {
    expect(await egressProvider.diff!("lab", olds, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });
  it("outInterface, ipForward, subnet and bridge change in place", async () => {
    for (const change of [{ outInterface: "eth0" }, { ipForward: false }, { subnet: "172.19.0.0/16" }, { bridge: "br1" }]) {
      expect(await egressProvider.diff!("lab", olds, { ...news, ...change })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    }
  });
  it("a new name replaces, the new one created first; another host deletes first (it may be this machine reached another way)", async () => {
    expect(await egressProvider.diff!("lab", olds, { ...news, name: "lab2" })).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
    expect(await egressProvider.diff!("lab", olds, { ...news, connection: { kind: "sandbox", name: "lab2" } })).toEqual({ changes: true, replaces: ["connection"], deleteBeforeReplace: true });
  });
  it("the owner changes in place: 0.1's state (no owner) is re-tagged by its stack's update; check keeps a URN and refuses anything else", async () => {
    expect(await egressProvider.diff!("lab", olds, { ...news, owner: EGRESS_URN })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await egressProvider.diff!("lab", { ...olds, owner: EGRESS_URN }, { ...news, owner: EGRESS_URN })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect((await egressProvider.check!({}, { connection: lab, name: "lab", bridge: "br0", subnet: "172.18.0.0/16", owner: EGRESS_URN })).inputs.owner).toBe(EGRESS_URN);
    expect((await egressProvider.check!({}, { connection: lab, name: "lab", bridge: "br0", subnet: "172.18.0.0/16", owner: "lab" })).failures).toEqual([
      { property: "owner", reason: expect.stringMatching(/^owner "lab" must be a Pulumi URN/) },
    ]);
  });
  it("a rule deleted by hand, or forwarding turned off, is drift", async () => {
    expect((await egressProvider.diff!("lab", { ...olds, missingRules: ["iptables ..."] }, news)).changes).toBe(true);
    expect((await egressProvider.diff!("lab", { ...olds, ipForwardOn: false }, news)).changes).toBe(true);
    // Not declared: forwarding off is not ours to fix.
    expect((await egressProvider.diff!("lab", { ...olds, ipForward: false, ipForwardOn: false }, { ...news, ipForward: false })).changes).toBe(false);
  });
});

describe("BridgeIsolation check and diff", () => {
  it("defaults: isolated, icc on, no exceptions; allowFrom sorted", async () => {
    expect((await bridgeIsolationProvider.check!({}, { connection: lab, bridge: "br-a" })).inputs).toEqual({ connection: lab, bridge: "br-a", isolated: true, icc: true, allowFrom: [] });
    expect((await bridgeIsolationProvider.check!({}, { connection: lab, bridge: "br-a", allowFrom: ["br-c", "br-b"] })).inputs.allowFrom).toEqual(["br-b", "br-c"]);
  });
  it("names the field, the value and the rule", async () => {
    const r = await bridgeIsolationProvider.check!({}, { connection: lab, bridge: "br/a", isolated: "no", icc: 0, allowFrom: ["br-b", "-x"] });
    expect(r.failures).toEqual([
      { property: "bridge", reason: expect.stringMatching(/^bridge "br\/a" may hold only/) },
      { property: "isolated", reason: 'isolated must be true or false, got "no"' },
      { property: "icc", reason: "icc must be true or false, got 0" },
      { property: "allowFrom", reason: expect.stringMatching(/^allowFrom\[1\] "-x" may hold only .* must not start with '-'/) },
    ]);
  });
  it("refuses the bridge itself in allowFrom, and allowFrom without isolation, naming both fields", async () => {
    const self = await bridgeIsolationProvider.check!({}, { connection: lab, bridge: "br-a", allowFrom: ["br-a"] });
    expect(self.failures).toEqual([{ property: "allowFrom", reason: expect.stringMatching(/^allowFrom\[0\] "br-a" is the bridge itself; .* icc/) }]);
    const open = await bridgeIsolationProvider.check!({}, { connection: lab, bridge: "br-a", isolated: false, allowFrom: ["br-b"] });
    expect(open.failures).toEqual([{ property: "allowFrom", reason: expect.stringMatching(/^allowFrom \["br-b"\] has no effect with isolated false/) }]);
  });

  const olds = { ...fencedV1, connection: lab, rules: [], missingRules: [], bridgeNfCallIptables: "1", bridgeNfCallIptablesBefore: true };
  const news = { ...fencedV1, connection: lab };
  it("isolated, icc and allowFrom change in place; the bridge replaces, new one first", async () => {
    expect(await bridgeIsolationProvider.diff!("br-a", olds, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    for (const change of [{ isolated: false, allowFrom: [] }, { icc: true }, { allowFrom: [] }]) {
      expect(await bridgeIsolationProvider.diff!("br-a", olds, { ...news, ...change })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    }
    expect(await bridgeIsolationProvider.diff!("br-a", olds, { ...news, bridge: "br-c" })).toEqual({ changes: true, replaces: ["bridge"], deleteBeforeReplace: false });
    expect(await bridgeIsolationProvider.diff!("br-a", olds, { ...news, connection: { kind: "ssh", host: "lab" } })).toEqual({ changes: true, replaces: ["connection"], deleteBeforeReplace: true });
    expect(await bridgeIsolationProvider.diff!("br-a", olds, { ...news, owner: ISOLATION_URN })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
  it("missing rules, or bridge-nf-call-iptables off under icc=false, are drift", async () => {
    expect((await bridgeIsolationProvider.diff!("br-a", { ...olds, missingRules: ["iptables ..."] }, news)).changes).toBe(true);
    expect((await bridgeIsolationProvider.diff!("br-a", { ...olds, bridgeNfCallIptables: "0" }, news)).changes).toBe(true);
    expect((await bridgeIsolationProvider.diff!("br-a", { ...olds, icc: true, bridgeNfCallIptables: "0" }, { ...news, icc: true })).changes).toBe(false);
  });
});
