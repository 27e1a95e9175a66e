import { sectionMarker as mark } from "./sections";
import { EXIT_EXISTS, Line, armUndo, disarm, holdSignals, script } from "./script";
import { tagFor } from "./tags";

/**
 * Scripts for a Linux bridge. Values must have passed the checks in validate.ts.
 *
 *   ip link add name br0 mtu 1500 type bridge stp_state 0
 *   ip link set dev br0 alias bridgelab:v1:bridge
 *   ip addr add 172.18.0.1/16 dev br0
 *   ip link set dev br0 up
 */
const TAG = tagFor("bridge");

export interface BridgeSpec {
  name: string;
  /** Gateway address in CIDR form, e.g. "172.18.0.1/16". */
  address?: string;
  mtu: number;
  up: boolean;
}

function ours(name: string): string {
  return `ip -j link show dev ${name} 2>/dev/null | grep -qF '"ifalias":"${TAG}"'`;
}

function readBack(name: string): string[] {
  return [mark("link"), `ip -j -d link show dev ${name}`, mark("addr"), `ip -j addr show dev ${name}`];
}

/**
 * Create the bridge. If a link of that name exists, print it under "exists" and exit
 * EXIT_EXISTS: the caller adopts it only if it is a bridge carrying our tag.
 */
export function bridgeCreateScript(b: BridgeSpec): string {
  return script([
    "set -u",
    `if ip link show dev ${b.name} >/dev/null 2>&1; then ${mark("exists")}; ip -j -d link show dev ${b.name}; exit ${EXIT_EXISTS}; fi`,
    "set -e",
    holdSignals(),
    // Arm the undo only after our own `ip link add` succeeded: never delete someone else's link.
    ["ip", "link", "add", "name", b.name, "mtu", String(b.mtu), "type", "bridge", "stp_state", "0"],
    armUndo(["ip", "link", "del", "dev", b.name], { afterHold: true }),
    ["ip", "link", "set", "dev", b.name, "alias", TAG],
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
  if (from.mtu !== to.mtu) lines.push(["ip", "link", "set", "dev", to.name, "mtu", String(to.mtu)]);
  if (from.address !== to.address) {
    if (from.address) lines.push(`ip addr del ${from.address} dev ${to.name} 2>/dev/null || true`);
    if (to.address) lines.push(["ip", "addr", "replace", to.address, "dev", to.name]);
  }
  lines.push(["ip", "link", "set", "dev", to.name, "type", "bridge", "stp_state", "0"]);
  lines.push(["ip", "link", "set", "dev", to.name, to.up ? "up" : "down"]);
  lines.push(...readBack(to.name));
  return script(lines);
}

export function bridgeReadScript(name: string): string {
  return script([`if ! ${ours(name)}; then ${mark("gone")}; exit 0; fi`, ...readBack(name)]);
}

/** Idempotent: a missing bridge prints nothing; a foreign link of that name is left alone. */
export function bridgeDeleteScript(name: string): string {
  return script([
    `if ${ours(name)}; then ip link del dev ${name}; ${mark("deleted")}`,
    `elif ip link show dev ${name} >/dev/null 2>&1; then ${mark("foreign")}; fi`,
  ]);
}
