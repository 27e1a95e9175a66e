import { IpAddrLink, parseIpAddrJson } from "./ipJson";
import { parseTag } from "./owner";
import { script } from "./script";
import { sectionMarker as mark, splitSections } from "./sections";
import { IpRoute, VethLink, parseIpRouteJson, parseVethLinkJson } from "./vethJson";
import { ParsedDnat, parsePublishDnat } from "./portPublishScripts";

/**
 * What a host's networking looks like right now, read in one script for `bridgelab graph
 * --live`: links, addresses and routes of the host and of every network namespace, and
 * bridgelab's own iptables rules (published ports, egress, isolation). Pure: the script and
 * its parser.
 *
 *   ip -j -d link show; ip -j addr show; ip -j route show
 *   iptables -w -t nat -S | grep '^-A BRIDGELAB-'; iptables -w -t filter -S | grep '^-A BRIDGELAB-'
 *   for ns in $(ip netns list): ip -n "$ns" -j -d link show; … addr; … route
 */
export interface NamespaceSnapshot {
  /** "" for the host itself. */
  name: string;
  links: VethLink[];
  addrs: IpAddrLink[];
  routes: IpRoute[];
}

export interface HostSnapshot {
  host: NamespaceSnapshot;
  namespaces: NamespaceSnapshot[];
  /** `iptables -S` lines of bridgelab's chains, nat table. */
  nat: string[];
  /** `iptables -S` lines of bridgelab's chains, filter table. */
  filter: string[];
}

/** Sections per namespace are numbered (ns-0-name, ns-0-link, …): names are the host's, any text. */
export function hostSnapshotScript(): string {
  return script([
    `${mark("host-link")}; ip -j -d link show`,
    `${mark("host-addr")}; ip -j addr show`,
    `${mark("host-route")}; ip -j route show`,
    `${mark("nat")}; iptables -w -t nat -S 2>/dev/null | grep -e '^-A BRIDGELAB-' || true`,
    `${mark("filter")}; iptables -w -t filter -S 2>/dev/null | grep -e '^-A BRIDGELAB-' || true`,
    "i=0",
    "for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do",
    `  printf '@@bridgelab ns-%s-name\\n%s\\n' "$i" "$ns"`,
    `  printf '@@bridgelab ns-%s-link\\n' "$i"; ip -n "$ns" -j -d link show 2>/dev/null || echo '[]'`,
    `  printf '@@bridgelab ns-%s-addr\\n' "$i"; ip -n "$ns" -j addr show 2>/dev/null || echo '[]'`,
    `  printf '@@bridgelab ns-%s-route\\n' "$i"; ip -n "$ns" -j route show 2>/dev/null || echo '[]'`,
    "  i=$((i + 1))",
    "done",
  ]);
}

const lines = (t: string | undefined) => (t ?? "").split("\n").filter((l) => l.trim() !== "");

export function parseHostSnapshot(stdout: string): HostSnapshot {
  const s = splitSections(stdout);
  const snap = (name: string, prefix: string): NamespaceSnapshot => ({
    name,
    links: parseVethLinkJson(s[`${prefix}link`] ?? ""),
    addrs: parseIpAddrJson(s[`${prefix}addr`] ?? ""),
    routes: parseIpRouteJson(s[`${prefix}route`] ?? ""),
  });
  const namespaces: NamespaceSnapshot[] = [];
  for (let i = 0; `ns-${i}-name` in s; i++) namespaces.push(snap(s[`ns-${i}-name`], `ns-${i}-`));
  return { host: snap("", "host-"), namespaces, nat: lines(s.nat), filter: lines(s.filter) };
}

/** An `iptables -S` line as its chain and words, double-quoted words unquoted. */
export function splitRuleLine(line: string): { chain: string; words: string[] } {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]);
  const chain = words[0] === "-A" ? words[1] ?? "" : "";
  return { chain, words: words[0] === "-A" ? words.slice(2) : words };
}

/** The value after `flag` in a rule's words, and whether it was negated (`! -o br0`). */
export function ruleOption(words: string[], flag: string): { value: string; negated: boolean } | undefined {
  const i = words.indexOf(flag);
  if (i < 0 || i + 1 >= words.length) return undefined;
  return { value: words[i + 1], negated: words[i - 1] === "!" };
}

/** A published port read back from our DNAT rule: the mapping PortPublish wrote. */
export type DnatRule = ParsedDnat;

/** Published ports from BRIDGELAB-DNAT lines (PortPublish's own parser: one reading of one format). */
export function parseDnatRules(nat: string[]): DnatRule[] {
  return nat.map(parsePublishDnat).filter((r): r is DnatRule => r !== undefined);
}

/** A rule comment of ours (`bridgelab:v2:KIND:NAME:OWNERID`, or 0.1's `bridgelab:v1:KIND:NAME`), whoever owns it. */
function ruleComment(words: string[]): { kind: string; name: string } | undefined {
  const t = parseTag(ruleOption(words, "--comment")?.value, true);
  return t?.name !== undefined ? { kind: t.kind, name: t.name } : undefined;
}

/** Source subnets MASQUERADEd by bridgelab's egress rules (`-s 172.18.0.0/16 ! -o br0 … -j MASQUERADE`), of every owner. */
export function egressSubnets(nat: string[]): string[] {
  const out: string[] = [];
  for (const line of nat) {
    const { chain, words } = splitRuleLine(line);
    if (chain === "BRIDGELAB-POSTROUTING" && ruleComment(words)?.kind === "egress") {
      const s = ruleOption(words, "-s")?.value;
      if (s) out.push(s);
    }
  }
  return out;
}

/** Bridges with an isolation tag, and bridges with icc off, from the filter lines (of every owner). */
export function isolationOf(filter: string[]): { isolated: Set<string>; iccOff: Set<string> } {
  const isolated = new Set<string>();
  const iccOff = new Set<string>();
  for (const line of filter) {
    const c = ruleComment(splitRuleLine(line).words);
    if (c?.kind === "isolation") isolated.add(c.name);
    if (c?.kind === "icc") iccOff.add(c.name);
  }
  return { isolated, iccOff };
}
