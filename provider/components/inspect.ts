import type { NetworkFacts } from "./topology";
import { compareNames } from "./topology";

/**
 * A `docker network inspect`-like view of a Network, for stack outputs. Pure.
 *
 *   {
 *     "Name": "bridge", "Driver": "bridge", "Scope": "local", "Internal": false,
 *     "IPAM": { "Driver": "default", "Config": [{ "Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1" }] },
 *     "Containers": { "web": { "Name": "web", "IPv4Address": "172.17.0.2/16", "MacAddress": "02:42:ac:11:00:02" } },
 *     "Options": { "com.docker.network.bridge.name": "docker0", "com.docker.network.bridge.enable_icc": "true",
 *                  "com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.driver.mtu": "1500" }
 *   }
 *
 * Docker keys Containers by container id; bridgelab has no ids, so by name. `Internal` is
 * true when the network has no egress (Docker's `--internal`).
 */
export interface NetworkInspect {
  Name: string;
  Driver: "bridge";
  Scope: "local";
  Internal: boolean;
  IPAM: { Driver: "default"; Config: Array<{ Subnet: string; Gateway: string }> };
  Containers: Record<string, { Name: string; IPv4Address: string; MacAddress: string }>;
  Options: Record<string, string>;
}

export interface InspectMember {
  container: string;
  /** CIDR. */
  address: string;
  mac: string;
}

export function networkInspect(net: NetworkFacts, members: InspectMember[]): NetworkInspect {
  const containers: NetworkInspect["Containers"] = {};
  for (const m of [...members].sort((a, b) => compareNames(a.container, b.container))) {
    containers[m.container] = { Name: m.container, IPv4Address: m.address, MacAddress: m.mac };
  }
  return {
    Name: net.network,
    Driver: "bridge",
    Scope: "local",
    Internal: !net.egress,
    IPAM: { Driver: "default", Config: [{ Subnet: net.subnet, Gateway: net.gateway }] },
    Containers: containers,
    Options: {
      "com.docker.network.bridge.name": net.name,
      "com.docker.network.bridge.enable_icc": String(net.icc),
      "com.docker.network.bridge.enable_ip_masquerade": String(net.egress),
      "com.docker.network.driver.mtu": String(net.mtu),
      "bridgelab.isolated": String(net.isolated),
    },
  };
}
