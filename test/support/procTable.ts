import * as fs from "node:fs";

/** One process as /proc/PID/stat gives it (fields after the command name, which may hold spaces). */
export interface ProcEntry {
  pid: number;
  /** R, S, D, Z, X, … */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

/**
 * Every process of the machine, read from /proc once (`ps -e -o pid,stat,ppid,pgid,sid` without
 * ps). Sandbox hosts share the machine's PID namespace, so tests find their processes here by
 * parent, group or session. Processes that exit while being read are skipped.
 */
export function processes(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({ pid: Number(e), state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** A process's argv; [] once it has exited. */
export function argvOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0$/, "").split("\0");
  } catch {
    return [];
  }
}

/** A process's command line, spaces for NULs; "" once it has exited. */
export function cmdline(pid: number): string {
  return argvOf(pid).join(" ").trim();
}

/** A process's name (`/proc/PID/comm`, as `ps -o comm`); "" once it has exited. */
export function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Neither a zombie nor dead. */
export const live = (p: ProcEntry): boolean => p.state !== "Z" && p.state !== "X";

/** The inode of a process's namespace of KIND (`readlink /proc/PID/ns/net` → net:[4026532…]); undefined once it has exited. */
export function nsOf(pid: number, kind: "net" | "mnt"): string | undefined {
  try {
    return /\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/${kind}`))?.[1];
  } catch {
    return undefined;
  }
}

/** The dynamic-provider plugins this process started (the test engine runs in-process). */
export function pluginChildren(): number[] {
  return processes()
    .filter((p) => p.ppid === process.pid && live(p) && cmdline(p.pid).includes("dynamic-provider"))
    .map((p) => p.pid);
}
