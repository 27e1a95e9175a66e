import { Owner, aliasOwnerLines, forgetOwnerLines, ownerTag, recordOwnerLines } from "./owner";
import { sectionMarker as mark } from "./sections";
import { EXIT_EXISTS, Line, armUndo, disarm, holdSignals, script } from "./script";

/**
 * Scripts for a named network namespace, `ip netns add NAME`. The namespace is tagged by an
 * alias on its loopback (a netns has no attribute of its own to carry one), which names its
 * owner (owner.ts), whose URN is kept in /run/bridgelab/owners/ID:
 *
 *   ip netns add netns0
 *   ip -n netns0 link set dev lo alias bridgelab:v2:netns:1a2b3c4d
 *   ip -n netns0 link set dev lo up
 *
 * Without an owner (state of bridgelab 0.1) the tag is 0.1's `bridgelab:v1:netns`.
 * NAME must have passed checkNetnsName.
 */
const KIND = "netns";

const loShow = (name: string) => `ip -n ${name} -j link show dev lo`;

/** True in the shell when NAME exists and its lo carries this owner's tag. */
function ours(name: string, owner: Owner | undefined): string {
  return `${loShow(name)} 2>/dev/null | grep -qF '"ifalias":"${ownerTag(KIND, owner)}"'`;
}

function readBack(name: string): string[] {
  return [mark("inode"), `stat -L -c %i /run/netns/${name}`, mark("lo"), loShow(name)];
}

/**
 * Create NAME with lo up, tagged with its owner, the owner recorded. If NAME exists, print
 * its lo under "exists" (and its owner's record under "owner") and exit EXIT_EXISTS so the
 * caller can decide whether it is this owner's (a create that was cut short) or another's.
 */
export function netnsCreateScript(name: string, owner: Owner | undefined): string {
  const undo = [`ip netns del ${name}`, ...forgetOwnerLines(owner)].join("; ");
  return script([
    "set -u",
    `if [ -e /run/netns/${name} ]; then ${mark("exists")}; ${loShow(name)} 2>/dev/null; ${aliasOwnerLines(loShow(name)).join("; ")}; exit ${EXIT_EXISTS}; fi`,
    "set -e",
    holdSignals(),
    ["ip", "netns", "add", name],
    // Armed only after our own `ip netns add` succeeded: never delete someone else's namespace.
    armUndo(undo, { afterHold: true }),
    ["ip", "-n", name, "link", "set", "dev", "lo", "alias", ownerTag(KIND, owner)],
    ...recordOwnerLines(owner),
    ["ip", "-n", name, "link", "set", "dev", "lo", "up"],
    disarm(),
    ...readBack(name),
  ]);
}

/**
 * Bring an existing namespace of `from`'s to the declared state: lo up, tagged with `to` and
 * `to` recorded. Used to adopt this owner's namespace (from = to) and by an update whose
 * owner changed (0.1's namespace taken over by its stack under 0.2, or a resource moved by an
 * alias): the tag is rewritten and the old owner's record forgotten. A namespace that is not
 * `from`'s (nor already `to`'s: an update retried) is left alone: "gone" when there is none,
 * "foreign" (its lo, and its owner's record under "owner") when it is another's.
 */
export function netnsUpdateScript(name: string, from: Owner | undefined, to: Owner | undefined): string {
  const owners = ownerTag(KIND, from) === ownerTag(KIND, to) ? [to] : [from, to];
  const lines: Line[] = [
    `if [ ! -e /run/netns/${name} ]; then ${mark("gone")}; exit 0; fi`,
    `if ${owners.map((o) => `! ${ours(name, o)}`).join(" && ")}; then ${[mark("foreign"), `${loShow(name)} 2>/dev/null`, ...aliasOwnerLines(loShow(name))].join("; ")}; exit 0; fi`,
    "set -e",
  ];
  if (ownerTag(KIND, from) !== ownerTag(KIND, to)) {
    lines.push(["ip", "-n", name, "link", "set", "dev", "lo", "alias", ownerTag(KIND, to)], ...forgetOwnerLines(from));
  }
  // Always re-recorded: a create cut between the alias and the record left none.
  lines.push(...recordOwnerLines(to), ["ip", "-n", name, "link", "set", "dev", "lo", "up"], ...readBack(name));
  return script(lines);
}

/** What is there: "gone" when NAME is missing or not this owner's. */
export function netnsReadScript(name: string, owner: Owner | undefined): string {
  return script([`if ! ${ours(name, owner)}; then ${mark("gone")}; exit 0; fi`, ...readBack(name)]);
}

/**
 * Delete NAME if it is this owner's, killing what still runs inside (`ip netns pids`), and
 * forget the owner's record. Idempotent: a missing namespace prints nothing; one that is not
 * this owner's is left alone and reported under "foreign" (its lo, and its owner's record
 * under "owner"). This owner's record is forgotten in every case: it owns nothing here after.
 */
export function netnsDeleteScript(name: string, owner: Owner | undefined): string {
  return script([
    `if ${ours(name, owner)}; then`,
    `  ip netns pids ${name} | xargs -r kill -9 2>/dev/null || true`,
    `  ip netns del ${name}`,
    ...forgetOwnerLines(owner).map((l) => `  ${l}`),
    `  ${mark("deleted")}`,
    `elif [ -e /run/netns/${name} ]; then`,
    `  ${mark("foreign")}; ${loShow(name)} 2>/dev/null || true`,
    ...aliasOwnerLines(loShow(name)).map((l) => `  ${l}`),
    ...forgetOwnerLines(owner).map((l) => `  ${l}`),
    `else`,
    `  ${[...forgetOwnerLines(owner), ":"].join("; ")}`,
    `fi`,
  ]);
}
