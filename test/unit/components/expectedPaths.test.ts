import { ExpectedPath, distinctParts, expectedPaths, pathName } from "../../../provider/components/expectedPaths";
import { AttachmentFacts, ContainerFacts, NetworkFacts, buildTopology } from "../../../provider/components/topology";

const net = (name: string, network: string, third: number, extra: Partial<NetworkFacts> = {}): NetworkFacts => ({
  name,
  network,
  subnet: `172.${third}.0.0/16`,
  gateway: `172.${third}.0.1`,
  mtu: 1500,
  egress: true,
  isolated: false,
  icc: true,
  ...extra,
});
const leg = (container: string, ifname: string, bridge: string, address: string): AttachmentFacts => ({ ifname, hostIfname: `v-${container}-${ifname}`, bridge, network: bridge, address, mac: "02:42:00:00:00:00" });
const bridged = (name: string, attachments: AttachmentFacts[], extra: Partial<ContainerFacts> = {}): ContainerFacts => ({
  name,
  mode: "bridge",
  netns: name,
  attachments,
  gateway: `${attachments[0].address.split(".").slice(0, 2).join(".")}.0.1`, // the first leg's network's gateway
  expose: [],
  ports: [],
  ...extra,
});
const row = (p: ExpectedPath) => `${p.name} | ${p.from} ${p.kind} ${p.target} ${p.expect}`;

describe("expectedPaths", () => {
  it("seed 004: the exact list", () => {
    const topology = buildTopology({
      host: { name: "sandbox", address: "198.51.100.2" },
      networks: [net("br0", "br0", 18)],
      containers: [
        bridged("netns0", [leg("netns0", "ceth0", "br0", "172.18.0.10/16")], {
          workload: { command: ["socat"] },
          expose: [{ port: 5000, protocol: "tcp", bind: "address", probe: "http" }],
          ports: [{ protocol: "tcp", hostIp: "0.0.0.0", hostPort: 5000, requestedHostPort: 5000, address: "172.18.0.10", port: 5000, bridge: "br0", probe: "http" }],
        }),
        bridged("netns1", [leg("netns1", "ceth1", "br0", "172.18.0.20/16")]),
      ],
    });
    expect(expectedPaths(topology).map(row)).toEqual([
      "ping:netns0-to-netns1-on-br0 | netns0 ping 172.18.0.20 reach",
      "ping:netns1-to-netns0-on-br0 | netns1 ping 172.18.0.10 reach",
      "ping:host-to-netns0 | host ping 172.18.0.10 reach",
      "ping:netns0-to-host | netns0 ping 198.51.100.2 reach",
      "ping:netns0-to-egress | netns0 ping 203.0.113.1 reach",
      "ping:host-to-netns1 | host ping 172.18.0.20 reach",
      "ping:netns1-to-host | netns1 ping 198.51.100.2 reach",
      "ping:netns1-to-egress | netns1 ping 203.0.113.1 reach",
      "http:host-to-netns0:5000 | host http 172.18.0.10:5000 reach",
      "http:netns1-to-netns0:5000 | netns1 http 172.18.0.10:5000 reach",
      "http:outside-to-netns0:5000 | outside http 198.51.100.2:5000 reach",
      "http:host-to-published-netns0:5000 | host http 198.51.100.2:5000 reach",
      "http:netns1-to-published-netns0:5000 | netns1 http 198.51.100.2:5000 reach",
      "ping:outside-to-netns0-address | outside ping 172.18.0.10 blocked",
    ]);
    // Options: no outside (an SSH host), another egress target, the self hairpin.
    const other = expectedPaths(topology, { outside: false, egressTarget: "192.0.2.1", selfHairpin: true });
    expect(other.some((p) => p.from === "outside")).toBe(false);
    expect(other.find((p) => p.name === "ping:netns0-to-egress")!.target).toBe("192.0.2.1");
    expect(other.map(row)).toContain("http:netns0-to-itself-published:5000 | netns0 http 198.51.100.2:5000 reach");
    // A dynamic port before its allocation (hostPort 0, as at preview): nothing to probe yet.
    const unallocated = { ...topology, ports: topology.ports.map((p) => ({ ...p, hostPort: 0, requestedHostPort: 0 })) };
    expect(expectedPaths(unallocated).filter((p) => p.name.includes("published") || p.name.startsWith("http:outside"))).toEqual([]);
  });

  it("Docker's modes: isolation, multi-homing, container, host and none modes, icc off, no egress", () => {
    const topology = buildTopology({
      host: { name: "sandbox", address: "198.51.100.2" },
      networks: [net("docker0", "bridge", 17, { isolated: true }), net("br-db", "database", 19, { isolated: true, egress: false, icc: false })],
      containers: [
        bridged("web", [leg("web", "eth0", "docker0", "172.17.0.2/16")]),
        bridged("backend", [leg("backend", "eth0", "docker0", "172.17.0.3/16"), leg("backend", "eth1", "br-db", "172.19.0.2/16")]),
        bridged("db", [leg("db", "eth0", "br-db", "172.19.0.3/16")], { expose: [{ port: 5432, protocol: "tcp", bind: "any", probe: "tcp" }] }),
        bridged("app", [leg("app", "eth0", "docker0", "172.17.0.4/16")], { expose: [{ port: 9000, protocol: "tcp", bind: "localhost", probe: "http" }] }),
        { name: "sidecar", mode: "container", sharesWith: "app", attachments: [], expose: [{ port: 9090, protocol: "tcp", bind: "any", probe: "http" }], ports: [] },
        { name: "hostsvc", mode: "host", attachments: [], expose: [{ port: 8081, protocol: "tcp", bind: "any", probe: "http" }, { port: 53, protocol: "udp", bind: "any", probe: "tcp" }], ports: [] },
        { name: "nonet", mode: "none", netns: "nonet", attachments: [], expose: [], ports: [] },
      ],
    });
    const rows = expectedPaths(topology).map(row);
    expect(rows).toEqual(
      expect.arrayContaining([
        // icc off on the database bridge: its members cannot talk to each other …
        "ping:backend-to-db-on-br-db | backend ping 172.19.0.3 blocked",
        "tcp:backend-to-db:5432 | backend tcp 172.19.0.3:5432 blocked",
        // … and without egress the database bridge stays inside.
        "ping:db-to-egress | db ping 203.0.113.1 blocked",
        "ping:backend-to-egress | backend ping 203.0.113.1 reach", // its default route is docker0's
        // Isolation: a container only on one bridge cannot reach one only on the other.
        "ping:app-to-db-on-br-db-isolated | app ping 172.19.0.3 blocked",
        "ping:db-to-app-on-docker0-isolated | db ping 172.17.0.4 blocked",
        // Container mode: the sidecar's port answers on app's address; app's localhost port only inside.
        "http:host-to-sidecar:9090 | host http 172.17.0.4:9090 reach",
        "http:app-to-localhost:9000 | app http 127.0.0.1:9000 reach",
        "http:host-to-app:9000 | host http 172.17.0.4:9000 blocked",
        // Host mode: the host's own port, straight from the outside.
        "http:outside-to-hostsvc:8081 | outside http 198.51.100.2:8081 reach",
        "ping:hostsvc-to-egress | host ping 203.0.113.1 reach",
        // None mode: a loopback and nothing else.
        "ping:nonet-to-localhost | nonet ping 127.0.0.1 reach",
        "ping:nonet-to-egress | nonet ping 203.0.113.1 blocked",
      ]),
    );
    expect(rows.filter((r) => r.includes(":53"))).toEqual([]); // UDP is not probed
    expect(rows.filter((r) => r.includes("sidecar-to") || r.startsWith("ping:host-to-sidecar"))).toEqual([]); // it has no namespace of its own
    expect(new Set(rows.map((r) => r.split(" | ")[0])).size).toBe(rows.length);
  });

  it("a lab of 12 on one bridge probes a ring, not every pair", () => {
    const containers = Array.from({ length: 12 }, (_, i) => bridged(`c${i}`, [leg(`c${i}`, "eth0", "br0", `172.18.0.${10 + i}/16`)]));
    const paths = expectedPaths(buildTopology({ host: { name: "h" }, networks: [net("br0", "br0", 18)], containers }));
    expect(paths.filter((p) => p.name.includes("-on-br0"))).toHaveLength(12);
    expect(paths.find((p) => p.name === "ping:c11-to-c0-on-br0")).toBeDefined();
    // Without the host's address: containers ping their gateway instead, nothing is published-probed.
    expect(paths.find((p) => p.name === "ping:c0-to-gateway")!.target).toBe("172.18.0.1");
  });

  it("the ECS lab's long container names: probe names use what tells the containers apart, not a hash", () => {
    const STAT = "ecs-networking-demo-bridge-stat-1-nginx";
    const DYN = ["ecs-networking-demo-bridge-dyn-1-nginx", "ecs-networking-demo-bridge-dyn-2-nginx"];
    const port = (address: string, hostPort: number) => ({ protocol: "tcp" as const, hostIp: "0.0.0.0", hostPort, requestedHostPort: hostPort, address, port: 80, bridge: "docker0", probe: "http" as const });
    const served = (name: string, address: string, hostPort: number) =>
      bridged(name, [leg(name, "eth0", "docker0", `${address}/16`)], { expose: [{ port: 80, protocol: "tcp", bind: "any", probe: "http" }], ports: [port(address, hostPort)] });
    const topology = buildTopology({
      host: { name: "sandbox", address: "198.51.100.2" },
      networks: [net("docker0", "bridge", 17)],
      containers: [served(STAT, "172.17.0.2", 8080), served(DYN[0], "172.17.0.3", 32768), served(DYN[1], "172.17.0.4", 32769)],
    });
    const paths = expectedPaths(topology);
    expect(paths.map(row)).toEqual(
      expect.arrayContaining([
        `ping:dyn-1-to-dyn-2-on-docker0 | ${DYN[0]} ping 172.17.0.4 reach`,
        `ping:stat-1-to-dyn-1-on-docker0 | ${STAT} ping 172.17.0.3 reach`,
        `ping:host-to-stat-1 | host ping 172.17.0.2 reach`,
        `http:dyn-1-to-published-stat-1:80 | ${DYN[0]} http 198.51.100.2:8080 reach`,
        `http:outside-to-dyn-1:80 | outside http 198.51.100.2:32768 reach`,
        `ping:outside-to-dyn-2-address | outside ping 172.17.0.4 blocked`,
      ]),
    );
    // The same probes as with full names (none lost to a clash), every name readable: no hash.
    expect(paths).toHaveLength(3 * 4 + 3 * 2 + 3 * 4); // per container: ring, host, egress; exposed port; published port
    expect(paths.filter((p) => /-[0-9a-f]{8}$/.test(p.name) || p.name.includes("ecs-networking"))).toEqual([]);
    // Names that fit keep the full container names: the seed 004 lab above is unchanged.
    expect(expectedPaths(buildTopology({ host: { name: "h" }, networks: [net("br0", "br0", 18)], containers: [bridged("lab-a", [leg("lab-a", "eth0", "br0", "172.18.0.2/16")]), bridged("lab-b", [leg("lab-b", "eth0", "br0", "172.18.0.3/16")])] }))[0].name).toBe("ping:lab-a-to-lab-b-on-br0");
  });

  it("distinctParts: the whole words all names share at the start and at the end dropped, when what is left is unambiguous", () => {
    const parts = distinctParts(["ecs-demo-stat-1-nginx", "ecs-demo-dyn-1-nginx", "ecs-demo-dyn-2-nginx", "ecs-demo-dyn-1-nginx"])!;
    expect(parts.prefix).toBe("ecs-demo-");
    expect(parts.suffix).toBe("-nginx");
    expect([...parts.short]).toEqual([
      ["ecs-demo-stat-1-nginx", "stat-1"],
      ["ecs-demo-dyn-1-nginx", "dyn-1"],
      ["ecs-demo-dyn-2-nginx", "dyn-2"],
    ]);
    expect([...distinctParts(["ecs-demo-stat-1-nginx", "ecs-demo-dyn-1-nginx"])!.short.values()]).toEqual(["stat", "dyn"]); // "-1-nginx" is shared too
    expect([...distinctParts(["fam-1-nginx", "fam-1-sidecar"])!.short.values()]).toEqual(["nginx", "sidecar"]);
    expect([...distinctParts(["a-b", "a-b-c"])!.short.values()]).toEqual(["b", "b-c"]); // at least one word is kept
    expect(distinctParts(["web", "db"])).toBeUndefined(); // nothing shared
    expect(distinctParts(["netns0", "netns1"])).toBeUndefined(); // whole words only
    expect(distinctParts(["only-one"])).toBeUndefined();
    expect(distinctParts(["lab-host", "lab-web"])).toBeUndefined(); // "host" would read as the host
  });

  it("names stay probe names: ≤ 64 characters of [A-Za-z0-9_.:-], unique", () => {
    expect(pathName("ping:a-to-b")).toBe("ping:a-to-b");
    const long = pathName(`ping:${"x".repeat(60)}-to-${"y".repeat(60)}`);
    expect(long).toMatch(/^[A-Za-z0-9_.:-]{64}$/);
    expect(long).not.toBe(pathName(`ping:${"x".repeat(60)}-to-${"y".repeat(59)}z`));
    expect(pathName("a b@c")).toBe("a_b_c");
  });
});
