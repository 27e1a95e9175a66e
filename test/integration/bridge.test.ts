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
    await expect(bridgeProvider.create(inputs)).rejects.toThrow(/bridge "br9" on sandbox:it-bridge-\d+-\d+: a bridge of that name already exists and is not managed by bridgelab/);
    const { error } = await captureConsole(() => bridgeProvider.delete!("br9", { ...inputs, ifindex: 0, mac: "" }));
    expect(error).toEqual([`bridge "br9" on sandbox:${box.name} is not ours (no bridgelab tag); left in place`]);
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
});
