import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

/**
 * A snapshot of the machine's own (root) network namespace: what no bridgelab test may
 * change. Read-only commands only. Counters and timestamps are stripped so that traffic
 * on the machine's own interface does not count as a change.
 */
export interface RootSnapshot {
  links: string;
  addresses: string;
  routes: string;
  iptables: string;
  ip6tables: string;
  ipForward: string;
  netns: string;
  sandboxes: string;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    return `(${cmd} ${args.join(" ")} failed: ${(e as Error).message.split("\n")[0]})`;
  }
}

function stable(json: string, keep: string[]): string {
  try {
    const arr = JSON.parse(json) as Record<string, unknown>[];
    return JSON.stringify(arr.map((o) => Object.fromEntries(keep.filter((k) => k in o).map((k) => [k, o[k]]))), null, 1);
  } catch {
    return json;
  }
}

/** iptables-save without the comment lines (they carry a date) and the packet counters. */
function rules(save: string): string {
  return save
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/g, "[-]"))
    .join("\n");
}

/** Sandbox hosts left under this test run's own root (see globalSetup). */
function sandboxesOfThisRun(): string {
  const root = process.env.BRIDGELAB_SANDBOX_ROOT;
  return root && fs.existsSync(root) ? fs.readdirSync(root).join(" ") : "";
}

export function takeRootSnapshot(): RootSnapshot {
  const addr = JSON.parse(run("ip", ["-j", "addr"]) || "[]") as Array<{ ifname: string; addr_info: Array<Record<string, unknown>> }>;
  return {
    links: stable(run("ip", ["-j", "link"]), ["ifname", "ifindex", "mtu", "master", "address", "link_type"]),
    addresses: JSON.stringify(addr.map((l) => [l.ifname, (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`)]), null, 1),
    routes: run("ip", ["route", "show", "table", "all"]).split("\n").filter((l) => !/expires/.test(l)).join("\n"),
    iptables: rules(run("iptables-save", [])),
    ip6tables: rules(run("ip6tables-save", [])),
    ipForward: fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(),
    netns: run("ip", ["netns", "list"]),
    sandboxes: sandboxesOfThisRun(),
  };
}

/** Human-readable differences, empty when nothing changed. */
export function compareRootSnapshots(before: RootSnapshot, after: RootSnapshot): string[] {
  const out: string[] = [];
  for (const k of Object.keys(before) as Array<keyof RootSnapshot>) {
    if (before[k] !== after[k]) out.push(`${k} changed:\n--- before\n${before[k]}\n--- after\n${after[k]}`);
  }
  return out;
}
