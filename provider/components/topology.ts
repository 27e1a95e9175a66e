/**
 * The lab's topology as plain JSON: what a stack exports as `topology` and what
 * `bridgelab graph` draws. Pure: types and one builder, no Pulumi, no I/O.
 *
 * THE SHAPE IS A CONTRACT. Readers (the graph renderer, tests, users' scripts) rely on it:
 * add optional fields if you must, never rename or remove one; an incompatible change bumps
 * `version`. Every list is sorted (by name, or by the fields stated) so that the same lab
 * always exports the same JSON.
 *
 * Seed 004's end state, abridged:
 *
 *   {
 *     "version": 1,
 *     "host": { "name": "sandbox bridgelab", "address": "198.51.100.2" },
 *     "bridges": [{ "name": "br0", "network": "br0", "subnet": "172.18.0.0/16", "gateway": "172.18.0.1",
 *                   "mtu": 1500, "egress": true, "isolated": false, "icc": true }],
 *     "namespaces": [{ "name": "netns0", "containers": ["netns0"],
 *                      "interfaces": [{ "ifname": "ceth0", "address": "172.18.0.10/16", "mac": "02:42:ac:12:00:0a" }] }, …],
 *     "veths": [{ "container": "netns0", "host": { "ifname": "veth0", "bridge": "br0" },
 *                 "peer": { "netns": "netns0", "ifname": "ceth0", "address": "172.18.0.10/16", "mac": "02:42:ac:12:00:0a" } }, …],
 *     "containers": [{ "name": "netns0", "mode": "bridge", "netns": "netns0", "addresses": ["172.18.0.10"],
 *                      "gateway": "172.18.0.1", "workload": { "command": ["socat", …], "pid": 4242 },
 *                      "expose": [{ "port": 5000, "protocol": "tcp", "bind": "address", "probe": "http" }] }, …],
 *     "ports": [{ "container": "netns0", "protocol": "tcp", "hostIp": "0.0.0.0", "hostPort": 5000, "requestedHostPort": 5000,
 *                 "address": "172.18.0.10", "port": 5000, "bridge": "br0", "probe": "http" }]
 *   }
 *
 * Drawing it: the host is one box holding the bridges and the host ends of the veths; each
 * namespace is a box holding its interfaces; a veth is an edge from `host.ifname` (on its
 * bridge) to `peer.ifname` in `peer.netns`; a port is an arrow from `host.address:hostPort`
 * to `address:port`. Containers in "host" mode have no namespace (they live in the host
 * box); in "container" mode they share the namespace named by `netns` with `sharesWith`;
 * in "none" mode their namespace has no interfaces but the loopback.
 */

export const TOPOLOGY_VERSION = 1;

export type ContainerMode = "bridge" | "host" | "none" | "container";
export type PortProtocol = "tcp" | "udp";
/** How verification checks a port: an HTTP GET, a TCP connect, or not at all. */
export type PortProbe = "http" | "tcp" | "none";

export interface Topology {
  version: typeof TOPOLOGY_VERSION;
  host: TopologyHost;
  bridges: TopologyBridge[];
  /** Network namespaces of the lab (not the host's own), by name. */
  namespaces: TopologyNamespace[];
  /** By host ifname. */
  veths: TopologyVeth[];
  /** By name. */
  containers: TopologyContainer[];
  /** By container, protocol, port, hostIp. */
  ports: TopologyPort[];
}

export interface TopologyHost {
  /** A label for the host: "sandbox bridgelab", "ssh root@lab-1", "local". */
  name: string;
  /** The host's address as the outside sees it (the uplink), where published ports answer. */
  address?: string;
}

export interface TopologyBridge {
  /** Kernel interface name: "br0", "docker0". */
  name: string;
  /** The network's name, as `docker network ls` shows it ("bridge" for docker0). */
  network: string;
  /** "172.18.0.0/16" */
  subnet: string;
  /** The bridge's own address, the containers' default gateway: "172.18.0.1". */
  gateway: string;
  mtu: number;
  /** Containers get out through the host (MASQUERADE + ip_forward). */
  egress: boolean;
  /** Fenced from the other isolated bridges (Docker's isolation stages). */
  isolated: boolean;
  /** Containers on this bridge may talk to each other. */
  icc: boolean;
}

export interface TopologyInterface {
  ifname: string;
  /** CIDR: "172.18.0.10/16". */
  address?: string;
  mac?: string;
}

export interface TopologyNamespace {
  name: string;
  /** The containers living in it: one, or several in container mode (the owner first). */
  containers: string[];
  /** Interfaces besides the loopback, by ifname; empty for a "none" container. */
  interfaces: TopologyInterface[];
}

export interface TopologyVeth {
  /** The container that owns the pair. */
  container: string;
  /** The end on the host, a port of `bridge`. */
  host: { ifname: string; bridge?: string };
  /** The end inside the namespace. */
  peer: { netns: string } & TopologyInterface;
}

export interface TopologyExpose {
  port: number;
  protocol: PortProtocol;
  /** Where the workload listens: every address of its namespace, only its own address, or only 127.0.0.1. */
  bind: "any" | "address" | "localhost";
  probe: PortProbe;
}

export interface TopologyContainer {
  name: string;
  mode: ContainerMode;
  /** The namespace it runs in; absent in "host" mode. */
  netns?: string;
  /** Container mode: the container whose namespace it shares. */
  sharesWith?: string;
  /** Its IPv4 addresses without prefix, eth0's first; the host's address in "host" mode when known, [] for "none". */
  addresses: string[];
  /** Its default gateway (eth0's network's), if it has one. */
  gateway?: string;
  /** The process it runs, if any. */
  workload?: { command: string[]; pid?: number };
  /** Ports its workload listens on (Dockerfile EXPOSE), by protocol and port. */
  expose: TopologyExpose[];
}

export interface TopologyPort {
  container: string;
  protocol: PortProtocol;
  /** "0.0.0.0" for every address of the host. */
  hostIp: string;
  /** The port on the host: the declared one, or the allocated one for a dynamic port. */
  hostPort: number;
  /** As declared: 0 for a dynamic port. */
  requestedHostPort: number;
  /** The container's address the port leads to. */
  address: string;
  port: number;
  bridge: string;
  probe: PortProbe;
}

/** What a Network component knows of itself, resolved (its `facts` output). */
export type NetworkFacts = TopologyBridge;

/** One interface of a container on a network: the veth pair's two ends. */
export interface AttachmentFacts {
  /** Inside the namespace: "eth0". */
  ifname: string;
  /** On the host: "veth0", "veth1a2b3c4". */
  hostIfname: string;
  /** Kernel bridge name. */
  bridge: string;
  /** Network name. */
  network: string;
  /** CIDR. */
  address: string;
  mac: string;
}

/** What a Container component knows of itself, resolved (its `facts` output). */
export interface ContainerFacts {
  name: string;
  mode: ContainerMode;
  netns?: string;
  sharesWith?: string;
  /** Bridge mode: eth0, eth1, … in order. */
  attachments: AttachmentFacts[];
  gateway?: string;
  workload?: { command: string[]; pid?: number };
  expose: TopologyExpose[];
  ports: Array<Omit<TopologyPort, "container">>;
}

const byName = <T extends { name: string }>(a: T, b: T) => compareNames(a.name, b.name);

/**
 * Natural order: digit runs compare as numbers, so netns2 comes before netns10. Ties (e.g.
 * "a01" and "a1") fall back to plain code-unit order, so the order is total.
 */
export function compareNames(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i], pb[i]];
    const nx = /^\d/.test(x) && /^\d/.test(y);
    if (nx) {
      const d = BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0;
      if (d !== 0) return d;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const ipOf = (cidr: string) => cidr.split("/")[0];

/**
 * Build the topology from what the lab's components know of themselves. Pure and
 * deterministic: the output does not depend on the order of the inputs.
 *
 * Throws when the facts contradict each other (a container on a bridge that is not in
 * `networks`, two containers claiming one namespace, a container sharing with an unknown
 * one): a stack that exports such a topology has a bug.
 */
export function buildTopology(input: { host: TopologyHost; networks: NetworkFacts[]; containers: ContainerFacts[] }): Topology {
  const bridges = [...input.networks].sort(byName).map((n) => ({ ...n }));
  const bridgeNames = new Set(bridges.map((b) => b.name));
  const containers = [...input.containers].sort(byName);
  const byContainer = new Map(containers.map((c) => [c.name, c]));
  if (byContainer.size !== containers.length) throw new Error(`topology: two containers are named alike in ${JSON.stringify(containers.map((c) => c.name))}`);

  const namespaces = new Map<string, TopologyNamespace>();
  const veths: TopologyVeth[] = [];
  const ports: TopologyPort[] = [];
  const outContainers: TopologyContainer[] = [];

  // Owners (bridge and none mode) first, so that namespaces list their owner first.
  const owners = containers.filter((c) => c.mode === "bridge" || c.mode === "none");
  for (const c of owners) {
    if (!c.netns) throw new Error(`topology: container ${JSON.stringify(c.name)} in ${c.mode} mode has no namespace`);
    if (namespaces.has(c.netns)) throw new Error(`topology: containers ${JSON.stringify(namespaces.get(c.netns)!.containers[0])} and ${JSON.stringify(c.name)} both own namespace ${JSON.stringify(c.netns)}`);
    const interfaces: TopologyInterface[] = [];
    for (const a of c.attachments) {
      if (!bridgeNames.has(a.bridge)) throw new Error(`topology: container ${JSON.stringify(c.name)} is on bridge ${JSON.stringify(a.bridge)}, which is not among the networks`);
      interfaces.push({ ifname: a.ifname, address: a.address, mac: a.mac });
      veths.push({ container: c.name, host: { ifname: a.hostIfname, bridge: a.bridge }, peer: { netns: c.netns, ifname: a.ifname, address: a.address, mac: a.mac } });
    }
    interfaces.sort((x, y) => compareNames(x.ifname, y.ifname));
    namespaces.set(c.netns, { name: c.netns, containers: [c.name], interfaces });
  }

  for (const c of containers) {
    let addresses: string[] = c.attachments.map((a) => ipOf(a.address));
    let netns = c.netns;
    let gateway = c.gateway;
    if (c.mode === "container") {
      const other = c.sharesWith !== undefined ? byContainer.get(c.sharesWith) : undefined;
      if (!other) throw new Error(`topology: container ${JSON.stringify(c.name)} shares the namespace of ${JSON.stringify(c.sharesWith)}, which is not in the lab`);
      if (other.mode === "container") throw new Error(`topology: container ${JSON.stringify(c.name)} shares with ${JSON.stringify(other.name)}, which itself shares another's namespace; share with the owner`);
      addresses = other.mode === "host" ? [...(input.host.address ? [input.host.address] : [])] : other.attachments.map((a) => ipOf(a.address));
      netns = other.netns;
      gateway = other.gateway;
      if (netns) namespaces.get(netns)?.containers.push(c.name);
    } else if (c.mode === "host") {
      addresses = input.host.address ? [input.host.address] : [];
      netns = undefined;
    }
    const t: TopologyContainer = { name: c.name, mode: c.mode, addresses, expose: [...c.expose].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port) };
    if (netns !== undefined) t.netns = netns;
    if (c.sharesWith !== undefined && c.mode === "container") t.sharesWith = c.sharesWith;
    if (gateway !== undefined) t.gateway = gateway;
    if (c.workload) t.workload = { ...c.workload };
    outContainers.push(t);
    for (const p of c.ports) ports.push({ container: c.name, ...p });
  }

  veths.sort((a, b) => compareNames(a.host.ifname, b.host.ifname));
  ports.sort((a, b) => compareNames(a.container, b.container) || a.protocol.localeCompare(b.protocol) || a.port - b.port || a.hostIp.localeCompare(b.hostIp));
  return {
    version: TOPOLOGY_VERSION,
    host: { ...input.host },
    bridges,
    namespaces: [...namespaces.values()].sort(byName),
    veths,
    containers: outContainers,
    ports,
  };
}
