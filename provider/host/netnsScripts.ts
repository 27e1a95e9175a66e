import { sectionMarker as mark } from "./sections";
import { EXIT_EXISTS, armUndo, disarm, holdSignals, script } from "./script";
import { tagFor } from "./tags";

/**
 * Scripts for a named network namespace, `ip netns add NAME`. The namespace is tagged by an
 * alias on its loopback (a netns has no attribute of its own to carry one):
 *
 *   ip -n netns0 link set dev lo alias bridgelab:v1:netns
 *
 * NAME must have passed checkNetnsName.
 */
const TAG = tagFor("netns");

/** True in the shell when NAME exists and carries our tag. */
function ours(name: string): string {
  return `ip -n ${name} -j link show dev lo 2>/dev/null | grep -qF '"ifalias":"${TAG}"'`;
}

function readBack(name: string): string[] {
  return [mark("inode"), `stat -L -c %i /run/netns/${name}`, mark("lo"), `ip -n ${name} -j link show dev lo`];
}

/**
 * Create NAME with lo up. If NAME exists, print its lo under "exists" and exit EXIT_EXISTS
 * so the caller can decide whether it is ours (a create that was cut short) or foreign.
 */
export function netnsCreateScript(name: string): string {
  return script([
    "set -u",
    `if [ -e /run/netns/${name} ]; then ${mark("exists")}; ip -n ${name} -j link show dev lo 2>/dev/null; exit ${EXIT_EXISTS}; fi`,
    "set -e",
    holdSignals(),
    ["ip", "netns", "add", name],
    armUndo(["ip", "netns", "del", name], { afterHold: true }),
    ["ip", "-n", name, "link", "set", "dev", "lo", "alias", TAG],
    ["ip", "-n", name, "link", "set", "dev", "lo", "up"],
    disarm(),
    ...readBack(name),
  ]);
}

/** Bring an existing namespace of ours to the declared state (lo up). */
export function netnsConvergeScript(name: string): string {
  return script(["set -e", ["ip", "-n", name, "link", "set", "dev", "lo", "up"], ...readBack(name)]);
}

/** What is there: "gone" when NAME is missing or not ours. */
export function netnsReadScript(name: string): string {
  return script([`if ! ${ours(name)}; then ${mark("gone")}; exit 0; fi`, ...readBack(name)]);
}

/**
 * Delete NAME if it is ours, killing what still runs inside (`ip netns pids`). Idempotent:
 * a missing namespace prints nothing; a foreign one is left alone and reported.
 */
export function netnsDeleteScript(name: string): string {
  return script([
    `if ${ours(name)}; then`,
    `  ip netns pids ${name} | xargs -r kill -9 2>/dev/null || true`,
    `  ip netns del ${name}`,
    `  ${mark("deleted")}`,
    `elif [ -e /run/netns/${name} ]; then ${mark("foreign")}; fi`,
  ]);
}
