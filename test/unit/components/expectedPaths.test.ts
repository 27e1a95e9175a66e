import { ExpectedPath, expectedPaths, pathName } from "../../../provider/components/expectedPaths";
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

  it("names stay probe names: ≤ 64 characters of [A-Za-z0-9_.:-], unique", () => {
    expect(pathName("ping:a-to-b")).toBe("ping:a-to-b");
    const long = pathName(`ping:${"x".repeat(60)}-to-${"y".repeat(60)}`);
    expect(long).toMatch(/^[A-Za-z0-9_.:-]{64}$/);
    expect(long).not.toBe(pathName(`ping:${"x".repeat(60)}-to-${"y".repeat(59)}z`));
    expect(pathName("a b@c")).toBe("a_b_c");
  });
});
