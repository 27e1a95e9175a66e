import { shJoin } from "./quote";

/** A script line: an argv array (quoted word by word) or a literal shell fragment built from checked values. */
export type Line = readonly string[] | string;

/** Join lines into one POSIX sh script. */
export function script(lines: readonly Line[]): string {
  return lines.map((l) => (typeof l === "string" ? l : shJoin(l))).join("\n") + "\n";
}

/** Exit status a create script uses to say "an object of that name is already there". */
export const EXIT_EXISTS = 73;

/**
 * The guard that makes a create script all-or-nothing: once the first object exists,
 * any failure (or a hang-up: the SSH connection dropped) runs `undo` before the shell
 * exits. Disarmed with `disarm()` after the last step.
 *
 * SIGPIPE is ignored while armed: after a hang-up the script's stdout and stderr lead to a
 * connection that is gone, and the first write there (dash reporting "Hangup" for a command
 * the same signal killed, say) would otherwise kill the shell before its undo ran. Seen in
 * the fault tests: PortPublish's iptables-restore killed by the hang-up, its filter rules
 * committed, and the shell dead on writing "Hangup".
 *
 *   trap '' PIPE; trap 'ip link del br0 2>/dev/null' EXIT; trap 'exit 129' HUP INT TERM
 */
export function armUndo(undo: Line, o: { afterHold?: boolean } = {}): string {
  const u = typeof undo === "string" ? undo : shJoin(undo);
  const held = o.afterHold ? `; [ -z "\${${HELD}:-}" ] || exit 129` : "";
  return `trap '' PIPE; trap ${shJoin([u + " 2>/dev/null"])} EXIT; trap 'exit 129' HUP INT TERM${held}`;
}

const HELD = "bridgelab_signalled";

/**
 * For a create whose undo can only be armed after its first change (the undo must never
 * delete an object someone else made, so it waits for our own `ip link add` to succeed): a
 * hang-up (or INT, TERM) that arrives before the undo is armed is remembered instead of
 * killing the shell on the spot, and `armUndo(undo, { afterHold: true })` then exits through
 * the undo. Without it, a connection cut right after `ip link add` would leave an untagged
 * link that the next create refuses as foreign. Goes before the first change:
 *
 *   trap 'bridgelab_signalled=1' HUP INT TERM
 *   ip link add name br0 type bridge
 *   trap 'ip link del br0 2>/dev/null' EXIT; trap 'exit 129' HUP INT TERM; [ -z "${bridgelab_signalled:-}" ] || exit 129
 */
export function holdSignals(): string {
  return `trap '${HELD}=1' HUP INT TERM`;
}

export function disarm(): string {
  return "trap - EXIT HUP INT TERM PIPE";
}
