import * as pulumi from "@pulumi/pulumi";

// Composition tests of Network and Container under Pulumi's mocks: which resources they make,
// with which arguments, the addresses they hand out, and the arguments they refuse. No host.
const made: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];
pulumi.runtime.setMocks(
  {
    newResource(args) {
      made.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs };
      if (args.type.endsWith(":VethPair")) state.peerMac = args.inputs.mac;
      if (args.type.endsWith(":Process")) state.pid = 4242;
      if (args.type.endsWith(":PortPublish")) state.hostPort = args.inputs.hostPort || 32768;
      if (args.type.endsWith(":Bridge")) state.subnet = "x";
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  },
  "bridgelab",
  "test",
  false,
);

// Imported after setMocks, as Pulumi's docs ask.
import { Container, Network, topologyOf } from "../../../provider/components";
import { expectedPaths } from "../../../provider/components/expectedPaths";

const connection = { kind: "sandbox" as const, name: "unit" };
const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

/** Wait until no resource has registered for a while: dynamic resources serialize their provider first. */
async function settle(): Promise<void> {
  for (let stable = 0, last = -1; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 50));
    stable = made.length === last ? stable + 1 : 0;
    last = made.length;
  }
}
/** What was registered of a type, among the resources named in `names` (test-unique names). */
async function registered(type: string, names: string[]): Promise<Array<{ name: string; inputs: Record<string, unknown> }>> {
  await settle();
  return made.filter((m) => m.type.endsWith(type) && names.some((n) => m.name === n || m.name.startsWith(`${n}-`)));
}
// Let every registration finish before jest tears the module system down.
afterAll(settle);

describe("Network and Container", () => {
  it("seed 004: bridge at the first host, NAT, veths named as asked, addresses by index, a server bound to its address", async () => {
    const net = new Network("br0", { connection, subnet: "172.18.0.0/16", allocation: { first: 10, step: 10 } });
    const c = [0, 1].map(
      (i) =>
        new Container(`netns${i}`, {
          connection,
          network: { network: net, index: i, hostIfname: `veth${i}`, ifname: `ceth${i}` },
          ...(i === 0 ? { command: (a: pulumi.Output<string>) => a.apply((ip) => ["serve", ip]), ports: [{ port: 5000, hostPort: 5000 }] } : {}),
        }),
    );
    expect(await value(c[0].address)).toBe("172.18.0.10");
    expect(await value(c[1].address)).toBe("172.18.0.20");
    const s0 = await value(c[0].summary);
    expect(s0).toEqual({
      name: "netns0",
      mode: "bridge",
      netns: "netns0",
      pid: 4242,
      networks: { br0: { ifname: "ceth0", hostIfname: "veth0", bridge: "br0", address: "172.18.0.10", prefixLength: 16, gateway: "172.18.0.1", mac: "02:42:ac:12:00:0a" } },
      ports: { "5000/tcp": [{ hostIp: "0.0.0.0", hostPort: 5000, requestedHostPort: 5000 }] },
      published: ["0.0.0.0:5000->5000/tcp"],
    });
    const names = ["br0", "netns0", "netns1"];
    const byType = (t: string) => registered(t, names);
    expect((await byType(":Bridge")).map((m) => m.inputs)).toEqual([expect.objectContaining({ name: "br0", address: "172.18.0.1/16", mtu: 1500 })]);
    expect((await byType(":Egress")).map((m) => m.inputs)).toEqual([expect.objectContaining({ name: "br0", bridge: "br0", subnet: "172.18.0.0/16" })]);
    expect(await byType(":BridgeIsolation")).toEqual([]);
    expect((await byType(":VethPair")).map((m) => m.inputs)).toEqual([
      expect.objectContaining({ name: "veth0", netns: "netns0", peerIfname: "ceth0", bridge: "br0", address: "172.18.0.10/16", gateway: "172.18.0.1", mac: "02:42:ac:12:00:0a", mtu: 1500 }),
      expect.objectContaining({ name: "veth1", netns: "netns1", peerIfname: "ceth1", address: "172.18.0.20/16", mac: "02:42:ac:12:00:14" }),
    ]);
    expect((await byType(":Process")).map((m) => m.inputs)).toEqual([expect.objectContaining({ name: "netns0", netns: "netns0", command: ["serve", "172.18.0.10"] })]);
    expect((await byType(":PortPublish")).map((m) => m.inputs)).toEqual([
      expect.objectContaining({ name: "netns0-tcp-5000", address: "172.18.0.10", port: 5000, hostPort: 5000, bridge: "br0", subnet: "172.18.0.0/16" }),
    ]);
    const inspect = await value(net.inspect);
    expect(inspect).toMatchObject({
      Name: "br0",
      Driver: "bridge",
      IPAM: { Config: [{ Subnet: "172.18.0.0/16", Gateway: "172.18.0.1" }] },
      Containers: { netns0: { IPv4Address: "172.18.0.10/16", MacAddress: "02:42:ac:12:00:0a" }, netns1: { IPv4Address: "172.18.0.20/16" } },
      Options: { "com.docker.network.bridge.name": "br0", "com.docker.network.driver.mtu": "1500" },
    });
    const topology = await value(topologyOf({ name: "sandbox unit", address: "198.51.100.2" }, [net], c));
    expect(topology.veths.map((v) => `${v.host.ifname}@${v.host.bridge} ↔ ${v.peer.netns}/${v.peer.ifname} ${v.peer.address}`)).toEqual([
      "veth0@br0 ↔ netns0/ceth0 172.18.0.10/16",
      "veth1@br0 ↔ netns1/ceth1 172.18.0.20/16",
    ]);
    expect(expectedPaths(topology).length).toBeGreaterThan(10);
  });

  it("addresses follow name order, not declaration order; index and address win; MTU follows the network", async () => {
    const net = new Network("docker0", { connection, name: "bridge", bridgeName: "docker0", subnet: "172.17.0.0/16", mtu: 1400 });
    const web = new Container("web", { connection, network: { network: net, index: 0 } });
    const zed = new Container("zed", { connection, network: net });
    const app = new Container("app", { connection, network: net });
    const fixed = new Container("fixed", { connection, network: { network: net, address: "172.17.0.3" } });
    expect(await value(pulumi.all([web.address, fixed.address, app.address, zed.address]))).toEqual(["172.17.0.2", "172.17.0.3", "172.17.0.4", "172.17.0.5"]);
    const veths = await registered(":VethPair", ["web", "zed", "app", "fixed"]);
    expect(veths.map((m) => m.inputs.mtu)).toEqual([1400, 1400, 1400, 1400]);
    // Docker-like host ends: "veth" + 7 hex digits, stable for a name.
    expect(veths.map((m) => m.inputs.name)).toEqual(Array(4).fill(expect.stringMatching(/^veth[0-9a-f]{7}$/)));
    expect((await value(net.members)).map((m) => `${m.member} ${m.address}`)).toEqual(["app 172.17.0.4", "fixed 172.17.0.3", "web 172.17.0.2", "zed 172.17.0.5"]);
  });

  it("a container on two networks gets eth0 and eth1, the default route only on eth0; isolation makes a BridgeIsolation", async () => {
    const a = new Network("a", { connection, subnet: "172.17.0.0/16", isolated: true });
    const b = new Network("b", { connection, subnet: "172.19.0.0/16", isolated: true, egress: false });
    const backend = new Container("backend", { connection, network: a, networks: [b] });
    const s = await value(backend.summary);
    expect(Object.entries(s.networks).map(([n, i]) => `${n} ${i.ifname} ${i.address} ${i.gateway ?? "-"}`)).toEqual(["a eth0 172.17.0.2 172.17.0.1", "b eth1 172.19.0.2 -"]);
    expect((await registered(":BridgeIsolation", ["a", "b"])).map((m) => m.inputs.bridge)).toEqual(["a", "b"]);
    expect((await registered(":Egress", ["a", "b"])).map((m) => m.inputs.bridge)).toEqual(["a"]);
    expect((await value(b.inspect)).Internal).toBe(true);
  });

  it("host, none and container modes", async () => {
    const net = new Network("modes", { connection, subnet: "10.1.0.0/24" });
    const app = new Container("m-app", { connection, network: net, command: ["app"] });
    const side = new Container("m-side", { connection, network: { container: app }, command: ["side"] });
    const host = new Container("m-h", { connection, network: "host", command: ["h"] });
    const none = new Container("m-quiet", { connection, network: "none" });
    expect(await value(side.netns)).toBe("m-app");
    expect(await value(side.address)).toBe("10.1.0.2");
    expect(await value(host.netns)).toBeUndefined();
    expect(await value(none.netns)).toBe("m-quiet");
    const names = ["m-app", "m-side", "m-h", "m-quiet"];
    const procs = Object.fromEntries((await registered(":Process", names)).map((m) => [m.name, m.inputs]));
    expect(procs["m-side"]).toMatchObject({ name: "m-side", netns: "m-app" });
    expect(procs["m-h"].netns).toBeUndefined();
    expect((await registered(":NetNamespace", names)).map((m) => m.inputs.name).sort()).toEqual(["m-app", "m-quiet"]);
    expect(await registered(":VethPair", names)).toHaveLength(1);
    expect((await value(side.facts)).sharesWith).toBe("m-app");
  });
});

describe("arguments refused at construction, naming the fields", () => {
  let k = 0;
  const net = () => new Network(`refused${k++}`, { connection, name: "n", subnet: "10.2.0.0/24" });
  it.each([
    ["ports with host mode", () => new Container("x1", { connection, network: "host", ports: [{ port: 80 }] }), /ports cannot be combined with network "host"/],
    ["ports with container mode", () => new Container("x2", { connection, network: { container: new Container("o2", { connection, network: "none" }) }, ports: [{ port: 80 }] }), /ports cannot be combined with network \{ container: … \}: conflicting options/],
    ["networks with none mode", () => new Container("x3", { connection, network: "none", networks: [net()] }), /networks attaches more networks in bridge mode, but network is "none"/],
    ["index and address", () => new Container("x4", { connection, network: { network: net(), index: 1, address: "10.2.0.9" } }), /network\.index 1 and network\.address "10\.2\.0\.9" both choose the address/],
    ["the same network twice", () => { const n = net(); return new Container("x5", { connection, network: n, networks: [n] }); }, /networks\[0\]\.network attaches network "n" a second time/],
    ["an address outside the subnet", () => new Container("x6", { connection, network: { network: net(), address: "10.3.0.9" } }), /container "x6" on network "n": address "10\.3\.0\.9" is outside subnet "10\.2\.0\.0\/24"/],
    ["a static host port twice", () => new Container("x7", { connection, network: net(), ports: [{ port: 80, hostPort: 8080 }, { port: 81, hostPort: 8080 }] }), /ports\[1\] and ports\[0\] both publish tcp host port 8080/],
    ["a bad port", () => new Container("x8", { connection, network: net(), ports: [{ port: 0 }] }), /ports\[0\]\.port 0 must be an integer from 1 to 65535/],
    ["a command function without an address", () => new Container("x9", { connection, network: "none", command: () => ["x"] }), /command is a function of the container's address, but network is "none"/],
    ["sharing a sharer", () => { const o = new Container("o10", { connection, network: "none" }); const s = new Container("s10", { connection, network: { container: o } }); return new Container("x10", { connection, network: { container: s } }); }, /shares a namespace that "s10" itself shares with "o10"; share with "o10" instead/],
    ["egress false with outInterface", () => new Network("x11", { connection, subnet: "10.4.0.0/24", egress: false, outInterface: "eth0" }), /Network "x11": outInterface "eth0" needs egress, but egress is false/],
    ["allowFrom without isolation", () => new Network("x12", { connection, subnet: "10.4.0.0/24", allowFrom: ["br0"] }), /allowFrom \["br0"\] opens exceptions to isolation, but isolated is false/],
    ["a subnet with host bits", () => new Network("x13", { connection, subnet: "10.4.0.1/24" }), /Network "x13": subnet "10\.4\.0\.1\/24" is not a network address/],
    ["a bad bridge name", () => new Network("x14", { connection, subnet: "10.4.0.0/24", bridgeName: "a-very-long-bridge-name" }), /bridgeName "a-very-long-bridge-name" is 23 bytes long/],
  ])("%s", (_what, make, message) => {
    expect(make).toThrow(message);
  });

  it("two containers on one index: the second is refused, naming both", () => {
    const n = net();
    new Container("y1", { connection, network: { network: n, index: 3 } });
    expect(() => new Container("y2", { connection, network: { network: n, index: 3 } })).toThrow(/container "y2" on network "n": index 3 gives 10\.2\.0\.5, which container "y1" on network "n" \(by index\) already has/);
  });

  it("a full subnet is refused at the container that does not fit", () => {
    const n = new Network("tiny", { connection, subnet: "10.5.0.0/30" }); // one slot: .2
    new Container("z1", { connection, network: n });
    expect(() => new Container("z2", { connection, network: n })).toThrow(/subnet "10\.5\.0\.0\/30" is full/);
  });

  it("after the first pass, a container must give index or address", async () => {
    const n = new Network("late", { connection, subnet: "10.6.0.0/24" });
    new Container("early", { connection, network: n });
    await new Promise((r) => setImmediate(r));
    expect(() => new Container("late1", { connection, network: n })).toThrow(/handed out its addresses when the program's first pass ended; .* must give index or address/);
    const late = new Container("late2", { connection, network: { network: n, index: 5 } });
    expect(await value(late.address)).toBe("10.6.0.7");
    expect(() => new Container("late3", { connection, network: { network: n, address: "10.6.0.2" } })).toThrow(/container "late3" on network "late": this address would move container "early" \(10\.6\.0\.2\)/);
  });
});
