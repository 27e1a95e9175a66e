import * as pulumi from "@pulumi/pulumi";
import { Container, Network, connectionFromConfig } from "bridgelab";

/**
 * The benchmark's lab: netns-lab's topology (bridge with egress NAT, N namespaces each with a
 * veth, an address and a default route) where EVERY container publishes one port
 * (hostPortBase + i → port), not only the first. No workload process and no LabProbe: the
 * benchmark measures the network plumbing.
 *
 * Config (bridgelab:KEY): containers (10) · bridgeName (brb0) · subnet (172.30.0.0/16) ·
 * port (5000) · hostPortBase (20000) · sandbox / connection as in the stacks.
 */
const config = new pulumi.Config("bridgelab");
const connection = connectionFromConfig(config);
const count = config.getNumber("containers") ?? 10;
const port = config.getNumber("port") ?? 5000;
const hostPortBase = config.getNumber("hostPortBase") ?? 20000;
const bridgeName = config.get("bridgeName") ?? "brb0";

const net = new Network("br0", {
  connection,
  name: bridgeName,
  subnet: config.get("subnet") ?? "172.30.0.0/16",
  mtu: 1500,
  egress: true,
  allocation: { first: 10, step: 1 },
});

const containers: Container[] = [];
for (let i = 0; i < count; i++) {
  containers.push(
    new Container(`c${i}`, {
      connection,
      name: `bn${i}`,
      network: { network: net, index: i, hostIfname: `bv${i}`, ifname: `eth0` },
      ports: [{ port, hostPort: hostPortBase + i }],
    }),
  );
}

export const containerCount = count;
export const addresses = pulumi.all(containers.map((c) => c.summary)).apply((s) => s.map((c) => c.name));
