import * as fs from "node:fs";
import { sandboxPaths } from "../../provider/sandbox/sandboxLayout";
import type { makeSandbox } from "../support/sandboxFixture";
import { sshdPidsUsing, waitFor } from "../support/sshd";
import { cmdline, live, nsOf, processes } from "../support/procTable";
import { meaningfulIptables } from "../support/hostSnapshot";

/**
 * What the soak tests (issue 7) compare after every up / update / destroy cycle: a sandbox
 * host's state as seen from outside the provider, and the processes and file descriptors
 * that could outlive a cycle.
 */
export type Box = Awaited<ReturnType<typeof makeSandbox>>;

/** Cycles per soak test. The requirement is 20; BRIDGELAB_SOAK_CYCLES only exists for trying the test out locally. */
export const CYCLES = Number(process.env.BRIDGELAB_SOAK_CYCLES ?? 20);

/** Files bridgelab leaves in the host's /run by design: the host-wide lock it flocks, and the directories it made. */
export const RUN_BY_DESIGN = ["/run/bridgelab", "/run/bridgelab.lock", "/run/bridgelab/proc", "/run/bridgelab/owners", "/run/netns"];

export interface HostSnapshot {
  netns: string[];
  /** Every link with the attributes bridgelab sets (kind, mtu, master, state, alias). */
  links: string[];
  addresses: string[];
  routes: string[];
  /** iptables-save of every table, rules and non-built-in chains only (no counters, no comments). */
  rules: string[];
  forwarding: string;
  /** Everything under the host's /run (its own tmpfs). */
  run: string[];
}

const lines = (s: string) => s.split("\n").map((l) => l.trim()).filter(Boolean);

export async function hostSnapshot(box: Box): Promise<HostSnapshot> {
  const links = JSON.parse((await box.sh("ip -j -d link")) || "[]") as Array<Record<string, any>>;
  const raw = await box.sh(
    [
      "echo '### netns'; ip netns list",
      "echo '### addr'; ip -o addr show | sed 's/ *valid_lft.*//'",
      "echo '### route'; ip route show table all",
      "echo '### rules'; iptables-save",
      "echo '### forwarding'; cat /proc/sys/net/ipv4/ip_forward",
      "echo '### run'; find /run -mindepth 1 | sort",
    ].join("\n"),
  );
  const part = (name: string) => lines(raw.split(`### ${name}\n`)[1]?.split("### ")[0] ?? "");
  return {
    netns: part("netns").map((l) => l.split(" ")[0]),
    links: links
      .map((l) => [l.ifname, l.linkinfo?.info_kind ?? "-", `mtu ${l.mtu}`, `master ${l.master ?? "-"}`, l.operstate, `alias ${l.ifalias ?? "-"}`].join(" "))
      .sort(),
    // IPv6 link-local addresses come and go with the kernel's DAD on the uplink, not with bridgelab.
    addresses: part("addr").filter((l) => !l.includes("fe80:")).sort(),
    routes: part("route").filter((l) => !l.includes("fe80:")).sort(),
    rules: meaningfulIptables(part("rules"))
      .sort(),
    forwarding: part("forwarding").join(""),
    run: part("run").filter((f) => !RUN_BY_DESIGN.includes(f)),
  };
}

/** Inode of a namespace file (the namespace's id as /proc/PID/ns/* shows it). */
export function nsId(file: string): string {
  return String(fs.statSync(file).ino);
}

/** The network namespaces' ids under the host's /run/netns (the lab's containers). */
export async function labNamespaceIds(box: Box): Promise<string[]> {
  return lines(await box.sh("for f in /run/netns/*; do [ -e \"$f\" ] && stat -c %i \"$f\"; done; true"));
}

/**
 * Processes anywhere on the machine (sandbox hosts share its PID namespace) that live in one
 * of the sandbox host's namespaces — its network, its outside, its mount namespace — or in
 * one of `extraNetIds` (a lab's namespaces, which a process would keep alive after
 * `ip netns del`): "pid comm (ns)" lines. A host at rest has none.
 */
export function processesInSandbox(box: Box, extraNetIds: Iterable<string> = []): string[] {
  const p = sandboxPaths(box.name);
  const nets = new Set([nsId(p.net), nsId(p.outside), ...extraNetIds]);
  const mnt = nsId(p.mnt);
  const found: string[] = [];
  for (const p of processes()) {
    if (p.pid === process.pid || !live(p)) continue;
    const net = nsOf(p.pid, "net");
    const m = nsOf(p.pid, "mnt");
    if ((net && nets.has(net)) || m === mnt) found.push(`${p.pid} ${cmdline(p.pid).slice(0, 120)} (net ${net}, mnt ${m})`);
  }
  return found;
}

/** Child processes of this (jest) process: "pid cmdline" lines. */
export function childrenOfThisProcess(): string[] {
  return processes()
    .filter((p) => p.ppid === process.pid && p.state !== "Z")
    .map((p) => `${p.pid} ${cmdline(p.pid).slice(0, 120)}`);
}

/** This process's open file descriptors: fd → what it points at. */
export function openFds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      out.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* the directory's own fd */
    }
  }
  return out;
}

/** The kinds of a set of fds, for a readable diff: {"socket": 3, "pipe": 4, "/dev/null": 1, …}. */
export function fdKinds(fds: Map<string, string>): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const t of fds.values()) {
    const k = t.replace(/:\[\d+\]$/, "").replace(/^anon_inode:/, "anon:");
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return kinds;
}

/** Wait (bounded) until no `sshd -i` of this sshd (nor the proxy command around it) is left. */
export async function sshSessionsGone(sshdDir: string): Promise<void> {
  await waitFor(() => sshdPidsUsing(sshdDir).length === 0, 15_000, `the sshd -i sessions of ${sshdDir} to end (left: ${sshdPidsUsing(sshdDir).join(", ")})`).catch(() => undefined);
}

/** Wait (bounded) for a condition that settles on its own (exits, EOFs); the assertion comes after. */
export async function settle(cond: () => boolean, ms = 15_000): Promise<void> {
  await waitFor(cond, ms).catch(() => undefined);
}

export interface CycleFigures {
  cycle: number;
  /** Per engine run (up, update, destroy) or per phase: the largest fd count seen. */
  peakFds: Record<string, number>;
  /** SSH connections dialed per run or phase. */
  dials: Record<string, number>;
  seconds: number;
  leaks: string[];
}

/** One line for the log and the closing note. */
export function summaryLine(what: string, figures: CycleFigures[]): string {
  const leaks = figures.reduce((n, f) => n + f.leaks.length, 0);
  const peaks = figures.map((f) => Object.values(f.peakFds).join("/")).join(" ");
  const dials = figures.map((f) => Object.values(f.dials).join("/")).join(" ");
  const secs = figures.map((f) => f.seconds.toFixed(1)).join(" ");
  return `SOAK ${what}: ${figures.length} cycles, leaks found: ${leaks}; per-cycle peak fds (${Object.keys(figures[0]?.peakFds ?? {}).join("/")}): ${peaks}; ssh dials: ${dials}; seconds: ${secs}`;
}
