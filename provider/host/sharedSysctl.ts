import { sectionMarker as mark } from "./sections";

/**
 * Host-wide switches several resources need at once (`net.ipv4.ip_forward` for every Egress,
 * `net.bridge.bridge-nf-call-iptables` for every icc=false bridge). One resource cannot
 * remember alone whether the host had the switch on before bridgelab: the second Egress
 * finds forwarding on because the first turned it on. So the first bridgelab script that
 * turns a switch on writes the value it found into a marker on the host's /run (a tmpfs:
 * a reboot resets both the switch and the marker), and the last user out restores it:
 *
 *   claim:   [ -e /run/bridgelab.sysctl.net.ipv4.ip_forward ] || echo 0 > /run/bridgelab.sysctl.net.ipv4.ip_forward
 *            sysctl -qw net.ipv4.ip_forward=1
 *   release: (no tagged user left) sysctl -qw net.ipv4.ip_forward=$(cat MARKER); rm MARKER
 *
 * No marker means the host had the switch on by itself, and bridgelab never turns it off.
 * Scripts using these lines must hold hostLockLines(): the check and the change are one step.
 */
export interface SharedSysctl {
  /** sysctl key, e.g. "net.ipv4.ip_forward". */
  key: string;
  /** Prefix of the shell variables the lines set ([a-z]+). */
  v: string;
}

export const IP_FORWARD: SharedSysctl = { key: "net.ipv4.ip_forward", v: "fwd" };
export const BRIDGE_NF_CALL_IPTABLES: SharedSysctl = { key: "net.bridge.bridge-nf-call-iptables", v: "brnf" };

/** "/proc/sys/net/ipv4/ip_forward" */
export function sysctlPath(s: SharedSysctl): string {
  return "/proc/sys/" + s.key.replace(/\./g, "/");
}

/** Where the value found before bridgelab turned the switch on is kept. */
export function sysctlMarker(s: SharedSysctl): string {
  return `/run/bridgelab.sysctl.${s.key}`;
}

/**
 * Turn the switch on (idempotent), recording the pre-bridgelab value if this is the change
 * that turns it on. Prints `section` with the value the host had before bridgelab (0/1).
 * Sets $V_set / $V_marker for sysctlUndoLines.
 */
export function sysctlClaimLines(s: SharedSysctl, section: string): string[] {
  const { v } = s;
  const m = sysctlMarker(s);
  return [
    `${v}_now=$(cat ${sysctlPath(s)})`,
    `if [ -e ${m} ]; then ${v}_orig=$(cat ${m}); else ${v}_orig=$${v}_now; fi`,
    `if [ "$${v}_now" != 1 ]; then`,
    `  if [ ! -e ${m} ]; then echo "$${v}_now" > ${m}; ${v}_marker=1; fi`,
    `  ${v}_set=1`,
    `  sysctl -qw ${s.key}=1`,
    `fi`,
    mark(section),
    `echo "$${v}_orig"`,
  ];
}

/** For an undo function: put back exactly what sysctlClaimLines changed in this script. */
export function sysctlUndoLines(s: SharedSysctl): string[] {
  const { v } = s;
  return [`if [ "\${${v}_set:-}" = 1 ]; then sysctl -qw ${s.key}="$${v}_now"; fi`, `if [ "\${${v}_marker:-}" = 1 ]; then rm -f ${sysctlMarker(s)}; fi`];
}

/**
 * The last one out: when bridgelab turned the switch on and `usersCommand` (a shell command
 * printing how many users remain) prints 0, restore the value found before bridgelab.
 */
export function sysctlReleaseLines(s: SharedSysctl, usersCommand: string): string[] {
  const m = sysctlMarker(s);
  return [`if [ -e ${m} ] && [ "$(${usersCommand})" = 0 ]; then sysctl -qw ${s.key}="$(cat ${m})"; rm -f ${m}; fi`];
}
