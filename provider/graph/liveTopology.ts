import * as ipaddr from "ipaddr.js";
import { globalCidrs } from "../host/ipJson";
import { HostSnapshot, NamespaceSnapshot, egressSubnets, isolationOf, parseDnatRules } from "../host/topologyScripts";
import { subnetOf } from "../host/validate";
import {
  TOPOLOGY_VERSION,
  Topology,
  TopologyBridge,
  TopologyContainer,
  TopologyNamespace,
  TopologyPort,
  TopologyVeth,
  compareNames,
} from "../components/topology";

/**
 * A Topology from what a host holds right now (see host/topologyScripts.ts), for `bridgelab
 * graph --live`. Pure. A live host knows no containers, only namespaces: each namespace
 * stands for one container of the same name, in "bridge" mode when it has interfaces besides
 * the loopback and "none" otherwise. Workloads and exposed ports are not read.
 *
 * A veth pair is recognised from its namespace end: `link_index` there is the host end's
 * ifindex, and the host end's `link_index` points back.
 */
export function topologyFromSnapshot(snap: HostSnapshot, hostName: string): Topology {
  const host = snap.host;
  const ipv4 = (cidrs: string[]) => cidrs.filter((c) => c.includes(".") && !c.startsWith("127."));
  const addrOf = (ns: NamespaceSnapshot, ifname: string) => ipv4(globalCidrs(ns.addrs.find((a) => a.ifname === ifname)))[0];

  // The host's address: the first IPv4 address on its default route's interface.
  const defaultDev = host.routes.find((r) => r.dst === "default")?.dev;
  const hostCidr = defaultDev ? addrOf(host, defaultDev) : undefined;

  const egress = egressSubnets(snap.nat);
  const { isolated, iccOff } = isolationOf(snap.filter);
  const bridges: TopologyBridge[] = host.links
    .filter((l) => l.kind === "bridge")
    .map((l) => {
      const cidr = addrOf(host, l.ifname);
      const subnet = cidr ? subnetOf(cidr) : "";
      return {
        name: l.ifname,
        network: l.ifname,
        subnet,
        gateway: cidr ? cidr.split("/")[0] : "",
        mtu: l.mtu,
        egress: subnet !== "" && egress.includes(subnet),
        isolated: isolated.has(l.ifname),
        icc: !iccOff.has(l.ifname),
      };
    })
    .sort((a, b) => compareNames(a.name, b.name));

  const namespaces: TopologyNamespace[] = [];
  const veths: TopologyVeth[] = [];
  const containers: TopologyContainer[] = [];
  for (const ns of [...snap.namespaces].sort((a, b) => compareNames(a.name, b.name))) {
    const links = ns.links.filter((l) => l.ifname !== "lo");
    const interfaces = links
      .map((l) => {
        const address = addrOf(ns, l.ifname);
        return { ifname: l.ifname, ...(address ? { address } : {}), ...(l.address ? { mac: l.address } : {}) };
      })
      .sort((a, b) => compareNames(a.ifname, b.ifname));
    namespaces.push({ name: ns.name, containers: [ns.name], interfaces });
    for (const l of links) {
      if (l.kind !== "veth" || l.linkIndex === undefined) continue;
      const peer = host.links.find((h) => h.ifindex === l.linkIndex && h.kind === "veth" && (h.linkIndex === undefined || h.linkIndex === l.ifindex));
      if (!peer) continue;
      const i = interfaces.find((x) => x.ifname === l.ifname)!;
      veths.push({ container: ns.name, host: { ifname: peer.ifname, ...(peer.master ? { bridge: peer.master } : {}) }, peer: { netns: ns.name, ...i } });
    }
    const gateway = ns.routes.find((r) => r.dst === "default")?.gateway;
    containers.push({
      name: ns.name,
      mode: interfaces.length ? "bridge" : "none",
      netns: ns.name,
      addresses: interfaces.filter((i) => i.address).map((i) => i.address!.split("/")[0]),
      ...(gateway ? { gateway } : {}),
      expose: [],
    });
  }
  veths.sort((a, b) => compareNames(a.host.ifname, b.host.ifname));

  const ports: TopologyPort[] = parseDnatRules(snap.nat)
    .map((d) => {
      const owner = containers.find((c) => c.addresses.includes(d.address));
      const bridge = bridges.find((b) => b.subnet && inside(d.address, b.subnet));
      return {
        container: owner?.name ?? "",
        protocol: d.protocol === "udp" ? ("udp" as const) : ("tcp" as const),
        hostIp: d.hostIp,
        hostPort: d.hostPort,
        requestedHostPort: d.hostPort,
        address: d.address,
        port: d.port,
        bridge: bridge?.name ?? "",
        probe: "none" as const,
      };
    })
    .sort((a, b) => compareNames(a.container, b.container) || a.protocol.localeCompare(b.protocol) || a.port - b.port || a.hostIp.localeCompare(b.hostIp));

  return {
    version: TOPOLOGY_VERSION,
    host: { name: hostName, ...(hostCidr ? { address: hostCidr.split("/")[0] } : {}) },
    bridges,
    namespaces,
    veths,
    containers,
    ports,
  };
}

function inside(address: string, cidr: string): boolean {
  try {
    return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr));
  } catch {
    return false;
  }
}
