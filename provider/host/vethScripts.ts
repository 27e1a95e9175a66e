import { Owner, aliasOwnerLines, forgetOwnerLines, ownerTag, recordOwnerLines } from "./owner";
import { shJoin } from "./quote";
import { sectionMarker as mark } from "./sections";
import { EXIT_EXISTS, Line, armUndo, disarm, holdSignals, script } from "./script";
import { subnetOf } from "./validate";

/**
 * Scripts for a veth pair: one end on the host, the peer in a network namespace (or also on
 * the host). Values must have passed the checks in vethPair.ts. The seed's steps
 *
 *   ip link add veth0 type veth peer name ceth0
 *   ip link set ceth0 netns netns0
 *   ip link set veth0 up; ip addr add 172.18.0.11/16 dev veth0
 *   ip -n netns0 link set ceth0 up; ip -n netns0 addr add 172.18.0.10/16 dev ceth0
 *
 * become one create script in which the peer is born inside the namespace under its final
 * name (no moment where it sits on the host under a name that could collide):
 *
 *   ip link add name veth0 mtu 1500 type veth peer name ceth0 mtu 1500 address 02:42:ac:12:00:0a netns netns0
 *   ip link set dev veth0 alias bridgelab:v2:veth:1a2b3c4d
 *   ...
 *
 * Only the host end carries the tag, which names the pair's owner (owner.ts; its URN is kept
 * in /run/bridgelab/owners/ID); deleting the host end deletes the pair, wherever the peer is.
 * Without an owner (state of bridgelab 0.1) the tag is 0.1's `bridgelab:v1:veth`.
 */
const KIND = "veth";

/** Exit status of a script that found a route clash and changed nothing. */
export const EXIT_ROUTE_CLASH = 74;

export interface VethSpec {
  /** Host end. */
  name: string;
  /** Namespace of the peer; absent: the peer stays on the host. */
  netns?: string;
  /** The peer's name where it lives (inside netns, or on the host). */
  peerIfname: string;
  /** Bridge the host end is a port of. */
  bridge?: string;
  /** CIDR on the host end. */
  hostAddress?: string;
  /** CIDR on the peer. */
  address?: string;
  /** Default route of the namespace, via this neighbour. */
  gateway?: string;
  mtu: number;
  /** MAC of the peer; absent: the kernel's random one is kept. */
  mac?: string;
  up: boolean;
  /** Who made it; absent for state of bridgelab 0.1. */
  owner?: Owner;
}

/** argv of `ip` acting where the peer lives: `ip -n netns0 ...` or plain `ip ...`. */
function peerIp(v: VethSpec, ...args: string[]): string[] {
  return v.netns ? ["ip", "-n", v.netns, ...args] : ["ip", ...args];
}

function peerIpText(v: VethSpec): string {
  return v.netns ? `ip -n ${v.netns}` : "ip";
}

function ours(name: string, owner: Owner | undefined): string {
  return `ip -j link show dev ${name} 2>/dev/null | grep -qF '"ifalias":"${ownerTag(KIND, owner)}"'`;
}

/**
 * Before an update touches anything: the host end must be `from`'s (or already `to`'s: an
 * update retried after its re-tag). Otherwise print "gone" (no such link) or "foreign" (its
 * link, and its owner's record under "owner") and stop, changing nothing.
 */
function onlyOwn(name: string, from: Owner | undefined, to: Owner | undefined): string[] {
  const owners = ownerTag(KIND, from) === ownerTag(KIND, to) ? [to] : [from, to];
  const show = `ip -j link show dev ${name}`;
  return [
    `if ! ip link show dev ${name} >/dev/null 2>&1; then ${mark("gone")}; exit 0; fi`,
    `if ${owners.map((o) => `! ${ours(name, o)}`).join(" && ")}; then ${[mark("foreign"), show, ...aliasOwnerLines(show)].join("; ")}; exit 0; fi`,
  ];
}

/** Everything read and delete need, in sections; missing peer pieces print `[]`. */
function readBack(v: VethSpec): string[] {
  const p = peerIpText(v);
  const lines = [
    mark("host"),
    `ip -j -d link show dev ${v.name}`,
    mark("hostaddr"),
    `ip -j addr show dev ${v.name}`,
    mark("peer"),
    `${p} -j -d link show dev ${v.peerIfname} 2>/dev/null || echo '[]'`,
    mark("peeraddr"),
    `${p} -j addr show dev ${v.peerIfname} 2>/dev/null || echo '[]'`,
  ];
  if (v.netns) lines.push(mark("routes"), `${p} -j route show default 2>/dev/null || echo '[]'`);
  return lines;
}

/**
 * The seed's route clash, refused before anything changes: a host-side address whose subnet
 * overlaps a route the host already has on another device (the kernel would install a
 * second connected route and use only one). Routes inside the subnet (`root`) and covering
 * it (`match`, minus the default route) count; our own device's do not.
 */
function routeClashCheck(v: VethSpec): string[] {
  if (!v.hostAddress) return [];
  const subnet = subnetOf(v.hostAddress);
  const fam = subnet.includes(":") ? "-6" : "-4";
  return [
    `clash=$( { ip ${fam} route show root ${subnet}; ip ${fam} route show match ${subnet}; } 2>/dev/null | grep -v '^default' | sed 's/ *$/ /' | grep -vF ' dev ${v.name} ' | sort -u || true)`,
    `if [ -n "$clash" ]; then ${mark("clash")}; printf '%s\\n' "$clash"; exit ${EXIT_ROUTE_CLASH}; fi`,
  ];
}

/**
 * Create the pair. If a link named `name` exists, print what read would under "exists" (and
 * its owner's record under "owner") and exit EXIT_EXISTS: the caller adopts it only if it is
 * a veth carrying this owner's tag. A peer name already taken, a missing namespace or a route
 * clash fail before anything changes. The owner is recorded once the host end is tagged; the
 * undo deletes the pair and forgets the record.
 */
export function vethCreateScript(v: VethSpec): string {
  const where = v.netns ? `in network namespace ${v.netns}` : "on the host";
  const peerOpts = ["name", v.peerIfname, "mtu", String(v.mtu), ...(v.mac ? ["address", v.mac] : []), ...(v.netns ? ["netns", v.netns] : [])];
  const lines: Line[] = [
    "set -u",
    `if ip link show dev ${v.name} >/dev/null 2>&1; then ${mark("exists")}; ${[...readBack(v), ...aliasOwnerLines(`ip -j link show dev ${v.name}`)].join("; ")}; exit ${EXIT_EXISTS}; fi`,
  ];
  if (v.netns) lines.push(`if [ ! -e /run/netns/${v.netns} ]; then echo 'network namespace ${v.netns} does not exist (create the NetNamespace first)' >&2; exit 1; fi`);
  lines.push(
    `if ${peerIpText(v)} link show dev ${v.peerIfname} >/dev/null 2>&1; then echo 'the peer name ${v.peerIfname} is already taken ${where}' >&2; exit 1; fi`,
    ...routeClashCheck(v),
    "set -e",
    holdSignals(),
    ["ip", "link", "add", "name", v.name, "mtu", String(v.mtu), "type", "veth", "peer", ...peerOpts],
    // Armed only after our own `ip link add` succeeded. Deleting the host end deletes the
    // peer too, also once it is inside the namespace.
    armUndo([`ip link del dev ${v.name}`, ...forgetOwnerLines(v.owner)].join("; "), { afterHold: true }),
  );
  // The rest in two `ip -batch` runs, the host end's then the peer's, instead of a process
  // per step (a lab's veths are its most numerous scripts). A failing line stops its batch
  // with "Command failed -:N" and a non-zero exit, and the undo runs as before.
  const host: string[][] = [["link", "set", "dev", v.name, "alias", ownerTag(KIND, v.owner)]];
  if (v.hostAddress) host.push(["addr", "add", v.hostAddress, "dev", v.name]);
  if (v.bridge) host.push(["link", "set", "dev", v.name, "master", v.bridge], hairpinOn(v.name).slice(1) as string[]);
  host.push(["link", "set", "dev", v.name, v.up ? "up" : "down"]);
  const peer: string[][] = [];
  if (v.address) peer.push(["addr", "add", v.address, "dev", v.peerIfname]);
  peer.push(["link", "set", "dev", v.peerIfname, v.up ? "up" : "down"]);
  if (v.gateway) peer.push(["route", "add", "default", "via", v.gateway, "dev", v.peerIfname]);
  lines.push(ipBatch(["ip"], host), ...recordOwnerLines(v.owner), ipBatch(peerIp(v), peer), disarm(), ...readBack(v));
  return script(lines);
}

/**
 * `ip -batch` with its commands in a here-document: `ip -n netns0 -batch - <<'EOF' … EOF`.
 * Every word is a checked name, address or keyword (no quoting inside a batch file), so a
 * word holding anything else is refused here rather than written.
 */
function ipBatch(ip: string[], commands: string[][]): string {
  for (const w of commands.flat()) if (!/^[A-Za-z0-9_.:\/@-]+$/.test(w)) throw new Error(`vethCreateScript: ${JSON.stringify(w)} cannot go in an ip batch`);
  return `${shJoin([...ip, "-batch", "-"])} <<'EOF'\n${commands.map((c) => c.join(" ")).join("\n")}\nEOF`;
}

/**
 * Hairpin mode on the bridge port, as Docker sets it when it runs without its userland
 * proxy (bridgelab never has one): a container reaching its own published port
 * (HOST_IP:PORT, DNATed back to itself) has its frame sent back out the port it came in on,
 * which a bridge otherwise refuses when br_netfilter hands it the DNATed frame.
 *
 *   ip link set dev veth0 type bridge_slave hairpin on
 */
function hairpinOn(name: string): Line {
  return ["ip", "link", "set", "dev", name, "type", "bridge_slave", "hairpin", "on"];
}

/**
 * Change in place what differs between `from` (what the host holds) and `to`. Up/down is
 * set every time (cheap, converges), and so is the default route: removing an address
 * flushes the routes through it. A new owner (0.1's pair taken over by its stack under 0.2,
 * or a resource moved by an alias) re-tags the host end and forgets the old owner's record;
 * the owner is recorded every time (a create cut between the alias and the record left none).
 * A host end that is not `from`'s (deleted by hand, or another owner's under the same name)
 * is left alone: "gone" or "foreign" (see onlyOwn).
 */
export function vethUpdateScript(from: VethSpec, to: VethSpec): string {
  const lines: Line[] = [...onlyOwn(to.name, from.owner, to.owner)];
  if (from.hostAddress !== to.hostAddress) lines.push(...routeClashCheck(to));
  lines.push("set -e");
  if (ownerTag(KIND, from.owner) !== ownerTag(KIND, to.owner)) {
    lines.push(["ip", "link", "set", "dev", to.name, "alias", ownerTag(KIND, to.owner)], ...forgetOwnerLines(from.owner));
  }
  lines.push(...recordOwnerLines(to.owner));
  if (from.mtu !== to.mtu) {
    lines.push(["ip", "link", "set", "dev", to.name, "mtu", String(to.mtu)]);
    lines.push(peerIp(to, "link", "set", "dev", to.peerIfname, "mtu", String(to.mtu)));
  }
  if (to.mac && from.mac !== to.mac) lines.push(peerIp(to, "link", "set", "dev", to.peerIfname, "address", to.mac));
  if (from.bridge !== to.bridge) {
    lines.push(to.bridge ? ["ip", "link", "set", "dev", to.name, "master", to.bridge] : ["ip", "link", "set", "dev", to.name, "nomaster"]);
  }
  if (to.bridge) lines.push(hairpinOn(to.name)); // cheap, and converges a port switched off by hand
  if (from.hostAddress !== to.hostAddress) {
    if (from.hostAddress) lines.push(`ip addr del ${from.hostAddress} dev ${to.name} 2>/dev/null || true`);
    if (to.hostAddress) lines.push(["ip", "addr", "replace", to.hostAddress, "dev", to.name]);
  }
  if (from.address !== to.address) {
    if (from.address) lines.push(`${peerIpText(to)} addr del ${from.address} dev ${to.peerIfname} 2>/dev/null || true`);
    if (to.address) lines.push(peerIp(to, "addr", "replace", to.address, "dev", to.peerIfname));
  }
  lines.push(peerIp(to, "link", "set", "dev", to.peerIfname, to.up ? "up" : "down"));
  lines.push(["ip", "link", "set", "dev", to.name, to.up ? "up" : "down"]);
  if (to.gateway) lines.push(peerIp(to, "route", "replace", "default", "via", to.gateway, "dev", to.peerIfname));
  else if (from.gateway) lines.push(`${peerIpText(to)} route del default via ${from.gateway} dev ${to.peerIfname} 2>/dev/null || true`);
  lines.push(...readBack(to));
  return script(lines);
}

/** What is there: "gone" when the host end is missing or not this owner's. */
export function vethReadScript(v: VethSpec): string {
  return script([`if ! ${ours(v.name, v.owner)}; then ${mark("gone")}; exit 0; fi`, ...readBack(v)]);
}

/**
 * Delete the pair if its host end is this owner's, and forget the owner's record.
 * Idempotent: a missing host end prints nothing (also when the namespace was deleted and
 * took the pair with it); a link of that name that is not this owner's is left alone and
 * reported under "foreign" (its alias, and its owner's record under "owner"). This owner's
 * record is forgotten in every case: it owns nothing here after.
 */
export function vethDeleteScript(name: string, owner: Owner | undefined): string {
  const show = `ip -j link show dev ${name}`;
  return script([
    `if ${ours(name, owner)}; then ip link del dev ${name}; ${[...forgetOwnerLines(owner), mark("deleted")].join("; ")}`,
    `elif ip link show dev ${name} >/dev/null 2>&1; then ${[mark("foreign"), show, ...aliasOwnerLines(show), ...forgetOwnerLines(owner)].join("; ")}`,
    `else ${[...forgetOwnerLines(owner), ":"].join("; ")}; fi`,
  ]);
}
