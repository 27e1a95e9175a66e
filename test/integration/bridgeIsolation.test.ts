import { iccTag, isolationTag } from "../../provider/host/isolationScripts";
import { ownerOf } from "../../provider/host/owner";
import { bridgeIsolationProvider, BridgeIsolationInputs, BridgeIsolationOutputs } from "../../provider/resources/bridgeIsolation";
import { egressProvider, EgressInputs } from "../../provider/resources/egress";
import { TRANSPORTS, useHost } from "../support/hosts";
import { addBridge, addContainer, iptablesSave, reaches } from "../support/handmadeContainers";

// BridgeIsolation against a real kernel, over both transports. Two hand-made bridges with
// containers, forwarding on (set by hand: routing between bridges is what isolation cuts):
//
//   br-a 172.20.0.1/16: a1 .10, a2 .11        br-b 172.21.0.1/16: b1 .10
//   d1: eth0 172.20.0.20 on br-a and eth1 172.21.0.20 on br-b (seed 001's backend on two networks)
const A1 = "172.20.0.10";
const A2 = "172.20.0.11";
const B1 = "172.21.0.10";
const GW_A = "172.20.0.1";

/** The owner the BridgeIsolation class gives the isolation of BRIDGE in STACK (its URN; resources named after their bridge here). */
const urn = (bridge: string, stack = "dev") => `urn:pulumi:${stack}::lab::pulumi-nodejs:dynamic/bridgelab:BridgeIsolation::${bridge}`;
const iso = (bridge: string, stack = "dev") => isolationTag(bridge, ownerOf(urn(bridge, stack)));
const icc = (bridge: string, stack = "dev") => iccTag(bridge, ownerOf(urn(bridge, stack)));

describe.each(TRANSPORTS)("BridgeIsolation over %s", (kind) => {
  const host = useHost(kind, "it-iso");

  const ours = async () => (await host.sh("iptables-save")).split("\n").filter((l) => l.includes("BRIDGELAB"));
  /** The owner records on the host: the URNs in /run/bridgelab/owners. */
  const records = async () => (await host.sh("cat /run/bridgelab/owners/* 2>/dev/null || true")).split("\n").filter(Boolean).sort();
  const save = () => host.sh("iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'");
  /** Checked inputs of the isolation of BRIDGE in stack dev, as the class gives them (an owner); `owner: undefined` for 0.1's state. */
  async function checked(news: Record<string, unknown>): Promise<BridgeIsolationInputs> {
    const r = await bridgeIsolationProvider.check!({}, { connection: host.connection, owner: urn(String(news.bridge)), ...news });
    expect(r.failures).toEqual([]);
    return r.inputs as BridgeIsolationInputs;
  }

  beforeAll(async () => {
    await addBridge(host, "br-a", "172.20.0.1/16");
    await addBridge(host, "br-b", "172.21.0.1/16");
    await addContainer(host, "a1", [{ bridge: "br-a", cidr: `${A1}/16`, gateway: GW_A }]);
    await addContainer(host, "a2", [{ bridge: "br-a", cidr: `${A2}/16`, gateway: GW_A }]);
    await addContainer(host, "b1", [{ bridge: "br-b", cidr: `${B1}/16`, gateway: "172.21.0.1" }]);
    await addContainer(host, "d1", [
      { bridge: "br-a", cidr: "172.20.0.20/16" },
      { bridge: "br-b", cidr: "172.21.0.20/16" },
    ]);
    await host.sh("sysctl -qw net.ipv4.ip_forward=1");
  });
  // Containers, bridges and the sysctl go with the sandbox host (useHost's afterAll).

  it("isolated bridges cannot reach each other, a two-legged container reaches both, allowFrom opens one direction", async () => {
    expect(await reaches(host, "a1", B1)).toBe(true);
    expect(await reaches(host, "b1", A1)).toBe(true);

    const a = await bridgeIsolationProvider.create(await checked({ bridge: "br-a" }));
    const b = await bridgeIsolationProvider.create(await checked({ bridge: "br-b" }));
    expect(a.id).toBe("br-a");
    expect(a.outs).toMatchObject({ isolated: true, icc: true, allowFrom: [], missingRules: [] });
    expect(await iptablesSave(host, "filter")).toEqual([
      "*filter",
      ":INPUT ACCEPT [-]",
      ":FORWARD ACCEPT [-]",
      ":OUTPUT ACCEPT [-]",
      ":BRIDGELAB-FORWARD - [-]",
      ":BRIDGELAB-ISOLATION-STAGE-1 - [-]",
      ":BRIDGELAB-ISOLATION-STAGE-2 - [-]",
      '-A FORWARD -m comment --comment "bridgelab:v1" -j BRIDGELAB-FORWARD',
      '-A BRIDGELAB-FORWARD -m comment --comment "bridgelab:v1" -j BRIDGELAB-ISOLATION-STAGE-1',
      `-A BRIDGELAB-ISOLATION-STAGE-1 -i br-a ! -o br-a -m comment --comment "${iso("br-a")}" -j BRIDGELAB-ISOLATION-STAGE-2`,
      `-A BRIDGELAB-ISOLATION-STAGE-1 -i br-b ! -o br-b -m comment --comment "${iso("br-b")}" -j BRIDGELAB-ISOLATION-STAGE-2`,
      `-A BRIDGELAB-ISOLATION-STAGE-2 -o br-a -m comment --comment "${iso("br-a")}" -j DROP`,
      `-A BRIDGELAB-ISOLATION-STAGE-2 -o br-b -m comment --comment "${iso("br-b")}" -j DROP`,
      "COMMIT",
    ]);
    expect(iso("br-a")).toBe("bridgelab:v2:isolation:br-a:b96e2010");
    expect(await records()).toEqual([urn("br-a"), urn("br-b")]);
    expect(await reaches(host, "a1", B1)).toBe(false);
    expect(await reaches(host, "b1", A1)).toBe(false);
    expect(await reaches(host, "d1", A1)).toBe(true);
    expect(await reaches(host, "d1", B1)).toBe(true);
    expect(await reaches(host, "a1", A2)).toBe(true);
    expect(await bridgeIsolationProvider.read!(a.id, a.outs)).toEqual({ id: a.id, props: a.outs });

    // br-a lets br-b in: b1 opens to a1 (a1's replies come back), a1 still cannot open to b1.
    const open = await checked({ bridge: "br-a", allowFrom: ["br-b"] });
    expect(await bridgeIsolationProvider.diff!(a.id, a.outs, open)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const opened = (await bridgeIsolationProvider.update!(a.id, a.outs, open)).outs as BridgeIsolationOutputs;
    expect(opened.rules.slice(0, 2)).toEqual([
      `-A BRIDGELAB-ISOLATION-STAGE-1 -i br-a -o br-b -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "${iso("br-a")}" -j RETURN`,
      `-A BRIDGELAB-ISOLATION-STAGE-1 -i br-b -o br-a -m comment --comment "${iso("br-a")}" -j RETURN`,
    ]);
    expect(await reaches(host, "b1", A1)).toBe(true);
    expect(await reaches(host, "a1", B1)).toBe(false);

    // And closed again in place.
    const closed = (await bridgeIsolationProvider.update!(a.id, opened, await checked({ bridge: "br-a" }))).outs as BridgeIsolationOutputs;
    expect(closed.rules).toHaveLength(2);
    expect(await reaches(host, "b1", A1)).toBe(false);

    await bridgeIsolationProvider.delete!(a.id, closed);
    await bridgeIsolationProvider.delete!(b.id, b.outs as BridgeIsolationOutputs);
    expect(await ours()).toEqual([]);
    expect(await records()).toEqual([]);
    expect(await reaches(host, "a1", B1)).toBe(true);
    await expect(bridgeIsolationProvider.delete!(a.id, closed)).resolves.toBeUndefined();
  });

  it("icc=false blocks container↔container on one bridge; both still reach the gateway; bridge-nf-call-iptables is kept on", async () => {
    // Start from the switch off, to prove icc=false turns it on and delete puts it back.
    await host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=0");
    try {
      const inputs = await checked({ bridge: "br-a", isolated: false, icc: false });
      const { id, outs } = await bridgeIsolationProvider.create(inputs);
      expect(outs).toMatchObject({ bridgeNfCallIptables: "1", bridgeNfCallIptablesBefore: false, missingRules: [] });
      expect(outs.rules).toEqual([`-A BRIDGELAB-ISOLATION-STAGE-1 -i br-a -o br-a -m comment --comment "${icc("br-a")}" -j DROP`]);
      expect(await reaches(host, "a1", A2)).toBe(false);
      expect(await reaches(host, "a2", A1)).toBe(false);
      expect(await reaches(host, "a1", GW_A)).toBe(true);
      expect(await reaches(host, "a2", GW_A)).toBe(true);
      expect(await reaches(host, "a1", B1)).toBe(true); // not isolated: only icc

      // The switch turned off by hand: bridged frames skip iptables and the DROP does nothing.
      await host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=0");
      expect(await reaches(host, "a1", A2)).toBe(true);
      const drifted = (await bridgeIsolationProvider.read!(id, outs)).props as BridgeIsolationOutputs;
      expect(drifted).toMatchObject({ bridgeNfCallIptables: "0", bridgeNfCallIptablesBefore: false, missingRules: [] });
      expect((await bridgeIsolationProvider.diff!(id, drifted, inputs)).changes).toBe(true);
      const fixed = (await bridgeIsolationProvider.update!(id, drifted, inputs)).outs as BridgeIsolationOutputs;
      expect(fixed.bridgeNfCallIptables).toBe("1");
      expect(await reaches(host, "a1", A2)).toBe(false);

      await bridgeIsolationProvider.delete!(id, fixed);
      expect(await ours()).toEqual([]);
      expect((await host.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables")).trim()).toBe("0");
      expect(await reaches(host, "a1", A2)).toBe(true);
    } finally {
      await host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=1");
    }
  });

  it("a rule deleted by hand is drift, repaired in place; rules of another declaration are refused", async () => {
    const inputs = await checked({ bridge: "br-a" });
    const { id, outs } = await bridgeIsolationProvider.create(inputs);
    await host.sh(`iptables -D BRIDGELAB-ISOLATION-STAGE-2 -o br-a -m comment --comment ${iso("br-a")} -j DROP`);
    const drifted = (await bridgeIsolationProvider.read!(id, outs)).props as BridgeIsolationOutputs;
    expect(drifted.missingRules).toEqual([`iptables -w -t filter -A BRIDGELAB-ISOLATION-STAGE-2 -o br-a -m comment --comment ${iso("br-a")} -j DROP`]);
    expect((await bridgeIsolationProvider.diff!(id, drifted, inputs)).changes).toBe(true);
    const fixed = (await bridgeIsolationProvider.update!(id, drifted, inputs)).outs as BridgeIsolationOutputs;
    expect(fixed.missingRules).toEqual([]);

    // The same resource declared otherwise (its state lost) must not take these over.
    const before = await ours();
    await expect(bridgeIsolationProvider.create(await checked({ bridge: "br-a", isolated: false, icc: false }))).rejects.toThrow(
      /isolation of bridge "br-a" on .*: rules tagged for bridge "br-a" \(bridgelab:v2:isolation:br-a:b96e2010, this resource's own\) already exist and are not this declaration's:\n  -A BRIDGELAB-ISOLATION-STAGE-1 -i br-a ! -o br-a/,
    );
    expect(await ours()).toEqual(before);
    await bridgeIsolationProvider.delete!(id, fixed);
    expect(await ours()).toEqual([]);
  });

  it("with Egress, all created and deleted at once: the host lock loses no rule, isolated bridges still get out, nothing is left", async () => {
    const egress = async (bridge: string, subnet: string) =>
      (await egressProvider.check!({}, { connection: host.connection, name: bridge, bridge, subnet })).inputs as EgressInputs;
    const [ea, eb, ia, ib] = await Promise.all([
      egressProvider.create(await egress("br-a", "172.20.0.0/16")),
      egressProvider.create(await egress("br-b", "172.21.0.0/16")),
      bridgeIsolationProvider.create(await checked({ bridge: "br-a", icc: false })),
      bridgeIsolationProvider.create(await checked({ bridge: "br-b" })),
    ]);
    const tags = (await ours()).map((l) => /--comment "([^"]+)"/.exec(l)?.[1]).filter(Boolean);
    expect(tags.sort()).toEqual([
      ...["bridgelab:v1", "bridgelab:v1", "bridgelab:v1"], // the jumps from POSTROUTING, FORWARD and BRIDGELAB-FORWARD
      "bridgelab:v1:egress:br-a", // Egress without an owner here: state of 0.1, side by side with 0.2's
      "bridgelab:v1:egress:br-b",
      icc("br-a"),
      ...[iso("br-a"), iso("br-a")],
      ...[iso("br-b"), iso("br-b")],
    ].sort());
    expect(await reaches(host, "a1", "203.0.113.1")).toBe(true);
    expect(await reaches(host, "b1", "203.0.113.1")).toBe(true);
    expect(await reaches(host, "a1", B1)).toBe(false);
    expect(ea.outs.ipForwardBefore).toBe(true); // set by hand in beforeAll: never turned off by bridgelab

    await Promise.all([
      egressProvider.delete!(ea.id, ea.outs),
      egressProvider.delete!(eb.id, eb.outs),
      bridgeIsolationProvider.delete!(ia.id, ia.outs),
      bridgeIsolationProvider.delete!(ib.id, ib.outs),
    ]);
    expect(await ours()).toEqual([]);
    expect((await host.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables; ls /run/bridgelab.sysctl.* 2>/dev/null || true")).split("\n").filter(Boolean)).toEqual(["1", "1"]);
    expect(await records()).toEqual([]);
  });

  // Issue 12: two stacks of one program (dev and test) on one host, same resource names.
  describe("ownership: two stacks, one host", () => {
    const of = (stack: string, news: Record<string, unknown>) => checked({ owner: urn(String(news.bridge), stack), ...news });
    const bridgeNf = async () => (await host.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables")).trim();
    afterEach(async () => {
      expect(await ours()).toEqual([]);
      expect(await records()).toEqual([]);
    });

    it("two stacks isolating the same bridge: each its own rules; each delete removes exactly its own; icc's switch stays until the last icc=false of any stack goes", async () => {
      await host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=0");
      try {
        const before = await save();
        const test = await bridgeIsolationProvider.create(await of("test", { bridge: "br-a", icc: false }));
        const withTest = await save();
        const dev = await bridgeIsolationProvider.create(await of("dev", { bridge: "br-a", icc: false }));
        expect(dev.outs.rules.every((l: string) => l.includes(`"${iso("br-a")}"`) || l.includes(`"${icc("br-a")}"`))).toBe(true);
        expect(test.outs.rules.every((l: string) => l.includes(`"${iso("br-a", "test")}"`) || l.includes(`"${icc("br-a", "test")}"`))).toBe(true);
        expect([dev.outs.rules.length, test.outs.rules.length]).toEqual([3, 3]);
        expect(await records()).toEqual([urn("br-a", "dev"), urn("br-a", "test")].sort());
        expect(await bridgeIsolationProvider.read!("br-a", dev.outs)).toEqual({ id: "br-a", props: dev.outs });
        expect(await bridgeIsolationProvider.read!("br-a", test.outs)).toEqual({ id: "br-a", props: test.outs });

        // The second stack (dev) goes: the first one's fence and icc=false stay exactly as they were.
        await bridgeIsolationProvider.delete!("br-a", dev.outs);
        expect(await save()).toBe(withTest);
        expect(await records()).toEqual([urn("br-a", "test")]);
        expect(await bridgeNf()).toBe("1");
        expect(await reaches(host, "a1", A2)).toBe(false);
        await bridgeIsolationProvider.delete!("br-a", test.outs);
        expect(await save()).toBe(before);
        expect(await bridgeNf()).toBe("0");
      } finally {
        await host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=1");
      }
    });

    it("0.1's isolation is refused to a new owner naming 0.1, and re-tagged in place by its own stack's update", async () => {
      const old = await bridgeIsolationProvider.create(await checked({ bridge: "br-a", owner: undefined }));
      expect(old.outs.rules.every((l: string) => l.includes('"bridgelab:v1:isolation:br-a"'))).toBe(true);
      const before = await save();
      await expect(bridgeIsolationProvider.create(await of("test", { bridge: "br-a" }))).rejects.toThrow(
        /isolation of bridge "br-a" on \S+: an isolation of this bridge already exists and was made by bridgelab 0\.1 \(tag bridgelab:v1:isolation:br-a\), which did not record its owner; .*re-tags it as its own .*:\n {2}-A BRIDGELAB-ISOLATION-STAGE-1 -i br-a ! -o br-a /s,
      );
      expect(await save()).toBe(before);
      const news = await checked({ bridge: "br-a" });
      expect(await bridgeIsolationProvider.diff!("br-a", old.outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      const upd = (await bridgeIsolationProvider.update!("br-a", old.outs, news)).outs as BridgeIsolationOutputs;
      expect(upd).toMatchObject({ owner: urn("br-a"), missingRules: [] });
      expect(await save()).toBe(before.replace(/"bridgelab:v1:isolation:br-a"/g, `"${iso("br-a")}"`));
      expect(await records()).toEqual([urn("br-a")]);
      expect(await reaches(host, "a1", B1)).toBe(true); // br-b is not isolated: br-a's fence alone lets it through
      expect((await bridgeIsolationProvider.read!("br-a", old.outs)).props).toMatchObject({ rules: [] });
      await bridgeIsolationProvider.delete!("br-a", upd);
    });
  });
});
