import { egressTag } from "../../provider/host/egressScripts";
import { ownerOf } from "../../provider/host/owner";
import { bridgeProvider, BridgeOutputs } from "../../provider/resources/bridge";
import { egressProvider, EgressInputs, EgressOutputs } from "../../provider/resources/egress";
import { TRANSPORTS, useHost } from "../support/hosts";
import { addBridge, addContainer, iptablesSave, reaches } from "../support/handmadeContainers";

// Egress against a real kernel, over both transports: a Bridge (the resource) with a
// hand-made container on it; the stand-in internet 203.0.113.1 lies behind the sandbox's
// outside, which has no route back to 172.18.0.0/16, so only MASQUERADE gets replies home.
const INTERNET = "203.0.113.1";
/** The owner the Egress class gives NAME of STACK (its URN), and the tag of its rule. */
const urn = (name: string, stack = "dev") => `urn:pulumi:${stack}::lab::pulumi-nodejs:dynamic/bridgelab:Egress::${name}`;
const tagOf = (name: string, stack = "dev") => egressTag(name, ownerOf(urn(name, stack)));
const LAB = tagOf("lab"); // bridgelab:v2:egress:lab:0276c64e
const SEED_RULE = `-A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 ! -o br0 -m comment --comment "${LAB}" -j MASQUERADE`;
const JUMP = '-A POSTROUTING -m comment --comment "bridgelab:v1" -j BRIDGELAB-POSTROUTING';

describe.each(TRANSPORTS)("Egress over %s", (kind) => {
  const host = useHost(kind, "it-egress");
  let br0: BridgeOutputs;

  const ipForward = async () => (await host.sh("cat /proc/sys/net/ipv4/ip_forward")).trim();
  const ours = async () => (await host.sh("iptables-save")).split("\n").filter((l) => l.includes("BRIDGELAB"));
  /** The owner records on the host: the URNs in /run/bridgelab/owners. */
  const records = async () => (await host.sh("cat /run/bridgelab/owners/* 2>/dev/null || true")).split("\n").filter(Boolean).sort();
  const save = () => host.sh("iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'");
  /** Checked inputs of Egress NAME of stack dev, as the class gives them (an owner); `owner: undefined` for 0.1's state. */
  async function checked(news: Record<string, unknown>): Promise<EgressInputs> {
    const r = await egressProvider.check!({}, { connection: host.connection, owner: urn(String(news.name)), ...news });
    expect(r.failures).toEqual([]);
    return r.inputs as EgressInputs;
  }

  beforeAll(async () => {
    const b = await bridgeProvider.check!({}, { connection: host.connection, name: "br0", address: "172.18.0.1/16" });
    br0 = (await bridgeProvider.create(b.inputs)).outs as BridgeOutputs;
    await addContainer(host, "c1", [{ bridge: "br0", cidr: "172.18.0.10/16", gateway: "172.18.0.1" }]);
  });
  // The container and the bridge go with the sandbox host (useHost's afterAll).

  it("the container gets out only while the Egress exists; the rule is the seed's, in our chain; delete leaves nothing", async () => {
    expect(await ipForward()).toBe("0");
    expect(await reaches(host, "c1", INTERNET)).toBe(false);

    const inputs = await checked({ name: "lab", bridge: "br0", subnet: br0.subnet });
    const { id, outs } = await egressProvider.create(inputs);
    expect(id).toBe("lab");
    expect(outs).toEqual({
      ...inputs,
      rules: [SEED_RULE],
      missingRules: [],
      ipForwardOn: true,
      ipForwardBefore: false,
      forwardPolicy: "ACCEPT",
    });
    expect(await ipForward()).toBe("1");
    expect(await iptablesSave(host, "nat")).toEqual([
      "*nat",
      ":PREROUTING ACCEPT [-]",
      ":INPUT ACCEPT [-]",
      ":OUTPUT ACCEPT [-]",
      ":POSTROUTING ACCEPT [-]",
      ":BRIDGELAB-POSTROUTING - [-]",
      JUMP,
      SEED_RULE,
      "COMMIT",
    ]);
    expect(await reaches(host, "c1", INTERNET)).toBe(true);
    expect(await records()).toEqual([urn("lab")]);

    // No drift: read reports what create returned.
    expect(await egressProvider.read!(id, outs)).toEqual({ id, props: outs });

    await egressProvider.delete!(id, outs as EgressOutputs);
    expect(await ours()).toEqual([]);
    expect(await records()).toEqual([]);
    expect(await ipForward()).toBe("0");
    expect(await host.sh("ls /run/bridgelab.sysctl.* 2>/dev/null || true")).toBe("");
    expect(await reaches(host, "c1", INTERNET)).toBe(false);
    // Already gone: success, and nothing changes.
    await expect(egressProvider.delete!(id, outs as EgressOutputs)).resolves.toBeUndefined();
    expect(await ours()).toEqual([]);
  });

  it("a rule deleted by hand and forwarding turned off show as drift; update repairs both in place", async () => {
    const inputs = await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16" });
    const { id, outs } = await egressProvider.create(inputs);
    try {
      await host.sh(`iptables -t nat -D BRIDGELAB-POSTROUTING -s 172.18.0.0/16 ! -o br0 -m comment --comment ${LAB} -j MASQUERADE`);
      expect(await reaches(host, "c1", INTERNET)).toBe(false);
      const drifted = (await egressProvider.read!(id, outs)).props as EgressOutputs;
      expect(drifted).toMatchObject({
        rules: [],
        missingRules: [`iptables -w -t nat -A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 '!' -o br0 -m comment --comment ${LAB} -j MASQUERADE`],
      });
      expect(await egressProvider.diff!(id, drifted, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });

      await host.sh("sysctl -qw net.ipv4.ip_forward=0");
      const off = (await egressProvider.read!(id, drifted)).props as EgressOutputs;
      expect(off.ipForwardOn).toBe(false);
      expect(off.ipForwardBefore).toBe(false);

      const fixed = (await egressProvider.update!(id, off, inputs)).outs as EgressOutputs;
      expect(fixed).toMatchObject({ rules: [SEED_RULE], missingRules: [], ipForwardOn: true, ipForwardBefore: false });
      expect(await egressProvider.diff!(id, fixed, inputs)).toMatchObject({ changes: false });
      expect(await reaches(host, "c1", INTERNET)).toBe(true);
      await egressProvider.delete!(id, fixed);
    } finally {
      await egressProvider.delete!(id, outs as EgressOutputs);
    }
    expect(await ours()).toEqual([]);
    expect(await ipForward()).toBe("0");
  });

  it("outInterface and ipForward change in place; ipForward off leaves forwarding to the last Egress out", async () => {
    const inputs = await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16" });
    const { id, outs } = await egressProvider.create(inputs);
    const viaEth0 = await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16", outInterface: "eth0" });
    expect(await egressProvider.diff!(id, outs, viaEth0)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const updated = (await egressProvider.update!(id, outs, viaEth0)).outs as EgressOutputs;
    const eth0Rule = `-A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 -o eth0 -m comment --comment "${LAB}" -j MASQUERADE`;
    expect(updated.rules).toEqual([eth0Rule]);
    expect(await ours()).toEqual([":BRIDGELAB-POSTROUTING - [0:0]", JUMP, eth0Rule]);
    expect(await reaches(host, "c1", INTERNET)).toBe(true);

    const noForward = await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16", outInterface: "eth0", ipForward: false });
    const kept = (await egressProvider.update!(id, updated, noForward)).outs as EgressOutputs;
    expect(kept).toMatchObject({ ipForward: false, ipForwardOn: true });
    expect(await ipForward()).toBe("1");
    await egressProvider.delete!(id, kept);
    expect(await ipForward()).toBe("0");
    expect(await ours()).toEqual([]);
  });

  it("two Egress resources share forwarding: it stays on until the last one goes, whichever turned it on", async () => {
    await addBridge(host, "br1", "172.19.0.1/16");
    try {
      const first = await egressProvider.create(await checked({ name: "one", bridge: "br0", subnet: "172.18.0.0/16" }));
      const second = await egressProvider.create(await checked({ name: "two", bridge: "br1", subnet: "172.19.0.0/16" }));
      // The second found forwarding on, but bridgelab had turned it on: not the host's own.
      expect(first.outs.ipForwardBefore).toBe(false);
      expect(second.outs.ipForwardBefore).toBe(false);
      expect((await ours()).filter((l) => l.startsWith("-A BRIDGELAB-POSTROUTING"))).toHaveLength(2);

      await egressProvider.delete!("one", first.outs);
      expect(await ipForward()).toBe("1");
      expect(await reaches(host, "c1", INTERNET)).toBe(false); // br0's NAT went with "one"
      expect((await ours()).filter((l) => l.includes("egress:"))).toEqual([
        `-A BRIDGELAB-POSTROUTING -s 172.19.0.0/16 ! -o br1 -m comment --comment "${tagOf("two")}" -j MASQUERADE`,
      ]);
      await egressProvider.delete!("two", second.outs);
      expect(await ipForward()).toBe("0");
      expect(await ours()).toEqual([]);
    } finally {
      await host.sh("ip link del br1");
    }
  });

  it("forwarding the host had on by itself is recorded and never turned off", async () => {
    await host.sh("sysctl -qw net.ipv4.ip_forward=1");
    try {
      const { id, outs } = await egressProvider.create(await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16" }));
      expect(outs.ipForwardBefore).toBe(true);
      await egressProvider.delete!(id, outs);
      expect(await ipForward()).toBe("1");
    } finally {
      await host.sh("sysctl -qw net.ipv4.ip_forward=0");
    }
  });

  it("refuses rules of its own tag that are not its rule (an earlier declaration's), and leaves them alone", async () => {
    await host.sh(
      "iptables -t nat -N BRIDGELAB-POSTROUTING && iptables -t nat -A POSTROUTING -m comment --comment bridgelab:v1 -j BRIDGELAB-POSTROUTING && " +
        `iptables -t nat -A BRIDGELAB-POSTROUTING -s 10.9.0.0/16 -m comment --comment ${LAB} -j MASQUERADE`,
    );
    try {
      const before = await ours();
      await expect(egressProvider.create(await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16" }))).rejects.toThrow(
        /egress "lab" on .*: rules tagged bridgelab:v2:egress:lab:0276c64e \(this resource's own\) already exist and are not this Egress's rule:\n  -A BRIDGELAB-POSTROUTING -s 10.9.0.0\/16 .*\nthey were left by an earlier declaration of this resource/,
      );
      expect(await ours()).toEqual(before);
      expect(await ipForward()).toBe("0");
    } finally {
      await host.sh("iptables -t nat -F BRIDGELAB-POSTROUTING; iptables -t nat -D POSTROUTING -m comment --comment bridgelab:v1 -j BRIDGELAB-POSTROUTING; iptables -t nat -X BRIDGELAB-POSTROUTING");
    }
  });

  it("a create that fails half-way leaves nothing behind", async () => {
    // Reading the forwarding marker fails after the rule is in: the undo must take it out.
    await host.sh("mkdir /run/bridgelab.sysctl.net.ipv4.ip_forward");
    try {
      await expect(egressProvider.create(await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16" }))).rejects.toThrow(/egress "lab" on .*exited/);
      expect(await ours()).toEqual([]);
      expect(await ipForward()).toBe("0");
      // The undo forgot the owner's record too.
      expect(await records()).toEqual([]);
    } finally {
      await host.sh("rmdir /run/bridgelab.sysctl.net.ipv4.ip_forward");
    }
  });

  // Issue 12: two stacks of one program (dev and test) on one host, same resource names.
  describe("ownership: two stacks, one host", () => {
    const of = (stack: string, news: Record<string, unknown>) => checked({ owner: urn(String(news.name), stack), ...news });
    afterEach(async () => {
      expect(await ours()).toEqual([]);
      expect(await records()).toEqual([]);
      expect(await ipForward()).toBe("0");
    });

    it("the same NAME in two stacks: two rules side by side; each delete removes exactly its own; forwarding stays until the last Egress of any stack goes", async () => {
      const before = await save();
      const dev = await egressProvider.create(await of("dev", { name: "lab", bridge: "br0", subnet: "172.18.0.0/16" }));
      const withDev = await save();
      const test = await egressProvider.create(await of("test", { name: "lab", bridge: "br0", subnet: "172.18.0.0/16" }));
      expect(dev.outs.rules).toEqual([SEED_RULE]);
      expect(test.outs.rules).toEqual([SEED_RULE.replace(LAB, tagOf("lab", "test"))]);
      expect(await records()).toEqual([urn("lab", "dev"), urn("lab", "test")].sort());
      // Each reads its own rule; the other's is not drift of its own.
      expect(await egressProvider.read!("lab", dev.outs)).toEqual({ id: "lab", props: dev.outs });
      expect(await egressProvider.read!("lab", test.outs)).toEqual({ id: "lab", props: test.outs });

      await egressProvider.delete!("lab", test.outs);
      expect(await save()).toBe(withDev);
      expect(await records()).toEqual([urn("lab", "dev")]);
      expect(await ipForward()).toBe("1");
      expect(await reaches(host, "c1", INTERNET)).toBe(true);
      await egressProvider.delete!("lab", dev.outs);
      expect(await save()).toBe(before);
    });

    it("0.1's rule is refused to a new owner naming 0.1, counts for forwarding, and is re-tagged in place by its own stack's update", async () => {
      const old = await egressProvider.create(await checked({ name: "lab", owner: undefined, bridge: "br0", subnet: "172.18.0.0/16" }));
      expect(old.outs.rules).toEqual([SEED_RULE.replace(LAB, "bridgelab:v1:egress:lab")]);
      expect(await records()).toEqual([]);
      const before = await save();
      await expect(egressProvider.create(await of("test", { name: "lab", bridge: "br0", subnet: "172.18.0.0/16" }))).rejects.toThrow(
        /egress "lab" on \S+: an Egress of that name already exists and was made by bridgelab 0\.1 \(tag bridgelab:v1:egress:lab\), which did not record its owner; .*re-tags it as its own .*:\n {2}-A BRIDGELAB-POSTROUTING -s 172\.18\.0\.0\/16 /s,
      );
      expect(await save()).toBe(before);

      // Another stack's Egress of another name beside 0.1's: forwarding stays on while either is there.
      const other = await egressProvider.create(await of("test", { name: "other", bridge: "br0", subnet: "172.18.0.0/16" }));
      await egressProvider.delete!("other", other.outs);
      expect(await ipForward()).toBe("1");
      expect(await save()).toBe(before);

      // Its own stack's up under 0.2: Diff sees the owner come (an update), Update re-tags in place.
      const news = await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16" });
      expect(await egressProvider.diff!("lab", old.outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      const upd = (await egressProvider.update!("lab", old.outs, news)).outs as EgressOutputs;
      expect(upd).toMatchObject({ owner: urn("lab"), rules: [SEED_RULE], missingRules: [], ipForwardBefore: false });
      expect(await save()).toBe(before.replace("bridgelab:v1:egress:lab", LAB));
      expect(await records()).toEqual([urn("lab")]);
      expect(await reaches(host, "c1", INTERNET)).toBe(true);
      // The 0.1 state no longer finds its rule.
      expect((await egressProvider.read!("lab", old.outs)).props).toMatchObject({ rules: [], missingRules: [expect.stringContaining("bridgelab:v1:egress:lab")] });
      await egressProvider.delete!("lab", upd);
    });

    it("a new name made before the old one goes (same owner): the old one's delete keeps the owner's record and forwarding", async () => {
      const first = await egressProvider.create(await checked({ name: "lab", bridge: "br0", subnet: "172.18.0.0/16" }));
      const renamed = await checked({ name: "lab2", owner: urn("lab"), bridge: "br0", subnet: "172.18.0.0/16" });
      expect(await egressProvider.diff!("lab", first.outs, renamed)).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
      const second = await egressProvider.create(renamed);
      await egressProvider.delete!("lab", first.outs);
      expect(await records()).toEqual([urn("lab")]);
      expect(await ipForward()).toBe("1");
      expect(second.outs.rules).toEqual([SEED_RULE.replace("egress:lab:", "egress:lab2:")]);
      expect((await ours()).filter((l) => l.includes("egress:"))).toEqual(second.outs.rules);
      await egressProvider.delete!("lab2", second.outs);
    });
  });
});
