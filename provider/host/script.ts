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
 *   trap 'ip link del br0 2>/dev/null' EXIT; trap 'exit 129' HUP INT TERM
 */
export function armUndo(undo: Line): string {
  const u = typeof undo === "string" ? undo : shJoin(undo);
  return `trap ${shJoin([u + " 2>/dev/null"])} EXIT; trap 'exit 129' HUP INT TERM`;
}

export function disarm(): string {
  return "trap - EXIT HUP INT TERM";
}
