import { ContainerFacts, NetworkFacts, TOPOLOGY_VERSION, buildTopology, compareNames } from "../../../provider/components/topology";

const br0: NetworkFacts = { name: "br0", network: "br0", subnet: "172.18.0.0/16", gateway: "172.18.0.1", mtu: 1500, egress: true, isolated: false, icc: true };

function bridged(name: string, n: number, extra: Partial<ContainerFacts> = {}): ContainerFacts {
  const hex = n.toString(16).padStart(2, "0");
  return {
    name,
    mode: "bridge",
    netns: name,
    attachments: [{ ifname: `ceth${n / 10 - 1}`, hostIfname: `veth${n / 10 - 1}`, bridge: "br0", network: "br0", address: `172.18.0.${n}/16`, mac: `02:42:ac:12:00:${hex}` }],
    gateway: "172.18.0.1",
    expose: [],
    ports: [],
    ...extra,
  };
}

describe("compareNames (natural order)", () => {
  it("orders digit runs as numbers", () => {
    expect(["netns10", "netns2", "netns1", "a", "netns01"].sort(compareNames)).toEqual(["a", "netns01", "netns1", "netns2", "netns10"]);
  });
  it("is total: different names never compare equal", () => {
    expect(compareNames("a1", "a01")).not.toBe(0);
    expect(Math.sign(compareNames("a1", "a01"))).toBe(-Math.sign(compareNames("a01", "a1")));
  });
});

describe("buildTopology", () => {
  const web = bridged("netns0", 10, {
    workload: { command: ["socat", "TCP-LISTEN:5000"], pid: 42 },
    expose: [{ port: 5000, protocol: "tcp", bind: "address", probe: "http" }],
    ports: [{ protocol: "tcp", hostIp: "0.0.0.0", hostPort: 5000, requestedHostPort: 5000, address: "172.18.0.10", port: 5000, bridge: "br0", probe: "http" }],
  });
  const other = bridged("netns1", 20);

  it("gives seed 004's end state, whatever the input order", () => {
    const host = { name: "sandbox lab", address: "198.51.100.2" };
    const t = buildTopology({ host, networks: [br0], containers: [other, web] });
    expect(t).toEqual(buildTopology({ host, networks: [br0], containers: [web, other] }));
    expect(t).toEqual({
      version: TOPOLOGY_VERSION,
      host,
      bridges: [br0],
      namespaces: [
        { name: "netns0", containers: ["netns0"], interfaces: [{ ifname: "ceth0", address: "172.18.0.10/16", mac: "02:42:ac:12:00:0a" }] },
        { name: "netns1", containers: ["netns1"], interfaces: [{ ifname: "ceth1", address: "172.18.0.20/16", mac: "02:42:ac:12:00:14" }] },
      ],
      veths: [
        { container: "netns0", host: { ifname: "veth0", bridge: "br0" }, peer: { netns: "netns0", ifname: "ceth0", address: "172.18.0.10/16", mac: "02:42:ac:12:00:0a" } },
        { container: "netns1", host: { ifname: "veth1", bridge: "br0" }, peer: { netns: "netns1", ifname: "ceth1", address: "172.18.0.20/16", mac: "02:42:ac:12:00:14" } },
      ],
      containers: [
        {
          name: "netns0",
          mode: "bridge",
          netns: "netns0",
          addresses: ["172.18.0.10"],
          gateway: "172.18.0.1",
          workload: { command: ["socat", "TCP-LISTEN:5000"], pid: 42 },
          expose: [{ port: 5000, protocol: "tcp", bind: "address", probe: "http" }],
        },
        { name: "netns1", mode: "bridge", netns: "netns1", addresses: ["172.18.0.20"], gateway: "172.18.0.1", expose: [] },
      ],
      ports: [{ container: "netns0", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 5000, requestedHostPort: 5000, address: "172.18.0.10", port: 5000, bridge: "br0", probe: "http" }],
    });
    expect(JSON.parse(JSON.stringify(t))).toEqual(t); // plain JSON
  });

  it("host, none and container modes", () => {
    const t = buildTopology({
      host: { name: "h", address: "198.51.100.2" },
      networks: [br0],
      containers: [
        { name: "hostsvc", mode: "host", attachments: [], expose: [], ports: [] },
        { name: "quiet", mode: "none", netns: "quiet", attachments: [], expose: [], ports: [] },
        { name: "sidecar", mode: "container", sharesWith: "app", attachments: [], expose: [], ports: [] },
        bridged("app", 10),
      ],
    });
    expect(t.namespaces.map((n) => [n.name, n.containers, n.interfaces.length])).toEqual([
      ["app", ["app", "sidecar"], 1],
      ["quiet", ["quiet"], 0],
    ]);
    const c = Object.fromEntries(t.containers.map((x) => [x.name, x]));
    expect(c.hostsvc).toEqual({ name: "hostsvc", mode: "host", addresses: ["198.51.100.2"], expose: [] });
    expect(c.quiet).toEqual({ name: "quiet", mode: "none", netns: "quiet", addresses: [], expose: [] });
    expect(c.sidecar).toMatchObject({ mode: "container", netns: "app", sharesWith: "app", addresses: ["172.18.0.10"], gateway: "172.18.0.1" });
  });

  it("refuses facts that contradict each other", () => {
    expect(() => buildTopology({ host: { name: "h" }, networks: [], containers: [bridged("a", 10)] })).toThrow(/bridge "br0", which is not among the networks/);
    expect(() => buildTopology({ host: { name: "h" }, networks: [br0], containers: [bridged("a", 10), { ...bridged("b", 20), netns: "a" }] })).toThrow(/both own namespace "a"/);
    expect(() =>
      buildTopology({ host: { name: "h" }, networks: [br0], containers: [{ name: "s", mode: "container", sharesWith: "ghost", attachments: [], expose: [], ports: [] }] }),
    ).toThrow(/"ghost", which is not in the lab/);
  });
});
