import { createHash } from "node:crypto";
import type { Topology, TopologyContainer } from "./topology";
import { compareNames } from "./topology";

/**
 * The paths a lab must (and must not) have, derived from its topology: the input of a
 * LabProbe. Pure.
 *
 * What is expected, for every kind of container (bridge-mode containers are "in" a bridge
 * through their veths; `from` is a namespace name, "host" or "outside"):
 *
 *   container ↔ container   on each bridge, a ring in name order (each member pings the next
 *                           one's address on that bridge, the last pings the first): reach,
 *                           or blocked with icc off. A ring makes every member a source and
 *                           a target with n probes instead of n².
 *   host ↔ container        the host pings each container; each container pings the host's
 *                           address (or its gateway when the host's address is not known).
 *   egress                  each container pings `egressTarget` (203.0.113.1, the sandbox's
 *                           stand-in internet): reach if its default route's bridge has
 *                           egress, else blocked. Host-mode containers reach it directly.
 *   exposed ports           a port the workload listens on everywhere or on its address:
 *                           reached from the host and from the next container on the bridge
 *                           (blocked with icc off); on 127.0.0.1 only: reached from its own
 *                           namespace (so also by the containers sharing it) and blocked
 *                           from the host. A host-mode workload's port is reached from the
 *                           outside on the host's address, with no NAT at all.
 *   published ports         host address:hostPort reached from the outside, from the host
 *                           and from the next container on the bridge (hairpin); the
 *                           container's own address stays blocked from the outside (only
 *                           published ports get in). The container reaching itself through
 *                           its own published port only with `selfHairpin` (see below).
 *   isolation               between two isolated bridges, a container on one only pings a
 *                           container on the other: blocked both ways (multi-homed
 *                           containers excepted: they are on both).
 *   none                    loopback only: 127.0.0.1 reached; the egress target and the
 *                           first bridge-mode container blocked (no route at all).
 *
 * Probes from the outside are left out with `outside: false` (hosts other than sandbox
 * hosts have none), published/host-mode ports when the host's address is unknown, and
 * dynamic ports not allocated yet (hostPort 0, as a preview shows them).
 * UDP ports are not probed. Probe names are unique, at most 64 characters of
 * [A-Za-z0-9_.:-]: "ping:netns0-to-netns1", "http:outside-to-netns0:5000". When a
 * container's full name makes one of them longer, every name of the lab uses the part of the
 * container names that tells them apart instead (see `distinctParts`: the ECS lab's
 * "ecs-networking-demo-bridge-stat-1-nginx" and "…-dyn-1-nginx" become "stat-1" and "dyn-1",
 * giving "http:dyn-1-to-published-stat-1:80"); only what is still too long is cut and hashed.
 */
export type PathKind = "ping" | "http" | "tcp";
export type PathExpect = "reach" | "blocked";

export interface ExpectedPath {
  name: string;
  /** A network namespace name, "host" or "outside". */
  from: string;
  kind: PathKind;
  /** "ip" or "ip:port". */
  target: string;
  expect: PathExpect;
}

export interface ExpectedPathOptions {
  /** An address beyond the host that containers with egress reach. @default "203.0.113.1" */
  egressTarget?: string;
  /** Include probes run from the outside (a sandbox host's stand-in internet). @default true */
  outside?: boolean;
  /**
   * Expect a container to reach itself through its own published port. With br_netfilter
   * (bridge-nf-call-iptables=1, the kernel's default once the module is loaded) the DNATed
   * packet must leave through the bridge port it came in by, which the bridge drops unless
   * the port has hairpin mode on (Docker turns it on with --userland-proxy=false; with the
   * proxy, docker-proxy answers instead). VethPair turns hairpin mode on for its bridge port, so
   * the path works on a bridgelab lab (the Docker parity test probes it); it is left out of the
   * default matrix only to keep labs' matrices as they were. @default false
   */
  selfHairpin?: boolean;
}

const NAME_MAX = 64;

/** Probe names: the readable form, or its head plus a hash when too long. */
export function pathName(text: string): string {
  const clean = text.replace(/[^A-Za-z0-9_.:-]/g, "_");
  if (clean.length <= NAME_MAX) return clean;
  const h = createHash("sha256").update(text).digest("hex").slice(0, 8);
  return `${clean.slice(0, NAME_MAX - 9)}-${h}`;
}

/** Words a probe name uses for something other than a container: no short name may be one of them. */
const RESERVED = new Set(["host", "outside", "egress", "gateway", "localhost", "itself", "published", "address", "to", "on", "isolated"]);

export interface DistinctParts {
  /** The '-'-separated words every name starts with, with their '-': "ecs-networking-demo-bridge-". */
  prefix: string;
  /** The words every name ends with, with their '-': "-nginx". */
  suffix: string;
  /** Full name → the part in between: "ecs-networking-demo-bridge-stat-1-nginx" → "stat-1". */
  short: Map<string, string>;
}

/**
 * The part of each name that tells it from the others: the whole '-'-separated words that all
 * of them start with and end with dropped, at least one word kept. Undefined when there are
 * fewer than two names, nothing is shared, or a short name would be ambiguous (two alike, or a
 * word probe names use, such as "host"). Pure.
 */
export function distinctParts(names: string[]): DistinctParts | undefined {
  const unique = [...new Set(names)];
  if (unique.length < 2) return undefined;
  const words = unique.map((n) => n.split("-"));
  const fewest = Math.min(...words.map((w) => w.length));
  const same = (at: (w: string[]) => string) => words.every((w) => at(w) === at(words[0]));
  let p = 0;
  while (p < fewest - 1 && same((w) => w[p])) p++;
  let s = 0;
  while (p + s < fewest - 1 && same((w) => w[w.length - 1 - s])) s++;
  if (p + s === 0) return undefined;
  const short = new Map(unique.map((n, i) => [n, words[i].slice(p, words[i].length - s).join("-")]));
  const parts = [...short.values()];
  if (new Set(parts).size !== parts.length || parts.some((x) => x === "" || RESERVED.has(x))) return undefined;
  const first = words[0];
  return { prefix: p ? `${first.slice(0, p).join("-")}-` : "", suffix: s ? `-${first.slice(first.length - s).join("-")}` : "", short };
}

interface Leg {
  bridge: string;
  address: string;
}

export function expectedPaths(topology: Topology, options: ExpectedPathOptions = {}): ExpectedPath[] {
  const full = collectPaths(topology, options, (n) => n);
  if (!full.some((p) => p.cut)) return full.map(({ cut: _, ...p }) => p);
  // A container name made a probe name too long: name them all by what tells them apart, so the
  // names stay readable (and consistent) rather than cut and hashed. The same probes, or none.
  const parts = distinctParts(topology.containers.map((c) => c.name));
  const short = parts ? collectPaths(topology, options, (n) => parts.short.get(n) ?? n) : undefined;
  const chosen = short && short.length === full.length ? short : full;
  return chosen.map(({ cut: _, ...p }) => p);
}

/** The paths, with containers named by `nm` in probe names; `cut` when a name had to be hashed. */
function collectPaths(topology: Topology, options: ExpectedPathOptions, nm: (container: string) => string): Array<ExpectedPath & { cut: boolean }> {
  const egressTarget = options.egressTarget ?? "203.0.113.1";
  const withOutside = options.outside ?? true;
  const hostAddress = topology.host.address;
  const out: Array<ExpectedPath & { cut: boolean }> = [];
  const seen = new Set<string>();
  const add = (label: string, from: string, kind: PathKind, target: string, expect: PathExpect) => {
    if (from === "outside" && !withOutside) return;
    const name = pathName(`${kind}:${label}`);
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ name, from, kind, target, expect, cut: name !== `${kind}:${label}`.replace(/[^A-Za-z0-9_.:-]/g, "_") });
  };

  const bridges = new Map(topology.bridges.map((b) => [b.name, b]));
  const containers = [...topology.containers].sort((a, b) => compareNames(a.name, b.name));
  const byName = new Map(containers.map((c) => [c.name, c]));
  const legs = new Map<string, Leg[]>();
  for (const v of topology.veths) {
    if (!v.host.bridge || !v.peer.address) continue;
    const l = legs.get(v.container) ?? [];
    l.push({ bridge: v.host.bridge, address: v.peer.address.split("/")[0] });
    legs.set(v.container, l);
  }
  for (const l of legs.values()) l.sort((a, b) => compareNames(a.bridge, b.bridge));
  const bridged = containers.filter((c) => c.mode === "bridge" && c.netns && (legs.get(c.name) ?? []).length > 0);
  const onBridge = (bridge: string) => bridged.filter((c) => legs.get(c.name)!.some((l) => l.bridge === bridge));
  const addrOn = (c: TopologyContainer, bridge: string) => legs.get(c.name)!.find((l) => l.bridge === bridge)?.address;
  /** The member after c on the bridge, in the ring; undefined when c is alone. */
  const next = (c: TopologyContainer, bridge: string) => {
    const ring = onBridge(bridge);
    if (ring.length < 2) return undefined;
    return ring[(ring.findIndex((x) => x.name === c.name) + 1) % ring.length];
  };
  const primaryBridge = (c: TopologyContainer) => {
    const gw = c.gateway;
    return topology.bridges.find((b) => b.gateway === gw && legs.get(c.name)!.some((l) => l.bridge === b.name))?.name ?? legs.get(c.name)![0].bridge;
  };

  // Container ↔ container, per bridge.
  for (const b of [...topology.bridges].sort((x, y) => compareNames(x.name, y.name))) {
    for (const c of onBridge(b.name)) {
      const n = next(c, b.name);
      if (!n) continue;
      add(`${nm(c.name)}-to-${nm(n.name)}-on-${b.name}`, c.netns!, "ping", addrOn(n, b.name)!, b.icc ? "reach" : "blocked");
    }
  }

  // Host ↔ container, and egress.
  for (const c of bridged) {
    const first = legs.get(c.name)![0];
    const primary = primaryBridge(c);
    add(`host-to-${nm(c.name)}`, "host", "ping", addrOn(c, primary) ?? first.address, "reach");
    if (hostAddress) add(`${nm(c.name)}-to-host`, c.netns!, "ping", hostAddress, "reach");
    else if (c.gateway) add(`${nm(c.name)}-to-gateway`, c.netns!, "ping", c.gateway, "reach");
    add(`${nm(c.name)}-to-egress`, c.netns!, "ping", egressTarget, bridges.get(primary)?.egress ? "reach" : "blocked");
  }
  for (const c of containers.filter((x) => x.mode === "host")) add(`${nm(c.name)}-to-egress`, "host", "ping", egressTarget, "reach");

  // Exposed ports.
  for (const c of containers) {
    const owner = c.mode === "container" && c.sharesWith ? byName.get(c.sharesWith) : c;
    for (const e of c.expose) {
      if (e.probe === "none" || e.protocol !== "tcp") continue;
      if (owner?.mode === "host") {
        if (e.bind !== "localhost" && hostAddress) add(`outside-to-${nm(c.name)}:${e.port}`, "outside", e.probe, `${hostAddress}:${e.port}`, "reach");
        continue;
      }
      if (!owner?.netns) continue;
      if (e.bind === "localhost") {
        add(`${nm(c.name)}-to-localhost:${e.port}`, owner.netns, e.probe, `127.0.0.1:${e.port}`, "reach");
        if ((legs.get(owner.name) ?? []).length > 0) add(`host-to-${nm(c.name)}:${e.port}`, "host", e.probe, `${addrOn(owner, primaryBridge(owner))}:${e.port}`, "blocked");
        continue;
      }
      if ((legs.get(owner.name) ?? []).length === 0) continue; // none mode: nothing can reach it
      const primary = primaryBridge(owner);
      const addr = addrOn(owner, primary)!;
      add(`host-to-${nm(c.name)}:${e.port}`, "host", e.probe, `${addr}:${e.port}`, "reach");
      const n = next(owner, primary);
      if (n) add(`${nm(n.name)}-to-${nm(c.name)}:${e.port}`, n.netns!, e.probe, `${addr}:${e.port}`, bridges.get(primary)?.icc ? "reach" : "blocked");
    }
  }

  // Published ports.
  for (const p of topology.ports) {
    if (p.probe === "none" || p.protocol !== "tcp") continue;
    const c = byName.get(p.container);
    const ip = p.hostIp !== "0.0.0.0" ? p.hostIp : hostAddress;
    // hostPort 0: a dynamic port not allocated yet (a preview of its creation): nothing to probe.
    if (!c || !ip || !c.netns || p.hostPort === 0) continue;
    const target = `${ip}:${p.hostPort}`;
    add(`outside-to-${nm(c.name)}:${p.port}`, "outside", p.probe, target, "reach");
    add(`host-to-published-${nm(c.name)}:${p.port}`, "host", p.probe, target, "reach");
    const n = bridged.includes(c) ? next(c, p.bridge) : undefined;
    if (n) add(`${nm(n.name)}-to-published-${nm(c.name)}:${p.port}`, n.netns!, p.probe, target, "reach");
    if (options.selfHairpin) add(`${nm(c.name)}-to-itself-published:${p.port}`, c.netns, p.probe, target, "reach");
    add(`outside-to-${nm(c.name)}-address`, "outside", "ping", p.address, "blocked");
  }

  // Isolation between isolated bridges.
  const isolated = topology.bridges.filter((b) => b.isolated).sort((x, y) => compareNames(x.name, y.name));
  for (let i = 0; i < isolated.length; i++) {
    for (let j = i + 1; j < isolated.length; j++) {
      const [a, b] = [isolated[i].name, isolated[j].name];
      const only = (x: string, y: string) => onBridge(x).find((c) => !legs.get(c.name)!.some((l) => l.bridge === y));
      const ca = only(a, b);
      const cb = only(b, a);
      if (!ca || !cb) continue;
      add(`${nm(ca.name)}-to-${nm(cb.name)}-on-${b}-isolated`, ca.netns!, "ping", addrOn(cb, b)!, "blocked");
      add(`${nm(cb.name)}-to-${nm(ca.name)}-on-${a}-isolated`, cb.netns!, "ping", addrOn(ca, a)!, "blocked");
    }
  }

  // None mode: loopback only.
  for (const c of containers.filter((x) => x.mode === "none" && x.netns)) {
    add(`${nm(c.name)}-to-localhost`, c.netns!, "ping", "127.0.0.1", "reach");
    add(`${nm(c.name)}-to-egress`, c.netns!, "ping", egressTarget, "blocked");
    if (bridged[0]) add(`${nm(c.name)}-to-${nm(bridged[0].name)}`, c.netns!, "ping", legs.get(bridged[0].name)![0].address, "blocked");
  }
  return out;
}
