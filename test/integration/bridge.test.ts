import { bridgeProvider, BridgeInputs, BridgeOutputs } from "../../provider/resources/bridge";
import { parseIpAddrJson, parseIpLinkJson } from "../../provider/host/ipJson";
import { captureConsole } from "../support/consoleCapture";
import { makeSandbox } from "../support/sandboxFixture";

// Bridge against a real kernel: a sandbox host per file, the provider's methods called
// directly, the kernel state read from outside the provider with `ip -j`.
let box: Awaited<ReturnType<typeof makeSandbox>>;
beforeAll(async () => {
  box = await makeSandbox("it-bridge");
});
afterAll(async () => {
  await box?.dispose();
});

const link = async (name: string) => parseIpLinkJson(await box.sh(`ip -j -d link show dev ${name} 2>/dev/null || echo '[]'`))[0];
const addrs = async (name: string) =>
  (parseIpAddrJson(await box.sh(`ip -j addr show dev ${name} 2>/dev/null || echo '[]'`))[0]?.addrs ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);

async function checked(news: Record<string, unknown>): Promise<BridgeInputs> {
  const r = await bridgeProvider.check!({}, { connection: box.connection, ...news });
  expect(r.failures).toEqual([]);
  return r.inputs as BridgeInputs;
}

describe("Bridge on a sandbox host", () => {
  it("creates, reads, updates in place and deletes idempotently", async () => {
    const inputs = await checked({ name: "br0", address: "172.18.0.1/16" });
    const { id, outs } = await bridgeProvider.create(inputs);
    expect(id).toBe("br0");
    const l = await link("br0");
    expect(l).toMatchObject({ kind: "bridge", mtu: 1500, stpState: 0, ifalias: "bridgelab:v1:bridge", ifindex: outs.ifindex, address: outs.mac });
    expect(l.flags).toContain("UP");
    expect(await addrs("br0")).toEqual(["172.18.0.1/16"]);
    expect(outs).toMatchObject({ subnet: "172.18.0.0/16", mtu: 1500, up: true, address: "172.18.0.1/16" });

    // No drift: read reports what create returned.
    const same = await bridgeProvider.read!(id, outs);
    expect(same).toEqual({ id, props: outs });

    // Drift by hand shows in read, and so as a diff against the declared inputs.
    await box.sh("ip link set dev br0 mtu 1300");
    const drifted = await bridgeProvider.read!(id, outs);
    expect(drifted.props.mtu).toBe(1300);
    expect((await bridgeProvider.diff!(id, drifted.props, inputs)).changes).toBe(true);

    // In place: MTU, address, down. Same ifindex proves nothing was recreated.
    const next = await checked({ name: "br0", address: "10.10.0.1/24", mtu: 1400, up: false });
    const d = await bridgeProvider.diff!(id, drifted.props, next);
    expect(d).toMatchObject({ changes: true, replaces: [] });
    const upd = await bridgeProvider.update!(id, drifted.props, next);
    expect(upd.outs).toMatchObject({ mtu: 1400, address: "10.10.0.1/24", up: false, ifindex: outs.ifindex });
    expect((await link("br0")).mtu).toBe(1400);
    expect((await link("br0")).flags).not.toContain("UP");
    expect(await addrs("br0")).toEqual(["10.10.0.1/24"]);

    await bridgeProvider.delete!(id, upd.outs as BridgeOutputs);
    expect(await link("br0")).toBeUndefined();
    await expect(bridgeProvider.delete!(id, upd.outs as BridgeOutputs)).resolves.toBeUndefined();
    expect(await bridgeProvider.read!(id, upd.outs)).toEqual({ id: "", props: {} });
  });

  it("refuses a foreign bridge of the same name and leaves it alone, also on delete", async () => {
    await box.sh("ip link add name br9 type bridge");
    const inputs = await checked({ name: "br9" });
    await expect(bridgeProvider.create(inputs)).rejects.toThrow(/bridge "br9" on sandbox:it-bridge-\d+-\d+: a bridge of that name already exists and is not managed by bridgelab \(it has no bridgelab tag\); bridgelab never takes another owner's objects/);
    const { error } = await captureConsole(() => bridgeProvider.delete!("br9", { ...inputs, ifindex: 0, mac: "" }));
    expect(error).toEqual([`bridge "br9" on sandbox:${box.name} is not this resource's, so it is left in place: it is not managed by bridgelab (it has no bridgelab tag)`]);
    expect(await link("br9")).toBeDefined();
    expect(await bridgeProvider.read!("br9", { ...inputs, ifindex: 0, mac: "" })).toEqual({ id: "", props: {} });
    await box.sh("ip link del br9");
  });

  it("refuses a link of that name that is not a bridge", async () => {
    await box.sh("ip link add name vx0 type veth peer name vx1");
    await expect(bridgeProvider.create(await checked({ name: "vx0" }))).rejects.toThrow(/"vx0" already exists but is not a bridge \(it is a veth link\)/);
    await box.sh("ip link del vx0");
  });

  it("adopts a bridge of ours left by an interrupted create and converges it", async () => {
    await box.sh("ip link add name br7 mtu 1400 type bridge && ip link set dev br7 alias bridgelab:v1:bridge");
    const { outs } = await bridgeProvider.create(await checked({ name: "br7", address: "172.20.0.1/16" }));
    expect(outs).toMatchObject({ mtu: 1500, up: true, address: "172.20.0.1/16" });
    expect(await addrs("br7")).toEqual(["172.20.0.1/16"]);
    await bridgeProvider.delete!("br7", outs);
  });

  it("a create that fails half-way leaves nothing behind", async () => {
    // Make the address step fail for real: IPv6 disabled for new links in this host only.
    await box.sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1");
    try {
      const inputs = await checked({ name: "br6", address: "fd00::1/64" });
      await expect(bridgeProvider.create(inputs)).rejects.toThrow(/bridge "br6" on sandbox:it-bridge-\d+-\d+: `.*` exited \d+: .*IPv6 is disabled/);
      expect(await link("br6")).toBeUndefined();
    } finally {
      await box.sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.all.disable_ipv6=0");
    }
  });

  it("check rejects bad input with the field, the value and the rule, before touching the host", async () => {
    const before = await box.sh("ip -j link");
    const r = await bridgeProvider.check!({}, { connection: box.connection, name: "a-very-long-bridge-name", address: "172.18.0.0/16", mtu: 70000 });
    expect(r.failures).toEqual([
      { property: "name", reason: expect.stringMatching(/name "a-very-long-bridge-name" is 23 bytes long; a Linux interface name is 1–15 bytes/) },
      { property: "mtu", reason: expect.stringMatching(/mtu 70000 must be an integer from 68/) },
      { property: "address", reason: expect.stringMatching(/network address of its subnet/) },
    ]);
    expect(await box.sh("ip -j link")).toBe(before);
  });

  it("keeps its MAC as ports come and go (derived from its address), so refresh reports no drift; a declared MAC updates in place", async () => {
    const inputs = await checked({ name: "brm", address: "172.23.0.1/16" });
    const { id, outs } = await bridgeProvider.create(inputs);
    expect(outs.mac).toBe("02:42:ac:17:00:01");
    // A port with a lower MAC would become the bridge's MAC if the kernel chose it.
    await box.sh("ip link add vm0 address 02:00:00:00:00:01 type veth peer name vm1 && ip link set vm0 master brm up");
    expect(await bridgeProvider.read!(id, outs)).toEqual({ id, props: outs });
    expect(await bridgeProvider.diff!(id, outs, inputs)).toMatchObject({ changes: false });
    const declared = await checked({ name: "brm", address: "172.23.0.1/16", mac: "02:AA:00:00:00:07" });
    expect(await bridgeProvider.diff!(id, outs, declared)).toMatchObject({ changes: true, replaces: [] });
    const updated = await bridgeProvider.update!(id, outs, declared);
    expect(updated.outs).toMatchObject({ mac: "02:aa:00:00:00:07", ifindex: outs.ifindex });
    expect((await link("brm")).address).toBe("02:aa:00:00:00:07");
    await box.sh("ip link del vm0");
    await bridgeProvider.delete!(id, updated.outs);
  });

  describe("ownership: two stacks, one host", () => {
    const dev = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:Bridge::br0";
    const test = "urn:pulumi:test::lab::pulumi-nodejs:dynamic/bridgelab:Bridge::br0";
    const owners = async () => (await box.sh("cat /run/bridgelab/owners/* 2>/dev/null || true")).trim().split("\n").filter(Boolean).sort();

    it("tags the bridge with its owner and records the owner's URN on the host", async () => {
      const { outs } = await bridgeProvider.create(await checked({ name: "bro1", owner: dev }));
      expect((await link("bro1")).ifalias).toMatch(/^bridgelab:v2:bridge:[0-9a-f]{8}$/);
      expect(await owners()).toEqual([dev]);
      expect(await bridgeProvider.read!("bro1", outs)).toEqual({ id: "bro1", props: outs });
      await bridgeProvider.delete!("bro1", outs);
      expect(await link("bro1")).toBeUndefined();
      expect(await owners()).toEqual([]);
    });

    it("another stack's create of the same name is refused naming the owner; its read says gone; its delete leaves the bridge", async () => {
      const mine = await bridgeProvider.create(await checked({ name: "bro2", owner: dev, address: "172.21.0.1/16" }));
      const before = await link("bro2");
      const theirs = await checked({ name: "bro2", owner: test, address: "172.22.0.1/16" });
      await expect(bridgeProvider.create(theirs)).rejects.toThrow(
        `bridge "bro2" on sandbox:${box.name}: a bridge of that name already exists and belongs to resource "br0" (pulumi-nodejs:dynamic/bridgelab:Bridge) of stack "dev", project "lab" (${dev}); bridgelab never takes another owner's objects`,
      );
      // What the other stack's state would say of it, had it one: not its bridge.
      const theirOuts = { ...mine.outs, owner: test } as BridgeOutputs;
      expect(await bridgeProvider.read!("bro2", theirOuts)).toEqual({ id: "", props: {} });
      const { error } = await captureConsole(() => bridgeProvider.delete!("bro2", theirOuts));
      expect(error).toEqual([
        `bridge "bro2" on sandbox:${box.name} is not this resource's, so it is left in place: it belongs to resource "br0" (pulumi-nodejs:dynamic/bridgelab:Bridge) of stack "dev", project "lab" (${dev})`,
      ]);
      expect(await link("bro2")).toMatchObject({ ifindex: before.ifindex, ifalias: before.ifalias });
      expect(await addrs("bro2")).toEqual(["172.21.0.1/16"]);
      await bridgeProvider.delete!("bro2", mine.outs);
      expect(await link("bro2")).toBeUndefined();
    });

    it("a bridge with another stack's veths on it stays, naming them (Docker's 'active endpoints'); its own stack's ports do not hold it", async () => {
      const { outs } = await bridgeProvider.create(await checked({ name: "bro4", owner: dev, address: "172.23.0.1/16" }));
      // Two ports made as VethPair would tag them: one of another stack (test), one of this stack (dev).
      const theirVeth = "urn:pulumi:test::lab::pulumi-nodejs:dynamic/bridgelab:VethPair::veth0";
      const ourVeth = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:VethPair::veth9";
      const port = (ifname: string, id: string, urn: string) =>
        `ip link add ${ifname} type veth peer name ${ifname}p && ip link set ${ifname} master bro4 && ip link set dev ${ifname} alias bridgelab:v2:veth:${id} && printf '%s\\n' '${urn}' >/run/bridgelab/owners/${id}`;
      await box.sh(`${port("tv4", "0000aaaa", theirVeth)} && ${port("dv4", "0000bbbb", ourVeth)}`);
      await expect(bridgeProvider.delete!("bro4", outs)).rejects.toThrow(
        `bridge "bro4" on sandbox:${box.name} still has ports of other stacks: "tv4" of resource "veth0" (pulumi-nodejs:dynamic/bridgelab:VethPair) of stack "test", project "lab"; destroy those first, then this (as \`docker network rm\` refuses a network with active endpoints), so it is left in place`,
      );
      expect(await link("bro4")).toMatchObject({ ifindex: outs.ifindex });
      expect((await link("tv4")).master).toBe("bro4");
      await box.sh("ip link del tv4 && rm /run/bridgelab/owners/0000aaaa");
      await bridgeProvider.delete!("bro4", outs);
      expect(await link("bro4")).toBeUndefined();
      await box.sh("ip link del dv4 && rm /run/bridgelab/owners/0000bbbb");
      expect(await owners()).toEqual([]);
    });

    it("a rename keeping the address (deleted first) is refused by Check when the new name is another's link, before anything changes", async () => {
      const olds = await checked({ name: "bro6", owner: dev, address: "172.24.0.1/16" });
      await box.sh("ip link add taken6 type bridge && ip link set dev taken6 alias handmade");
      const r = await bridgeProvider.check!(olds, { connection: box.connection, name: "taken6", owner: dev, address: "172.24.0.1/16" });
      expect(r.failures).toEqual([
        {
          property: "name",
          reason:
            'name "taken6" is taken on the host: the link of that name is not managed by bridgelab (its tag is "handmade"). The bridge keeps its address, so the old one "bro6" would be deleted before the new one is made, and the lab would be left without a bridge: choose a free name',
        },
      ]);
      // A free name, or a new address (made before the old one goes: a failed create keeps it), passes.
      expect((await bridgeProvider.check!(olds, { connection: box.connection, name: "free6", owner: dev, address: "172.24.0.1/16" })).failures).toEqual([]);
      expect((await bridgeProvider.check!(olds, { connection: box.connection, name: "taken6", owner: dev, address: "172.25.0.1/16" })).failures).toEqual([]);
      await box.sh("ip link del taken6");
    });

    it("a bridge of bridgelab 0.1 is refused to a new owner, and taken over (re-tagged) by the update of the stack that made it", async () => {
      // 0.1's create: no owner in the inputs, the v1 tag on the link.
      const old = await bridgeProvider.create(await checked({ name: "bro3" }));
      expect((await link("bro3")).ifalias).toBe("bridgelab:v1:bridge");
      await expect(bridgeProvider.create(await checked({ name: "bro3", owner: test }))).rejects.toThrow(/was made by bridgelab 0\.1 \(tag bridgelab:v1:bridge\), which did not record its owner/);
      // Its own stack's up under 0.2: Diff sees the owner come, Update re-tags in place.
      const news = await checked({ name: "bro3", owner: dev });
      const d = await bridgeProvider.diff!("bro3", old.outs, news);
      expect(d).toMatchObject({ changes: true, replaces: [] });
      const { outs } = await bridgeProvider.update!("bro3", old.outs, news);
      const l = await link("bro3");
      expect(l.ifindex).toBe(old.outs.ifindex);
      expect(l.ifalias).toMatch(/^bridgelab:v2:bridge:/);
      expect(await owners()).toEqual([dev]);
      // The 0.1 state can no longer read it as its own; the new one can, and deletes it.
      expect((await bridgeProvider.read!("bro3", old.outs)).id).toBe("");
      expect((await bridgeProvider.read!("bro3", outs)).id).toBe("bro3");
      await bridgeProvider.delete!("bro3", outs);
      expect(await link("bro3")).toBeUndefined();
      expect(await owners()).toEqual([]);
    });
  });
});
