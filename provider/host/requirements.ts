import { sectionMarker as mark, splitSections } from "./sections";
import { script } from "./script";

/**
 * What bridgelab runs on a host, and how to install what is missing. A fresh Debian machine or
 * a new cloud VM may lack iptables, conntrack or curl; without this check a lab was half built
 * before a resource failed with `sh: 11: iptables-save: not found`. The check is one read-only
 * script (requirementsScript), run once per host before the first change (preflight.ts) and by
 * `bridgelab doctor`:
 *
 *   command -v ip ss iptables iptables-save iptables-restore conntrack flock nsenter setsid sysctl …
 *   ip -j link show dev lo     # prints JSON
 *   [ -d /sys/module/veth ] || zcat /proc/config.gz | grep -Eq '^CONFIG_VETH=[ym]$' || …
 *
 * Nothing on the host changes: the script only looks (`command -v`, `ip -j link show`, files
 * under /proc, /sys and /lib/modules). It never lists a legacy iptables table (that would
 * create the table in the host's namespace); with the nf_tables backend `iptables -t nat -S`
 * only reads.
 *
 * Tools are grouped by the package that brings them, so the install line is exact. Kernel
 * features are read from /sys/module, the kernel config (/proc/config.gz or
 * /boot/config-$(uname -r)), /lib/modules/$(uname -r) and /proc/kallsyms; when none of them can
 * tell, the feature is "unknown", which is reported but never refused (a false "missing" would
 * lock a working host out).
 */

/** A resource kind (or the CLI) that needs a requirement. */
export type UsedBy = "NetNamespace" | "Bridge" | "VethPair" | "Egress" | "BridgeIsolation" | "PortPublish" | "Process" | "LabProbe";

export interface Requirement {
  /** Stable key: "iptables", "kernel-veth". */
  id: string;
  /** What is checked, as users know it: "iptables, iptables-save, iptables-restore". */
  name: string;
  /** Tools looked up with `command -v`; each missing one is named. */
  tools?: string[];
  /** A further shell test (after the tools are found): status 0 present, 1 missing, 2 cannot tell; may set `why`. */
  test?: string;
  /** Which resources run it. */
  usedBy: UsedBy[];
  /** Packages that provide it (words), or advice (a sentence) where no package does. */
  debian: string;
  amazonLinux: string;
}

const ALL: UsedBy[] = ["NetNamespace", "Bridge", "VethPair", "Egress", "BridgeIsolation", "PortPublish", "Process", "LabProbe"];
const NETFILTER: UsedBy[] = ["Egress", "BridgeIsolation", "PortPublish"];
const STOCK_KERNEL = "stock kernels have it";

/**
 * Everything bridgelab may run on a host. The order is the script's output order, which
 * parseRequirements reads back: add new requirements anywhere, but script and parser must come
 * from the same bridgelab (they do: both are built here).
 */
export const REQUIREMENTS: Requirement[] = [
  {
    id: "iproute2",
    name: "ip (with JSON output, -j: iproute2 4.14 or later), ss",
    tools: ["ip", "ss"],
    test: `case "$(ip -j link show dev lo 2>/dev/null)" in "["*) ;; *) why="ip does not print JSON (ip -j link show fails)"; false ;; esac`,
    usedBy: ALL,
    debian: "iproute2",
    amazonLinux: "iproute",
  },
  {
    id: "iptables",
    name: "iptables, iptables-save, iptables-restore (with -w: iptables 1.6.2 or later)",
    tools: ["iptables", "iptables-save", "iptables-restore"],
    test: "iptables_at_least 1 6 2",
    usedBy: NETFILTER,
    debian: "iptables",
    amazonLinux: "iptables-nft",
  },
  { id: "conntrack", name: "conntrack", tools: ["conntrack"], usedBy: ["PortPublish"], debian: "conntrack", amazonLinux: "conntrack-tools" },
  { id: "util-linux", name: "flock, nsenter, setsid", tools: ["flock", "nsenter", "setsid"], usedBy: ["Egress", "BridgeIsolation", "PortPublish", "Process"], debian: "util-linux", amazonLinux: "util-linux" },
  { id: "procps", name: "sysctl", tools: ["sysctl"], usedBy: ["Egress", "BridgeIsolation"], debian: "procps", amazonLinux: "procps-ng" },
  {
    id: "coreutils",
    name: "timeout, stat, readlink, mktemp, cut, sort, tail",
    tools: ["timeout", "stat", "readlink", "mktemp", "cut", "sort", "tail"],
    usedBy: ALL,
    debian: "coreutils",
    amazonLinux: "coreutils",
  },
  { id: "grep", name: "grep", tools: ["grep"], usedBy: ALL, debian: "grep", amazonLinux: "grep" },
  { id: "sed", name: "sed", tools: ["sed"], usedBy: ["Bridge", "VethPair", "Egress"], debian: "sed", amazonLinux: "sed" },
  { id: "awk", name: "awk", tools: ["awk"], usedBy: ["PortPublish", "Egress", "BridgeIsolation"], debian: "mawk", amazonLinux: "gawk" },
  { id: "findutils", name: "xargs", tools: ["xargs"], usedBy: ["NetNamespace"], debian: "findutils", amazonLinux: "findutils" },
  { id: "ping", name: "ping", tools: ["ping"], usedBy: ["LabProbe"], debian: "iputils-ping", amazonLinux: "iputils" },
  { id: "curl", name: "curl", tools: ["curl"], usedBy: ["LabProbe"], debian: "curl", amazonLinux: "curl-minimal" },
  { id: "bash", name: "bash", tools: ["bash"], usedBy: ["LabProbe"], debian: "bash", amazonLinux: "bash" },
  {
    id: "kernel-netns",
    name: "network namespaces (kernel: CONFIG_NET_NS)",
    test: `{ [ -e /proc/self/ns/net ] || { why="no /proc/self/ns/net"; false; }; }`,
    usedBy: ["NetNamespace", "VethPair", "Process", "LabProbe"],
    debian: `a kernel with CONFIG_NET_NS (${STOCK_KERNEL})`,
    amazonLinux: `a kernel with CONFIG_NET_NS (${STOCK_KERNEL})`,
  },
  {
    id: "kernel-bridge",
    name: "bridges (kernel: CONFIG_BRIDGE)",
    test: "kall bridge CONFIG_BRIDGE br_dev_xmit",
    usedBy: ["Bridge"],
    debian: `a kernel with CONFIG_BRIDGE (${STOCK_KERNEL})`,
    amazonLinux: `a kernel with CONFIG_BRIDGE (${STOCK_KERNEL})`,
  },
  {
    id: "kernel-veth",
    name: "veth pairs (kernel: CONFIG_VETH)",
    test: "kall veth CONFIG_VETH veth_newlink",
    usedBy: ["VethPair"],
    debian: `a kernel with CONFIG_VETH (${STOCK_KERNEL})`,
    amazonLinux: `a kernel with CONFIG_VETH (${STOCK_KERNEL})`,
  },
  {
    id: "kernel-nat",
    name: "the nat table of the iptables backend in use (kernel: nf_tables NAT, or iptable_nat for legacy iptables)",
    test: "nat_table",
    usedBy: ["Egress", "PortPublish"],
    debian: `a kernel with CONFIG_NFT_NAT and CONFIG_NFT_COMPAT, or CONFIG_IP_NF_NAT for iptables-legacy (${STOCK_KERNEL})`,
    amazonLinux: `a kernel with CONFIG_NFT_NAT and CONFIG_NFT_COMPAT (${STOCK_KERNEL})`,
  },
  {
    id: "kernel-xt",
    name: "the iptables matches and targets bridgelab's rules use: comment, conntrack, DNAT, MASQUERADE (kernel)",
    test: [
      "kall xt_comment CONFIG_NETFILTER_XT_MATCH_COMMENT comment_mt",
      "xt_conntrack CONFIG_NETFILTER_XT_MATCH_CONNTRACK conntrack_mt_v3",
      "'xt_nat|ipt_NAT' 'CONFIG_NETFILTER_XT_NAT|CONFIG_IP_NF_TARGET_DNAT' xt_dnat_target_v2",
      "'xt_MASQUERADE|ipt_MASQUERADE' 'CONFIG_NETFILTER_XT_TARGET_MASQUERADE|CONFIG_IP_NF_TARGET_MASQUERADE' masquerade_tg",
    ].join(" "),
    usedBy: NETFILTER,
    debian: `a kernel with CONFIG_NETFILTER_XT_MATCH_COMMENT, _MATCH_CONNTRACK, CONFIG_NETFILTER_XT_NAT and _TARGET_MASQUERADE (${STOCK_KERNEL})`,
    amazonLinux: `a kernel with CONFIG_NETFILTER_XT_MATCH_COMMENT, _MATCH_CONNTRACK, CONFIG_NETFILTER_XT_NAT and _TARGET_MASQUERADE (${STOCK_KERNEL})`,
  },
];

/**
 * Shell functions the tests use. All of them only read.
 *
 *   tools CMD…              every CMD is on PATH; `why` names those that are not
 *   khas MOD CFG SYM        kernel feature: 0 present, 1 absent, 2 cannot tell. MOD and CFG are
 *                           extended regexes (alternatives for older kernels), SYM a symbol of
 *                           the built-in code. Absent only when the kernel config says so, or
 *                           when modules.dep and modules.builtin exist and list no MOD.
 *   kall MOD CFG SYM …      khas for each triple: 1 if any is absent, else 2 if any cannot tell
 *   iptables_at_least A B C `iptables -V` is at least A.B.C (an unreadable version passes)
 *   nat_table               the nat table of the backend `iptables -V` names can be used
 */
const FUNCTIONS = [
  `kcfg=$( { zcat /proc/config.gz || cat "/boot/config-$(uname -r)"; } 2>/dev/null )`,
  `kmods="/lib/modules/$(uname -r)"`,
  `tools() { t_missing=; for t in "$@"; do command -v "$t" >/dev/null 2>&1 || t_missing="\${t_missing:+$t_missing, }$t"; done; [ -z "$t_missing" ] && return 0; why="not found: $t_missing"; return 1; }`,
  [
    "khas() {",
    `  k_IFS=$IFS; IFS='|'; for k_m in $1; do [ -d "/sys/module/$k_m" ] && { IFS=$k_IFS; return 0; }; done; IFS=$k_IFS`,
    // Without grep nothing below can read a file: say so rather than blame the kernel.
    `  command -v grep >/dev/null 2>&1 || { k_unknown="\${k_unknown:+$k_unknown, }$2 (no grep to read the kernel's lists)"; return 2; }`,
    `  if [ -n "$kcfg" ]; then printf '%s\\n' "$kcfg" | grep -Eq "^($2)=[ym]\\$" && return 0; k_absent="\${k_absent:+$k_absent, }$2"; return 1; fi`,
    `  grep -qw "$3" /proc/kallsyms 2>/dev/null && return 0`,
    `  if [ -r "$kmods/modules.dep" ] && [ -r "$kmods/modules.builtin" ]; then`,
    `    grep -Eq "/($1)\\.ko" "$kmods/modules.dep" "$kmods/modules.builtin" && return 0; k_absent="\${k_absent:+$k_absent, }$1"; return 1`,
    "  fi",
    `  k_unknown="\${k_unknown:+$k_unknown, }$2"; return 2`,
    "}",
  ].join("\n"),
  [
    "kall() {",
    "  k_absent=; k_unknown=; k_r=0",
    `  while [ $# -ge 3 ]; do khas "$1" "$2" "$3"; k_s=$?; [ $k_s = 1 ] && k_r=1; [ $k_s = 2 ] && [ $k_r = 0 ] && k_r=2; shift 3; done`,
    `  [ $k_r = 1 ] && why="the kernel has no $k_absent"`,
    `  [ $k_r = 2 ] && why="cannot tell: no kernel config (/proc/config.gz, /boot/config-$(uname -r)), no $kmods, and not built in for $k_unknown"`,
    "  return $k_r",
    "}",
  ].join("\n"),
  [
    "iptables_at_least() {",
    `  v=$(iptables -V 2>/dev/null | sed -n 's/^[^ ]* v\\([0-9][0-9]*\\)\\.\\([0-9][0-9]*\\)\\.\\([0-9][0-9]*\\).*/\\1 \\2 \\3/p')`,
    `  [ -z "$v" ] && return 0`,
    `  set -- "$1" "$2" "$3" $v`,
    `  [ "$4" -gt "$1" ] || { [ "$4" = "$1" ] && { [ "$5" -gt "$2" ] || { [ "$5" = "$2" ] && [ "$6" -ge "$3" ]; }; }; } && return 0`,
    `  why="iptables $4.$5.$6 is too old: iptables-restore -w needs $1.$2.$3 or later"; return 1`,
    "}",
  ].join("\n"),
  [
    "nat_table() {",
    `  case "$(iptables -V 2>/dev/null)" in`,
    // nf_tables: listing reads and creates nothing; it fails when nf_tables itself is unusable.
    `    *nf_tables*) iptables -w -t nat -S POSTROUTING >/dev/null 2>&1 || { why="iptables -t nat -S POSTROUTING fails"; return 1; }`,
    `      kall 'nft_chain_nat|nft_chain_nat_ipv4' 'CONFIG_NFT_NAT|CONFIG_NFT_CHAIN_NAT_IPV4' nft_chain_nat_init nft_compat CONFIG_NFT_COMPAT nft_match_eval ;;`,
    // legacy: listing would create the table, so only look: in use already, or in the kernel.
    `    *) grep -qx nat /proc/net/ip_tables_names 2>/dev/null && return 0`,
    `      kall 'iptable_nat' 'CONFIG_IP_NF_NAT' iptable_nat_table_init ;;`,
    "  esac",
    "}",
  ].join("\n"),
];

function testOf(r: Requirement): string {
  const parts = [...(r.tools?.length ? [`tools ${r.tools.join(" ")}`] : []), ...(r.test ? [r.test] : [])];
  return parts.join(" && ") || "true";
}

/**
 * One read-only script testing every requirement. Prints, under `@@bridgelab about`, the
 * host's os-release ID and name, kernel and iptables version; under `@@bridgelab requirements`
 * one line per requirement, in order: `ok I`, `missing I WHY` or `unknown I WHY`.
 */
export function requirementsScript(): string {
  return script([
    mark("about"),
    `printf 'os %s\\n' "$( . /etc/os-release 2>/dev/null; printf '%s|%s|%s' "\${ID:-}" "\${ID_LIKE:-}" "\${PRETTY_NAME:-}" )"`,
    `printf 'kernel %s\\n' "$(uname -r)"`,
    `printf 'iptables %s\\n' "$(iptables -V 2>/dev/null | head -n 1)"`,
    mark("requirements"),
    ...FUNCTIONS,
    ...REQUIREMENTS.map((r, i) => `why=; if ${testOf(r)}; then echo 'ok ${i}'; else r=$?; if [ $r = 2 ]; then echo "unknown ${i} $why"; else echo "missing ${i} $why"; fi; fi`),
  ]);
}

export type RequirementStatus = "ok" | "missing" | "unknown";

export interface RequirementResult {
  requirement: Requirement;
  status: RequirementStatus;
  /** Why missing or unknown: "not found: conntrack". */
  detail?: string;
}

export interface HostFacts {
  /** os-release ID ("debian", "amzn"), ID_LIKE and PRETTY_NAME; empty when unknown. */
  osId: string;
  osLike: string;
  osName: string;
  kernel: string;
  /** `iptables -V`: "iptables v1.8.9 (nf_tables)"; empty without iptables. */
  iptables: string;
}

export interface RequirementsReport {
  host: HostFacts;
  results: RequirementResult[];
  /** The results that are missing. */
  missing: RequirementResult[];
}

/**
 * Read the requirements script's stdout. Throws when a requirement has no line (the script
 * did not run to its end), naming what it got.
 */
export function parseRequirements(stdout: string): RequirementsReport {
  const s = splitSections(stdout);
  const about: Record<string, string> = {};
  for (const line of (s.about ?? "").split("\n")) {
    const m = /^(\w+) ?(.*)$/.exec(line);
    if (m) about[m[1]] = m[2].trim();
  }
  const [osId = "", osLike = "", osName = ""] = (about.os ?? "").split("|");
  const byIndex = new Map<number, { status: RequirementStatus; detail?: string }>();
  for (const line of (s.requirements ?? "").split("\n")) {
    const m = /^(ok|missing|unknown) (\d+)(?: (.*))?$/.exec(line.trim());
    if (!m) continue;
    byIndex.set(Number(m[2]), { status: m[1] as RequirementStatus, ...(m[3]?.trim() ? { detail: m[3].trim() } : {}) });
  }
  const results = REQUIREMENTS.map((requirement, i) => {
    const got = byIndex.get(i);
    if (!got) throw new Error(`the requirements check printed no result for "${requirement.name}" (output: ${JSON.stringify(stdout.slice(-300))})`);
    return { requirement, ...got };
  });
  return {
    host: { osId, osLike, osName, kernel: about.kernel ?? "", iptables: about.iptables ?? "" },
    results,
    missing: results.filter((r) => r.status === "missing"),
  };
}

/** Which install family a host belongs to, from os-release: "debian" (Debian, Ubuntu…), "amazonLinux" (amzn, Fedora, RHEL…), or undefined. */
export function familyOf(host: Pick<HostFacts, "osId" | "osLike">): "debian" | "amazonLinux" | undefined {
  const ids = `${host.osId} ${host.osLike}`.split(/\s+/);
  if (ids.some((i) => i === "debian" || i === "ubuntu")) return "debian";
  if (ids.some((i) => ["amzn", "fedora", "rhel", "centos"].includes(i))) return "amazonLinux";
  return undefined;
}

const PACKAGE = /^[a-z0-9][a-z0-9.+-]*$/;

/**
 * The install lines for RESULTS: packages joined into one command per family, advice (for a
 * kernel feature) after them.
 *
 *   Debian/Ubuntu: apt-get install -y conntrack iptables
 *   Amazon Linux:  dnf install -y conntrack-tools iptables-nft
 */
export function installLines(results: RequirementResult[], host?: Pick<HostFacts, "osId" | "osLike">): string[] {
  const family = host ? familyOf(host) : undefined;
  const line = (key: "debian" | "amazonLinux", label: string, tool: string) => {
    const words = [...new Set(results.map((r) => r.requirement[key]))];
    const pkgs = words.filter((w) => PACKAGE.test(w));
    const advice = words.filter((w) => !PACKAGE.test(w));
    const parts = [...(pkgs.length ? [`${tool} ${pkgs.join(" ")}`] : []), ...advice];
    return `${label}${family === key ? " (this host)" : ""}: ${parts.join("; ")}`;
  };
  return [line("debian", "Debian/Ubuntu", "apt-get install -y"), line("amazonLinux", "Amazon Linux", "dnf install -y")];
}

/** One missing requirement as a line: `conntrack — not found: conntrack (used by PortPublish)`. */
export function describeResult(r: RequirementResult): string {
  return `${r.requirement.name}${r.detail ? ` — ${r.detail}` : ""} (used by ${r.requirement.usedBy.join(", ")})`;
}

/**
 * What to tell the user when a host lacks something: each missing piece and the packages that
 * bring it.
 *
 *   ssh:admin@10.0.0.5:22 lacks what bridgelab runs there, so nothing was changed on it:
 *     - conntrack — not found: conntrack (used by PortPublish)
 *   Install it, then run again:
 *     Debian/Ubuntu (this host): apt-get install -y conntrack
 *     Amazon Linux: dnf install -y conntrack-tools
 *   (`bridgelab doctor --connection '…'` checks a host without changing it)
 */
export function describeMissing(where: string, missing: RequirementResult[], host?: Pick<HostFacts, "osId" | "osLike">): string {
  return [
    `${where} lacks what bridgelab runs there, so nothing was changed on it:`,
    ...missing.map((r) => `  - ${describeResult(r)}`),
    `Install ${missing.length > 1 ? "them" : "it"}, then run again:`,
    ...installLines(missing, host).map((l) => `  ${l}`),
    "(`bridgelab doctor` checks a host without changing it: --sandbox NAME or --connection JSON)",
  ].join("\n");
}
