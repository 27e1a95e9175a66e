import { ChainKey, hostLockLines, pruneChainLines, ruleTag } from "./iptables";
import {
  RESNAPSHOT,
  chainInSnapshot,
  deleteTaggedLines,
  forgetOwnersWithoutRulesLines,
  presentInSnapshotLine,
  quoteWithVariables,
  restoreAddLines,
  saveLine,
  snapshotLines,
  staleTaggedLines,
  taggedInSnapshot,
} from "./iptablesSnapshot";
import { Owner, forgetOwnerLines, parseTag, printOwnerOfTagLine, recordOwnerLines } from "./owner";
import type { Protocol } from "./portChecks";
import { ANY_IP } from "./portChecks";
import { shJoin, shQuote } from "./quote";
import { OwnedRule, applyRuleLine, removeRuleLine } from "./ruleSet";
import { EXIT_EXISTS, Line, armUndo, disarm, script } from "./script";
import { sectionMarker as mark } from "./sections";

/**
 * Scripts for Docker-style port publishing: HOST_IP:HOST_PORT on the host reaches
 * ADDRESS:PORT inside a container on BRIDGE. Seed 004 writes the DNAT by hand into
 * PREROUTING and OUTPUT; Docker (seed 002) writes it into its DOCKER chain, entered from
 * both. bridgelab writes the same rules into its own chains (iptables.ts), each with the
 * mapping's tag, which names its owner (owner.ts: the resource whose URN hashes to 1a2b3c4d,
 * kept in /run/bridgelab/owners/1a2b3c4d while its rules exist). `docker run -p 8080:5000` on
 * br0 with the container at 172.18.0.10 becomes:
 *
 *   *nat
 *   -A BRIDGELAB-POSTROUTING -s 172.18.0.10/32 -d 172.18.0.10/32 -p tcp -m tcp --dport 5000 -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j MASQUERADE
 *   -A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 -d 172.18.0.10/32 -o br0 -p tcp -m tcp --dport 5000 -m conntrack --ctstate DNAT -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j MASQUERADE
 *   -A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j DNAT --to-destination 172.18.0.10:5000
 *   *filter
 *   -A BRIDGELAB-FORWARD -d 172.18.0.10/32 ! -i br0 -o br0 -p tcp -m tcp --dport 5000 -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j ACCEPT
 *   -A BRIDGELAB-FORWARD -d 172.18.0.10/32 -i br0 -o br0 -p tcp -m tcp --dport 5000 -m conntrack --ctstate DNAT -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j ACCEPT
 *   -A BRIDGELAB-FORWARD -s 172.18.0.10/32 -i br0 -p tcp -m tcp --sport 5000 -m conntrack --ctstate DNAT --ctdir REPLY -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j ACCEPT
 *
 * - DNAT: Docker's rule without `! -i br0` (there is no userland proxy: hairpin traffic
 *   from the bridge must be DNATed too); `-d HOST_IP/32` unless published on 0.0.0.0.
 *   BRIDGELAB-DNAT is entered from PREROUTING (from outside and from containers) and from
 *   OUTPUT (the host itself), for local destinations only.
 * - The first FORWARD ACCEPT is Docker's; with the second and third (DNATed hairpin
 *   traffic, and replies of DNATed flows) the mapping works even when FORWARD's policy is
 *   DROP and nothing else accepts the bridge's traffic.
 * - The first MASQUERADE is Docker's (a container reaching itself through the host port).
 *   The second covers another container on the bridge reaching the host port: without it
 *   the server would answer the client directly across the bridge, from ADDRESS:PORT
 *   instead of HOST_IP:HOST_PORT, and the client would drop the reply. With br_netfilter
 *   (`net.bridge.bridge-nf-call-iptables=1`) conntrack un-NATs such replies on the bridge,
 *   without it nothing does: the MASQUERADE makes both settings work.
 *
 * Host ports: a static port is refused when another mapping's DNAT (of any owner: another
 * stack's, bridgelab 0.1's) or a listening socket holds it (Docker's "Bind for 0.0.0.0:8080
 * failed: port is already allocated", the holder's tag and owner record printed so the
 * refusal can name it); port 0 takes the next free port of
 * /proc/sys/net/ipv4/ip_local_port_range, as Docker and the ECS agent allocate from the
 * ephemeral range, going round the range as Docker's port allocator does: the first port after
 * the last one handed out for that protocol (kept in /run/bridgelab/ports/PROTO), back to the
 * range's start after its end, skipping every port a DNAT of ours (of any owner) or a listening
 * socket holds and every port of /proc/sys/net/ipv4/ip_local_reserved_ports. A port given back
 * is so not handed out again at once (a client, a load balancer target or a conntrack entry
 * still on its way to the old container does not reach the new one), and a fresh host, or one
 * whose mappings are all gone (the last delete removes the cursors), starts at the range's
 * start: the same lab gets the same ports. Both happen inside the host-wide lock, in the script
 * that writes the rules, so concurrent mappings never get the same port.
 *
 * Docker 20.10 ignores ip_local_reserved_ports (a reserved port is handed out like any other);
 * bridgelab honours it, as the kernel does for its own ephemeral ports.
 *
 * Two stacks of one program (same NAME, two owners) publish side by side on distinct ports;
 * each reads, updates and deletes only the rules carrying its own tag. State of bridgelab 0.1
 * (no owner) keeps its `bridgelab:v1:publish:NAME` rules until its update re-tags them.
 *
 * Values must have passed the checks in portChecks.ts / validateNetfilter.ts.
 */
export interface PublishSpec {
  /** NAME in the tag bridgelab:v2:publish:NAME:OWNERID. */
  name: string;
  protocol: Protocol;
  /** "0.0.0.0" for every local address. */
  hostIp: string;
  /** 1–65535, or 0: allocate from ip_local_port_range (create only). */
  hostPort: number;
  /** The container's IPv4 address. */
  address: string;
  /** The container's port. */
  port: number;
  /** The bridge the container sits on. */
  bridge: string;
  /** The bridge's subnet (network address); absent: read from the bridge's kernel route. */
  subnet?: string;
  /** Who made it; absent for state of bridgelab 0.1. */
  owner?: Owner;
}

/** A mapping as it stands on a host: its host port and subnet known. */
export interface PlacedMapping extends PublishSpec {
  subnet: string;
}

export const PUBLISH_KIND = "publish";

/** `bridgelab:v2:publish:NAME:OWNERID`, or 0.1's `bridgelab:v1:publish:NAME` without an owner. */
export function publishTag(name: string, owner?: Owner): string {
  return ruleTag(PUBLISH_KIND, name, owner);
}

/** A static host port is held by another mapping or a listening socket. */
export const EXIT_ALLOCATED = 76;
/** No free port left in ip_local_port_range for a dynamic host port. */
export const EXIT_EXHAUSTED = 77;
/** No subnet given and the bridge has no IPv4 kernel route to take it from. */
export const EXIT_NO_SUBNET = 78;

/**
 * Words standing for values a create/update script learns on the host; the script text
 * turns them into its shell variables. '@' needs no quoting, so they survive shJoin as is.
 */
const HOST_PORT_WORD = "@HOST_PORT@";
const SUBNET_WORD = "@SUBNET@";

/** Exported for portPublishBatchScripts.ts. */
export function withVariables(text: string): string {
  return text.split(HOST_PORT_WORD).join('"$host_port"').split(SUBNET_WORD).join('"$subnet"');
}

/** The chains a mapping writes to, in the order they are ensured (pruned in reverse). */
export const CHAIN_KEYS: ChainKey[] = ["dnat", "postrouting", "forward"];

/**
 * The six rules of a mapping, in the order they are added: the DNAT goes in last (the
 * mapping is live only once everything it needs is in place) and out first.
 * `hostPort` and `subnet` may be the script's words (create/update, learnt on the host).
 */
export function publishRules(m: Omit<PublishSpec, "hostPort" | "subnet"> & { hostPort: number | string; subnet: string }): OwnedRule[] {
  const tag = publishTag(m.name, m.owner);
  const p = m.protocol;
  const addr = `${m.address}/32`;
  const proto = ["-p", p, "-m", p];
  const rules: Array<OwnedRule["rule"]> = [
    { chain: "forward", spec: ["-d", addr, "!", "-i", m.bridge, "-o", m.bridge, ...proto, "--dport", String(m.port), "-j", "ACCEPT"] },
    { chain: "forward", spec: ["-d", addr, "-i", m.bridge, "-o", m.bridge, ...proto, "--dport", String(m.port), "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"] },
    { chain: "forward", spec: ["-s", addr, "-i", m.bridge, ...proto, "--sport", String(m.port), "-m", "conntrack", "--ctstate", "DNAT", "--ctdir", "REPLY", "-j", "ACCEPT"] },
    { chain: "postrouting", spec: ["-s", addr, "-d", addr, ...proto, "--dport", String(m.port), "-j", "MASQUERADE"] },
    { chain: "postrouting", spec: ["-s", m.subnet, "-d", addr, "-o", m.bridge, ...proto, "--dport", String(m.port), "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE"] },
    {
      chain: "dnat",
      spec: [...(m.hostIp === ANY_IP ? [] : ["-d", `${m.hostIp}/32`]), ...proto, "--dport", String(m.hostPort), "-j", "DNAT", "--to-destination", `${m.address}:${m.port}`],
    },
  ];
  return rules.map((rule) => ({ rule, tag }));
}

/** The rules as the create/update scripts write them: host port and subnet from the script's variables. */
export function scriptRules(m: PublishSpec): OwnedRule[] {
  return publishRules({ ...m, hostPort: HOST_PORT_WORD, subnet: SUBNET_WORD });
}

// --- what the host holds -------------------------------------------------------------

/**
 * Sections: present (1/0 per declared rule, in publishRules order), rules (every rule
 * carrying the tag), from a fresh snapshot (iptablesSnapshot.ts).
 */
export function readBack(rules: OwnedRule[], tag: string, fresh = true): Line[] {
  return [...(fresh ? [RESNAPSHOT] : []), mark("present"), ...rules.map((r) => presentInSnapshotLine(r.rule, r.tag)), mark("rules"), taggedInSnapshot(tag, CHAIN_KEYS)];
}

/**
 * DNAT rules of other mappings holding PORT for PROTO on IP: prints `TAG DEST-IP TO` for each
 * (TAG `-` for a DNAT without a comment). A mapping's own rules never hold a port against it:
 * those carrying one of SELVES (its tags, old and new) or, with OWN (`:OWNERID`), any tag of
 * its owner (the same resource under another NAME, while a replacement is made before the old
 * one goes). Another owner's rules, and 0.1's, hold it. Rules without -d hold every address,
 * and so does ip 0.0.0.0.
 */
export const AWK_HELD_BY_RULE = [
  '/ -j DNAT / { d = "0.0.0.0"; p = ""; dp = ""; c = ""; to = ""',
  '  for (i = 1; i < NF; i++) { if ($i == "-d") d = $(i + 1); else if ($i == "-p") p = $(i + 1); else if ($i == "--dport") dp = $(i + 1); else if ($i == "--comment") c = $(i + 1); else if ($i == "--to-destination") to = $(i + 1) }',
  '  sub(/\\/32$/, "", d); gsub(/"/, "", c); if (c == "") c = "-"',
  '  self = 0; n = split(selves, ss, " "); for (k = 1; k <= n; k++) if (c == ss[k]) self = 1',
  '  if (own != "" && length(c) > length(own) && substr(c, length(c) - length(own) + 1) == own) self = 1',
  '  if (!self && p == proto && dp == port && (d == "0.0.0.0" || ip == "0.0.0.0" || d == ip)) print c, d, to }',
].join("\n");

/** Listening sockets (`ss -Hln[tu]`) on PORT that a mapping on IP would shadow: wildcard, same address, or any address when IP is 0.0.0.0. */
export const AWK_HELD_BY_SOCKET = [
  '{ a = $4; n = split(a, parts, ":"); pt = parts[n]; sub(/:[^:]*$/, "", a); sub(/%.*$/, "", a); gsub(/\\[|\\]/, "", a); sub(/^::ffff:/, "", a)',
  '  if (pt == port && (ip == "0.0.0.0" || a == "0.0.0.0" || a == "*" || a == "::" || a == ip)) print }',
].join("\n");

/** Host ports of every DNAT rule of ours for PROTO. */
export const AWK_RULE_PORTS = '/ -j DNAT / { p = ""; dp = ""; for (i = 1; i < NF; i++) { if ($i == "-p") p = $(i + 1); else if ($i == "--dport") dp = $(i + 1) } if (p == proto) print dp }';
/** Ports of listening sockets. */
export const AWK_SOCKET_PORTS = '{ n = split($4, parts, ":"); print parts[n] }';
/**
 * The next port from LO to HI after LAST, going round (HI is followed by LO; a LAST outside the
 * range starts at LO), that is neither read on stdin nor in RESERVED (ip_local_reserved_ports'
 * text: "8080,32768-32800"). Docker's port allocator goes round the same way (`findPort`).
 */
export const AWK_NEXT_FREE = [
  'BEGIN { n = split(reserved, r, ","); for (i = 1; i <= n; i++) { m = split(r[i], ab, "-"); a = ab[1] + 0; b = (m > 1 ? ab[2] : ab[1]) + 0; if (a < lo) a = lo; if (b > hi) b = hi; for (p = a; p <= b; p++) used[p] = 1 } }',
  "{ used[$1] = 1 }",
  "END { s = (last >= lo && last < hi) ? last + 1 : lo; for (i = 0; i <= hi - lo; i++) { p = s + i; if (p > hi) p -= hi - lo + 1; if (!(p in used)) { print p; exit } } }",
].join("\n");

/** Where the last dynamic port handed out for a protocol is kept (one number). */
export const PORT_CURSOR_DIR = "/run/bridgelab/ports";

/** The range, the reserved ports and (for PROTO) the cursor, into $lo, $hi, $reserved, $last_PROTO. */
export function dynamicRangeLines(protocols: readonly Protocol[]): string[] {
  return [
    // Not `read lo hi < FILE`: dash reads a byte at a time, and a sysctl file gives EOF after the first.
    "range=$(cat /proc/sys/net/ipv4/ip_local_port_range); lo=${range%%[!0-9]*}; hi=${range##*[!0-9]}",
    "reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true)",
    ...protocols.map((p) => `last_${p}=$(cat ${PORT_CURSOR_DIR}/${p} 2>/dev/null || echo 0)`),
  ];
}

/** `awk` choosing the next free port for PROTO, reading the taken ports on stdin. */
export function nextFreeAwk(p: Protocol): string {
  return `awk -v lo="$lo" -v hi="$hi" -v reserved="$reserved" -v last="$last_${p}" ${shJoin([AWK_NEXT_FREE])}`;
}

/** After the rules went in: PORT (a shell word) is the last port handed out for PROTO. */
export function writeCursorLine(p: Protocol, port: string): string {
  return `{ mkdir -p ${PORT_CURSOR_DIR} && echo ${port} >${PORT_CURSOR_DIR}/${p}; }`;
}

/**
 * After a delete (from the snapshot taken before it): when no DNAT rule of ours is left, of
 * any owner, the cursors go too — the host is back where it was, and the next lab starts at
 * the range's start again.
 */
export function forgetCursorsLines(tags: readonly string[]): string[] {
  const awk = '/^-A BRIDGELAB-DNAT / { k = 1; for (i = 1; i <= n; i++) if (index($0, "--comment \\"" t[i] "\\"")) k = 0; left += k } END { exit left > 0 }';
  return [`if printf '%s\\n' "$save" | ${shJoin(["awk", "-v", `tags=${tags.join(" ")}`, `BEGIN { n = split(tags, t, " ") } ${awk}`])}; then rm -rf ${PORT_CURSOR_DIR}; fi`];
}

export const ssListen = (p: Protocol, withProcess = false) => `ss -Hln${p === "tcp" ? "t" : "u"}${withProcess ? "p" : ""} 2>/dev/null`;
/** Our DNAT rules, from the snapshot taken at the top of the script. */
export const dnatRules = chainInSnapshot("dnat");

/** awk's `-v` words telling AWK_HELD_BY_RULE which rules are the mapping's own. */
export function selfVars(selves: string[], owner: Owner | undefined): string[] {
  return ["-v", `selves=${selves.join(" ")}`, "-v", `own=${owner ? `:${owner.id}` : ""}`];
}

/**
 * Reads `TAG DEST-IP TO` lines (AWK_HELD_BY_RULE's) on stdin and prints each with its owner's
 * record appended (the URN in /run/bridgelab/owners/ID; nothing for 0.1's or a gone record):
 * `TAG DEST-IP TO URN`. Only run when a port is refused.
 */
export const HELD_OWNERS = `while read -r tag rest; do rec=$(${printOwnerOfTagLine("tag")}); printf '%s %s %s\\n' "$tag" "$rest" "$rec"; done`;

/**
 * Refuse $host_port when another mapping or a listening socket holds it: print the holders
 * (with their owners' records) under `allocated-rule` / `allocated-socket` and exit
 * EXIT_ALLOCATED, before any change. SELVES: the mapping's own tags.
 */
function allocatedGuardLines(m: PublishSpec, selves: string[]): string[] {
  const vars = (extra: string[] = []) => [...extra, "-v", `proto=${m.protocol}`, "-v", 'port=@HOST_PORT@', "-v", `ip=${m.hostIp}`];
  return [
    `held_rule=$(${dnatRules} | ${shJoin(["awk", ...vars(selfVars(selves, m.owner)), AWK_HELD_BY_RULE])})`,
    `held_socket=$(${ssListen(m.protocol)} | ${shJoin(["awk", ...vars(), AWK_HELD_BY_SOCKET])})`,
    `if [ -n "$held_rule$held_socket" ]; then`,
    `  ${mark("allocated-rule")}; [ -z "$held_rule" ] || printf '%s\\n' "$held_rule" | ${HELD_OWNERS}`,
    `  ${mark("allocated-socket")}; [ -z "$held_socket" ] || ${ssListen(m.protocol, true)} | ${shJoin(["awk", ...vars(), AWK_HELD_BY_SOCKET])}`,
    `  exit ${EXIT_ALLOCATED}`,
    `fi`,
  ];
}

/** Set $host_port: the declared port (checked), or the next free one of ip_local_port_range (AWK_NEXT_FREE). */
function hostPortLines(m: PublishSpec, selves: string[]): string[] {
  if (m.hostPort !== 0) return [`host_port=${m.hostPort}`, ...allocatedGuardLines(m, selves)];
  return [
    ...dynamicRangeLines([m.protocol]),
    `host_port=$({ ${dnatRules} | ${shJoin(["awk", "-v", `proto=${m.protocol}`, AWK_RULE_PORTS])}; ${ssListen(m.protocol)} | ${shJoin(["awk", AWK_SOCKET_PORTS])}; } | ${nextFreeAwk(m.protocol)})`,
    `if [ -z "$host_port" ]; then ${mark("exhausted")}; echo "$lo $hi"; exit ${EXIT_EXHAUSTED}; fi`,
  ];
}

/** Set $subnet: the declared one, or the bridge's kernel route (`172.18.0.0/16 proto kernel scope link src 172.18.0.1`). */
function subnetLines(m: PublishSpec): string[] {
  if (m.subnet) return [`subnet=${m.subnet}`];
  return [
    `subnet=$(ip -4 route show dev ${m.bridge} proto kernel scope link 2>/dev/null | awk 'NR == 1 { print $1 }')`,
    `if [ -z "$subnet" ]; then ${mark("no-subnet")}; exit ${EXIT_NO_SUBNET}; fi`,
  ];
}

/**
 * Drop the conntrack entries of a mapping, so an established flow (UDP above all) does not
 * keep reaching it once its rules are gone or changed:
 *
 *   conntrack -D -p tcp --orig-port-dst 8080 --reply-src 172.18.0.10 --reply-port-src 5000 --dst-nat
 *
 * "0 flow entries have been deleted" (exit 1) is success. Other failures, or no conntrack
 * tool on the host, are reported under a section and do not fail the script.
 */
export function conntrackFlushLines(m: PlacedMapping): string[] {
  const argv = [
    "conntrack", "-D", "-p", m.protocol,
    ...(m.hostIp === ANY_IP ? [] : ["--orig-dst", m.hostIp]),
    "--orig-port-dst", String(m.hostPort), "--reply-src", m.address, "--reply-port-src", String(m.port), "--dst-nat",
  ];
  return [
    "if command -v conntrack >/dev/null 2>&1; then",
    `  ct=$(${shJoin(argv)} 2>&1 >/dev/null) || case "$ct" in *" 0 flow entries"*) ;; *) ${mark("conntrack-error")}; printf '%s\\n' "$ct" ;; esac`,
    `else ${mark("no-conntrack")}; fi`,
  ];
}

// --- scripts ---------------------------------------------------------------------------

/**
 * With an owner, rules bridgelab 0.1 wrote for this NAME (`bridgelab:v1:publish:NAME`, no
 * owner) are never taken: they belong to a stack whose state has no owner yet, and only that
 * stack's update re-tags them. Printed under `v1`, exit EXIT_EXISTS, before any change.
 */
function v1GuardLines(m: PublishSpec): string[] {
  if (!m.owner) return [];
  const v1 = publishTag(m.name);
  return [`case "$save" in *${shQuote(`--comment "${v1}"`)}*) ${mark("v1")}; ${taggedInSnapshot(v1, CHAIN_KEYS)}; exit ${EXIT_EXISTS} ;; esac`];
}

/**
 * For an undo: forget OWNER's record unless the snapshot taken before the change held a rule
 * of it (the same resource under another NAME, while a replacement is made before the old
 * one goes): then the record is still that rule's.
 */
function forgetUnlessInSnapshot(owner: Owner | undefined): string[] {
  if (!owner) return [];
  return [`case "$save" in *${shQuote(`:${owner.id}"`)}*) ;; *) ${forgetOwnerLines(owner).join("; ")} ;; esac`];
}

/**
 * All-or-nothing create under the host lock, with one iptables-save and one iptables-restore
 * (iptablesSnapshot.ts) instead of a process per rule. Rules already carrying our own tag are
 * printed under `exists` (exit EXIT_EXISTS): the caller adopts them when they are this
 * mapping, left by an interrupted create, and refuses otherwise; 0.1's rules of this NAME are
 * printed under `v1` (exit EXIT_EXISTS) and never taken. Another owner's mapping of the same
 * NAME is no concern, unless it holds the port. Then the subnet and host port are settled
 * (refusing a held static port, EXIT_ALLOCATED; an exhausted range, EXIT_EXHAUSTED), the owner
 * is recorded and the rules go in, and a failure removes them (and the record) again. Prints
 * `placed` ("HOST_PORT SUBNET").
 */
export function portPublishCreateScript(m: PublishSpec): string {
  const rules = scriptRules(m);
  const tag = publishTag(m.name, m.owner);
  return withVariables(
    script([
      "set -u",
      ...hostLockLines(),
      ...snapshotLines(),
      `tagged=$(${taggedInSnapshot(tag, CHAIN_KEYS)})`,
      `if [ -n "$tagged" ]; then ${mark("exists")}; printf '%s\\n' "$tagged"; exit ${EXIT_EXISTS}; fi`,
      ...v1GuardLines(m),
      ...subnetLines(m),
      ...hostPortLines(m, [tag]),
      "set -e",
      // iptables-restore commits table by table: should the nat table fail after the filter
      // table went in, the undo takes the filter rules (and chains left empty) out again.
      `publish_undo() { set +e; ${[...[...rules].reverse().map(removeRuleLine), ...[...CHAIN_KEYS].reverse().flatMap(pruneChainLines), ...forgetUnlessInSnapshot(m.owner)].join("; ")}; }`,
      armUndo("publish_undo"),
      ...recordOwnerLines(m.owner),
      // One restore: the FORWARD accepts and MASQUERADEs first, the DNAT (the mapping goes live) last.
      ...restoreAddLines(rules, ["filter", "nat"]),
      disarm(),
      ...(m.hostPort === 0 ? [writeCursorLine(m.protocol, '"$host_port"')] : []),
      mark("placed"),
      'echo "$host_port $subnet"',
      ...readBack(rules, tag),
    ]),
  );
}

/**
 * In place, under the host lock, in one iptables-save and one iptables-restore: from `from`
 * (the stored mapping; absent when adopting rules left by an interrupted create) to `to`.
 * `to.hostPort` is the port to publish (checked again against other mappings, of any owner,
 * and sockets: a held port fails with EXIT_ALLOCATED before any change, the old mapping still
 * serving), or 0 to allocate a new one (the caller asks for it only when the protocol or host
 * address changed, or a static port became dynamic).
 *
 * The restore adds the new rules that are missing (the FORWARD accepts first), then in the
 * nat table the new MASQUERADEs and DNAT in and the stale ones out in one commit (the switch
 * from the old mapping to the new one), then the stale filter rules out. Stale: every rule of
 * ours carrying the old or the new tag whose text is not a new rule (the old mapping's, a
 * copy, a hand edit; 0.1's tag when its stack's update re-tags). A failure puts the old rules
 * back. When the mapping moved (host or container side), the old mapping's conntrack entries
 * are dropped, so established flows do not keep it alive. Also repairs drift: a declared rule
 * deleted by hand is added again.
 *
 *   *filter  -A … (new accepts)                       COMMIT
 *   *nat     -A … (new MASQUERADEs, DNAT)  -D … (old)  COMMIT
 *   *filter  -D … (old accepts)                       COMMIT
 */
export function portPublishUpdateScript(to: PublishSpec, from?: PlacedMapping): string {
  const rules = scriptRules(to);
  const old = from ? publishRules(from) : [];
  const tag = publishTag(to.name, to.owner);
  const tags = [...new Set([...(from ? [publishTag(from.name, from.owner)] : []), tag])];
  const newOwner = from !== undefined && from.owner?.id !== to.owner?.id;
  const moved =
    from !== undefined &&
    (from.address !== to.address || from.port !== to.port || from.protocol !== to.protocol || from.hostIp !== to.hostIp || to.hostPort === 0 || to.hostPort !== from.hostPort);
  const add = (table: string, mine: Array<{ rule: OwnedRule["rule"]; tag: string }>) => [
    ...mine.map((r) => {
      const line = quoteWithVariables(saveLine(r.rule, r.tag).line);
      return `has_rule ${line} || printf '%s\\n' ${line}`;
    }),
    ...(table === "nat" ? [`printf '%s' "$stale_nat"`] : []),
  ];
  return withVariables(
    script([
      "set -u",
      ...hostLockLines(),
      ...snapshotLines(),
      ...subnetLines(to),
      ...hostPortLines(to, tags),
      "set -e",
      ...staleTaggedLines(rules, tags, CHAIN_KEYS),
      `publish_undo() { set +e; ${[...[...rules].reverse().map(removeRuleLine), ...old.map(applyRuleLine), ...(newOwner ? forgetUnlessInSnapshot(to.owner) : [])].join("; ") || ":"}; }`,
      armUndo("publish_undo"),
      ...recordOwnerLines(to.owner),
      ...restoreAddLines(rules, ["filter", "nat"], add, [`[ -z "$stale_filter" ] || printf '*filter%s\\nCOMMIT\\n' "$stale_filter"`]),
      disarm(),
      ...(to.hostPort === 0 ? [writeCursorLine(to.protocol, '"$host_port"')] : []),
      ...(newOwner && from?.owner ? forgetOwnerLines(from.owner) : []),
      ...(moved ? conntrackFlushLines(from!) : []),
      mark("placed"),
      'echo "$host_port $subnet"',
      ...readBack(rules, tag),
    ]),
  );
}

/**
 * What the host holds for a placed mapping: `present` and `rules` sections. Under the host
 * lock too, so it never sees another script's change half-way (a rule between delete and add).
 * Only this owner's rules: another stack's mapping of the same NAME is not this one.
 */
export function portPublishReadScript(m: PlacedMapping): string {
  return script([...hostLockLines(), ...snapshotLines(), ...readBack(publishRules(m), publishTag(m.name, m.owner), false)]);
}

/**
 * Idempotent, under the host lock: remove every rule carrying the mapping's own tag (its six,
 * and copies an interrupted update or a hand edit left; never another owner's), our chains
 * and their jumps when no rule of any owner is left in them, the owner's record when no rule
 * of it is left, the dynamic-port cursors when no mapping of anyone is left, and the
 * mapping's conntrack entries. One iptables-save, one
 * iptables-restore (each table's deletions are one atomic commit).
 */
export function portPublishDeleteScript(m: PlacedMapping): string {
  const tag = publishTag(m.name, m.owner);
  return script([
    "set -eu",
    ...hostLockLines(),
    ...snapshotLines(),
    // Every rule carrying the tag (the six, copies, hand-edited ones) and the chains left empty, in one restore.
    ...deleteTaggedLines(tag, [...CHAIN_KEYS].reverse()),
    ...forgetOwnersWithoutRulesLines(m.owner ? [m.owner] : [], [tag]),
    ...forgetCursorsLines([tag]),
    ...conntrackFlushLines(m),
    mark("deleted"),
  ]);
}

// --- parsing -------------------------------------------------------------------------------

/** A DNAT rule of ours as `iptables -S` prints it, read back into the mapping it publishes. */
export interface ParsedDnat {
  name: string;
  protocol: string;
  hostIp: string;
  hostPort: number;
  address: string;
  port: number;
  /** The owner's id, for a rule of bridgelab 0.2 (`bridgelab:v2:publish:NAME:OWNERID`); absent for 0.1's. */
  ownerId?: string;
}

/**
 * Parse `-A BRIDGELAB-DNAT [-d 198.51.100.2/32] -p tcp -m tcp --dport 8080 -m comment
 * --comment "bridgelab:v2:publish:web:1a2b3c4d" -j DNAT --to-destination 172.18.0.10:5000`
 * (or 0.1's `bridgelab:v1:publish:web`).
 */
export function parsePublishDnat(line: string): ParsedDnat | undefined {
  const w = line.trim().split(/\s+/);
  if (w[0] !== "-A" || w[1] !== "BRIDGELAB-DNAT" || !w.includes("DNAT")) return undefined;
  const after = (flag: string) => {
    const i = w.indexOf(flag);
    return i >= 0 ? w[i + 1] : undefined;
  };
  const tag = parseTag(after("--comment")?.replace(/^"|"$/g, ""), true);
  const to = after("--to-destination")?.match(/^(\d+\.\d+\.\d+\.\d+):(\d+)$/);
  const dport = Number(after("--dport"));
  if (tag?.kind !== PUBLISH_KIND || tag.name === undefined || !to || !Number.isInteger(dport)) return undefined;
  return {
    name: tag.name,
    protocol: after("-p") ?? "",
    hostIp: after("-d")?.replace(/\/32$/, "") ?? ANY_IP,
    hostPort: dport,
    address: to[1],
    port: Number(to[2]),
    ...(tag.version === 2 ? { ownerId: tag.id } : {}),
  };
}

/** The `placed` section: "HOST_PORT SUBNET". */
export function parsePlaced(section: string | undefined): { hostPort: number; subnet: string } | undefined {
  const m = (section ?? "").trim().match(/^(\d+) (\S+)$/);
  return m ? { hostPort: Number(m[1]), subnet: m[2] } : undefined;
}
