import { summarize } from "../../../provider/components/container";
import { networkInspect } from "../../../provider/components/inspect";
import { tcpForwardCommand } from "../../../provider/host/tcpForward";

describe("networkInspect", () => {
  it("Docker's shape, containers by name in natural order", () => {
    const facts = { name: "docker0", network: "bridge", subnet: "172.17.0.0/16", gateway: "172.17.0.1", mtu: 1500, egress: true, isolated: true, icc: true };
    expect(
      networkInspect(facts, [
        { container: "web10", address: "172.17.0.3/16", mac: "02:42:ac:11:00:03" },
        { container: "web2", address: "172.17.0.2/16", mac: "02:42:ac:11:00:02" },
      ]),
    ).toEqual({
      Name: "bridge",
      Driver: "bridge",
      Scope: "local",
      Internal: false,
      IPAM: { Driver: "default", Config: [{ Subnet: "172.17.0.0/16", Gateway: "172.17.0.1" }] },
      Containers: {
        web2: { Name: "web2", IPv4Address: "172.17.0.2/16", MacAddress: "02:42:ac:11:00:02" },
        web10: { Name: "web10", IPv4Address: "172.17.0.3/16", MacAddress: "02:42:ac:11:00:03" },
      },
      Options: {
        "com.docker.network.bridge.name": "docker0",
        "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.driver.mtu": "1500",
        "bridgelab.isolated": "true",
      },
    });
    expect(Object.keys(networkInspect(facts, [{ container: "b10", address: "", mac: "" }, { container: "b9", address: "", mac: "" }]).Containers)).toEqual(["b9", "b10"]);
  });
});

describe("container summary", () => {
  it("docker port / docker ps views, dynamic ports as allocated", () => {
    const s = summarize({
      name: "backend",
      mode: "bridge",
      netns: "backend",
      attachments: [
        { ifname: "eth0", hostIfname: "veth1234567", bridge: "docker0", network: "bridge", address: "172.17.0.3/16", mac: "02:42:ac:11:00:03" },
        { ifname: "eth1", hostIfname: "veth89abcde", bridge: "br-database", network: "database", address: "172.19.0.2/16", mac: "02:42:ac:13:00:02" },
      ],
      gateway: "172.17.0.1",
      workload: { command: ["x"], pid: 7 },
      expose: [],
      ports: [{ protocol: "tcp", hostIp: "0.0.0.0", hostPort: 32768, requestedHostPort: 0, address: "172.17.0.3", port: 8000, bridge: "docker0", probe: "http" }],
    });
    expect(s).toEqual({
      name: "backend",
      mode: "bridge",
      netns: "backend",
      pid: 7,
      networks: {
        bridge: { ifname: "eth0", hostIfname: "veth1234567", bridge: "docker0", address: "172.17.0.3", prefixLength: 16, gateway: "172.17.0.1", mac: "02:42:ac:11:00:03" },
        database: { ifname: "eth1", hostIfname: "veth89abcde", bridge: "br-database", address: "172.19.0.2", prefixLength: 16, mac: "02:42:ac:13:00:02" },
      },
      ports: { "8000/tcp": [{ hostIp: "0.0.0.0", hostPort: 32768, requestedHostPort: 0 }] },
      published: ["0.0.0.0:32768->8000/tcp"],
    });
  });
});

describe("tcpForwardCommand", () => {
  it("socat relay argv", () => {
    expect(tcpForwardCommand(9090, "127.0.0.1", 9000)).toEqual(["socat", "TCP-LISTEN:9090,fork,reuseaddr", "TCP:127.0.0.1:9000"]);
  });
  it("refuses what would not be a port or an IPv4 address", () => {
    expect(() => tcpForwardCommand(0, "127.0.0.1", 9000)).toThrow(/listenPort 0/);
    expect(() => tcpForwardCommand(9090, "127.0.0.1", 70000)).toThrow(/targetPort 70000/);
    expect(() => tcpForwardCommand(9090, "::1", 9000)).toThrow(/IPv4/);
    expect(() => tcpForwardCommand(9090, "localhost;rm", 9000)).toThrow(/IPv4/);
  });
});
