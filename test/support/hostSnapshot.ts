import { splitSections } from "../../provider/host/sections";
import { argvOf, live, processes } from "./procTable";

/**
 * What a sandbox host holds, as far as bridgelab objects go, in a form two snapshots can be
 * compared with `toEqual`: numbers the kernel picks afresh each time (ifindexes, random MACs,
 * namespace inodes, pids, counters) are left out. Read in one round trip:
 *
 *   ip netns list; for each of the host and every namespace: ip -j -d link, ip -j addr, ip -j route
 *   iptables-save (no counters); the shared sysctls; ls -R /run/bridgelab
 *
 * plus, from /proc, how many live processes run `marker` (a Process's argv) — pids differ
 * between runs, their number must not.
 */
export interface HostSnapshot {
  netns: string[];
  /** "" for the host, else the namespace name → its links, addresses and routes. */
  stacks: Record<string, { links: string[]; addrs: string[]; routes: string[] }>;
  iptables: string[];
  sysctls: string[];
  files: string[];
  processes: number;
}

interface Link {
  ifname: string;
  mtu: number;
  flags: string[];
  master?: string;
  ifalias?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_slave_data?: { hairpin?: boolean }; info_data?: { stp_state?: number } };
  address?: string;
}

const SYSCTLS = [
  "/proc/sys/net/ipv4/ip_forward",
  "/proc/sys/net/bridge/bridge-nf-call-iptables",
  "/proc/sys/net/ipv4/conf/all/route_localnet",
];

function snapshotScript(): string {
  const stack = (ns: string, sel: string) =>
    [`echo '@@bridgelab ${sel}-links'; ip ${ns} -j -d link show`, `echo '@@bridgelab ${sel}-addrs'; ip ${ns} -j addr show`, `echo '@@bridgelab ${sel}-routes'; ip ${ns} -j route show table all`].join("\n");
  return [
    "echo '@@bridgelab netns'; ip netns list | cut -d' ' -f1 | sort",
    stack("", "host"),
    `for n in $(ip netns list | cut -d' ' -f1); do`,
    `  echo "@@bridgelab ns-$n-links"; ip -n "$n" -j -d link show`,
    `  echo "@@bridgelab ns-$n-addrs"; ip -n "$n" -j addr show`,
    `  echo "@@bridgelab ns-$n-routes"; ip -n "$n" -j route show table all`,
    "done",
    "echo '@@bridgelab iptables'; iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
    "echo '@@bridgelab sysctls'",
    ...SYSCTLS.map((f) => `printf '%s=%s\\n' ${f} "$(cat ${f} 2>/dev/null || echo absent)"`),
    "echo '@@bridgelab files'; find /run/bridgelab 2>/dev/null | sort",
  ].join("\n");
}

function links(json: string): string[] {
  const ls = JSON.parse(json || "[]") as Link[];
  return ls
    .map((l) => {
      const kind = l.linkinfo?.info_kind ?? "";
      const hairpin = l.linkinfo?.info_slave_data?.hairpin ? " hairpin" : "";
      // A bridge's or veth's MAC is random unless declared: keep only Docker-style ones a VethPair sets (02:42:…).
      const mac = l.address?.startsWith("02:42:") ? ` mac=${l.address}` : "";
      const up = l.flags.includes("UP") ? "UP" : "DOWN";
      return `${l.ifname} ${kind} mtu=${l.mtu} ${up} master=${l.master ?? "-"} alias=${l.ifalias ?? "-"}${hairpin}${mac}${l.link_netnsid !== undefined ? " peer-elsewhere" : ""}`;
    })
    .sort();
}

function addrs(json: string): string[] {
  const as = JSON.parse(json || "[]") as Array<{ ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
  return as.flatMap((a) => a.addr_info.filter((x) => x.family === "inet").map((x) => `${a.ifname} ${x.local}/${x.prefixlen}`)).sort();
}

function routes(json: string): string[] {
  const rs = JSON.parse(json || "[]") as Array<Record<string, unknown>>;
  return rs
    .filter((r) => r.family === undefined || r.family === "inet" || r.family === 2)
    .map((r) => `${r.table ?? "main"} ${r.type ?? "unicast"} ${r.dst} via=${r.gateway ?? "-"} dev=${r.dev ?? "-"}`)
    .filter((r) => !r.includes(":")) // IPv6 leftovers of table all
    .sort();
}

/** Live processes whose command line is exactly `argv`, anywhere on the machine. */
export function countProcesses(argv: readonly string[]): number {
  const want = argv.join("\0");
  return processes().filter((p) => live(p) && argvOf(p.pid).join("\0") === want).length;
}

export async function hostSnapshot(sh: (script: string) => Promise<string>, marker: readonly string[] = []): Promise<HostSnapshot> {
  const s = splitSections(await sh(snapshotScript()));
  const netns = (s.netns ?? "").split("\n").filter(Boolean);
  const stacks: HostSnapshot["stacks"] = {};
  for (const [key, sel] of [["", "host"], ...netns.map((n) => [n, `ns-${n}`])]) {
    stacks[key] = { links: links(s[`${sel}-links`]), addrs: addrs(s[`${sel}-addrs`]), routes: routes(s[`${sel}-routes`]) };
  }
  return {
    netns,
    stacks,
    iptables: (s.iptables ?? "").split("\n").filter(Boolean),
    sysctls: (s.sysctls ?? "").split("\n").filter(Boolean),
    files: (s.files ?? "").split("\n").filter(Boolean),
    processes: marker.length ? countProcesses(marker) : 0,
  };
}

/**
 * The iptables-save lines that say something: rules, chains (bridgelab's, Docker's), and a built-in
 * chain's policy unless it is ACCEPT. Left out: table headers, COMMIT, comments, and the built-in
 * chains with ACCEPT that iptables-nft lists for a table once it was used, even empty again (a
 * trace any iptables user leaves, which iptables-nft cannot remove).
 */
export function meaningfulIptables(lines: readonly string[]): string[] {
  return lines.map((l) => l.trim()).filter((l) => l.startsWith("-A ") || (l.startsWith(":") && !/^:(PREROUTING|INPUT|OUTPUT|FORWARD|POSTROUTING) ACCEPT\b/.test(l)));
}
