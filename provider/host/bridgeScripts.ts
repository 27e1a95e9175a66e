import { Owner, aliasOwnerLines, foreignPortLines, forgetOwnerLines, ownerTag, recordOwnerLines } from "./owner";
import { sectionMarker as mark } from "./sections";
import { EXIT_EXISTS, Line, armUndo, disarm, holdSignals, script } from "./script";

/**
 * Scripts for a Linux bridge. Values must have passed the checks in validate.ts. The bridge's
 * alias names its owner (owner.ts), whose URN is kept in /run/bridgelab/owners/ID:
 *
 *   ip link add name br0 mtu 1500 address 02:42:ac:12:00:01 type bridge stp_state 0
 *   ip link set dev br0 alias bridgelab:v2:bridge:1a2b3c4d
 *   ip addr add 172.18.0.1/16 dev br0
 *   ip link set dev br0 up
 *
 * Without an owner (state of bridgelab 0.1) the tag is 0.1's `bridgelab:v1:bridge`.
 */
const KIND = "bridge";

export interface BridgeSpec {
  name: string;
  /** Gateway address in CIDR form, e.g. "172.18.0.1/16". */
  address?: string;
  mtu: number;
  up: boolean;
  /**
   * The bridge's MAC, set at create: without one the kernel takes the lowest MAC of the bridge's
   * ports and changes it as ports come and go (noise in every refresh). Absent: the kernel's.
   */
  mac?: string;
  /** Who made it; absent for state of bridgelab 0.1. */
  owner?: Owner;
}

function ours(name: string, owner: Owner | undefined): string {
  return `ip -j link show dev ${name} 2>/dev/null | grep -qF '"ifalias":"${ownerTag(KIND, owner)}"'`;
}

function readBack(name: string): string[] {
  return [mark("link"), `ip -j -d link show dev ${name}`, mark("addr"), `ip -j addr show dev ${name}`];
}

/**
 * Create the bridge. If a link of that name exists, print it under "exists" and exit
 * EXIT_EXISTS: the caller adopts it only if it is a bridge carrying our tag.
 */
export function bridgeCreateScript(b: BridgeSpec): string {
  const undo = [`ip link del dev ${b.name}`, ...forgetOwnerLines(b.owner)].join("; ");
  return script([
    "set -u",
    `if ip link show dev ${b.name} >/dev/null 2>&1; then ${mark("exists")}; ip -j -d link show dev ${b.name}; ${aliasOwnerLines(`ip -j link show dev ${b.name}`).join("; ")}; exit ${EXIT_EXISTS}; fi`,
    "set -e",
    holdSignals(),
    // Arm the undo only after our own `ip link add` succeeded: never delete someone else's link.
    ["ip", "link", "add", "name", b.name, "mtu", String(b.mtu), ...(b.mac ? ["address", b.mac] : []), "type", "bridge", "stp_state", "0"],
    armUndo(undo, { afterHold: true }),
    ["ip", "link", "set", "dev", b.name, "alias", ownerTag(KIND, b.owner)],
    ...recordOwnerLines(b.owner),
    ...(b.address ? [["ip", "addr", "add", b.address, "dev", b.name]] : []),
    ["ip", "link", "set", "dev", b.name, b.up ? "up" : "down"],
    disarm(),
    ...readBack(b.name),
  ]);
}

/**
 * Change in place what differs between `from` (what the host holds) and `to`.
 * STP is forced off every time: cheap, and it undoes a hand-made `stp_state 1`.
 */
export function bridgeUpdateScript(from: BridgeSpec, to: BridgeSpec): string {
  const lines: Line[] = ["set -e"];
  // A new owner (0.1's state taken over by 0.2, or a resource renamed with an alias): re-tag.
  if (ownerTag(KIND, from.owner) !== ownerTag(KIND, to.owner)) {
    lines.push(["ip", "link", "set", "dev", to.name, "alias", ownerTag(KIND, to.owner)], ...forgetOwnerLines(from.owner));
  }
  // Always re-recorded: a create cut between the alias and the record left none.
  lines.push(...recordOwnerLines(to.owner));
  if (from.mtu !== to.mtu) lines.push(["ip", "link", "set", "dev", to.name, "mtu", String(to.mtu)]);
  if (to.mac && from.mac !== to.mac) lines.push(["ip", "link", "set", "dev", to.name, "address", to.mac]);
  if (from.address !== to.address) {
    if (from.address) lines.push(`ip addr del ${from.address} dev ${to.name} 2>/dev/null || true`);
    if (to.address) lines.push(["ip", "addr", "replace", to.address, "dev", to.name]);
  }
  lines.push(["ip", "link", "set", "dev", to.name, "type", "bridge", "stp_state", "0"]);
  lines.push(["ip", "link", "set", "dev", to.name, to.up ? "up" : "down"]);
  lines.push(...readBack(to.name));
  return script(lines);
}

/** Forget the owner's record unless another link still carries the owner's tag. */
function forgetUnlessTagged(owner: Owner | undefined): string[] {
  return owner ? [`ip -j link show 2>/dev/null | grep -qF '"ifalias":"${ownerTag(KIND, owner)}"' || ${forgetOwnerLines(owner).join("; ")}`] : [];
}

/** What is there: "gone" when NAME is missing or not this owner's. */
export function bridgeReadScript(name: string, owner: Owner | undefined): string {
  return script([`if ! ${ours(name, owner)}; then ${mark("gone")}; exit 0; fi`, ...readBack(name)]);
}

/**
 * Idempotent: a missing bridge prints nothing; a link of that name that is not this owner's is
 * left alone and reported under "foreign" (its alias, and its owner's record under "owner").
 */
export function bridgeDeleteScript(name: string, owner: Owner | undefined): string {
  // Another stack's veths on it (a lab joined this bridge by name): keep it, as `docker network rm`
  // refuses a network with active endpoints; deleting it would cut that lab off without a word.
  const busy = owner ? [`busy=$(${foreignPortLines(name, owner).join("; ")})`, `if [ -n "$busy" ]; then ${mark("busy")}; printf '%s\\n' "$busy"; exit 0; fi`] : [];
  return script([
    `if ${ours(name, owner)}; then :; ${busy.join("; ")}`,
    // The record goes with the owner's last bridge: a replacement made beside the old one has the same owner.
    `ip link del dev ${name}; ${[...forgetUnlessTagged(owner), mark("deleted")].join("; ")}`,
    `elif ip link show dev ${name} >/dev/null 2>&1; then ${mark("foreign")}; ip -j link show dev ${name}; ${aliasOwnerLines(`ip -j link show dev ${name}`).join("; ")}`,
    `else ${[...forgetUnlessTagged(owner), ":"].join("; ")}; fi`,
  ]);
}

/**
 * The link NAME (if any) and its owner's record, read-only: what a new name would collide with.
 *   ip -j -d link show dev br3; cat /run/bridgelab/owners/ID
 */
export function linkOwnerScript(name: string): string {
  return script([mark("link"), `ip -j -d link show dev ${name} 2>/dev/null || echo '[]'`, ...aliasOwnerLines(`ip -j link show dev ${name}`)]);
}
