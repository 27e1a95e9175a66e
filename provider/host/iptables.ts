import type { Owner } from "./owner";
import { shJoin } from "./quote";
import { TAG_PREFIX, TAG_PREFIX_V2 } from "./tags";

/**
 * bridgelab's iptables layout, shared by every resource that writes rules (egress NAT, port
 * publishing, isolation). Rules live in chains of our own, entered from the built-in chains
 * by one jump each, as Docker does with its DOCKER chains:
 *
 *   *nat
 *   -A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment bridgelab:v1 -j BRIDGELAB-DNAT
 *   -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment bridgelab:v1 -j BRIDGELAB-DNAT
 *   -A POSTROUTING -m comment --comment bridgelab:v1 -j BRIDGELAB-POSTROUTING
 *   *filter
 *   -I FORWARD 1 -m comment --comment bridgelab:v1 -j BRIDGELAB-FORWARD
 *   -I BRIDGELAB-FORWARD 1 -m comment --comment bridgelab:v1 -j BRIDGELAB-ISOLATION-STAGE-1
 *   -N BRIDGELAB-ISOLATION-STAGE-2          (entered only from STAGE-1 rules, as Docker's)
 *
 * Every rule carries its owner in `-m comment --comment bridgelab:v2:KIND:NAME:OWNERID` (the
 * resource that made it, host/owner.ts; 0.1 wrote `bridgelab:v1:KIND:NAME`), so a resource
 * finds exactly its own rules and touches nothing else, not even another stack's rules of the
 * same NAME. The chains and their jumps are shared by every owner (their comment stays
 * `bridgelab:v1`): the last rule of any owner out removes them. Rules are argv arrays (never
 * strings split again).
 * Every edit runs under one host-wide lock (flock on /run/bridgelab.lock) and `-w` waits for
 * the xtables lock: concurrent resources never lose a rule, and the last one out removes
 * the empty chains and their jumps, so destroy leaves iptables as it found it.
 */
export type Table = "nat" | "filter";

export interface ChainSpec {
  table: Table;
  name: string;
  /** Built-in chain and the match that jumps to us (without the comment). */
  entries: Array<{ from: string; match: string[]; insert?: boolean }>;
}

export const CHAINS = {
  dnat: {
    table: "nat",
    name: "BRIDGELAB-DNAT",
    entries: [
      { from: "PREROUTING", match: ["-m", "addrtype", "--dst-type", "LOCAL"] },
      { from: "OUTPUT", match: ["!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL"] },
    ],
  },
  postrouting: { table: "nat", name: "BRIDGELAB-POSTROUTING", entries: [{ from: "POSTROUTING", match: [] }] },
  forward: { table: "filter", name: "BRIDGELAB-FORWARD", entries: [{ from: "FORWARD", match: [], insert: true }] },
  /**
   * Bridge isolation, Docker's DOCKER-ISOLATION-STAGE-1/2 (see isolationScripts.ts). Stage 1 is
   * entered first thing in BRIDGELAB-FORWARD, so no ACCEPT of ours can precede it; ensure
   * `forward` before it and prune it before `forward`. Stage 2 has no entry: only stage-1 rules
   * jump to it, so it is created before and pruned after stage 1.
   */
  isolationStage1: { table: "filter", name: "BRIDGELAB-ISOLATION-STAGE-1", entries: [{ from: "BRIDGELAB-FORWARD", match: [], insert: true }] },
  isolationStage2: { table: "filter", name: "BRIDGELAB-ISOLATION-STAGE-2", entries: [] },
} as const satisfies Record<string, ChainSpec>;

export type ChainKey = keyof typeof CHAINS;

/** The comment on the jumps into our chains. */
export const JUMP_TAG = "bridgelab:v1";

/**
 * The comment on a resource's rules: `bridgelab:v2:KIND:NAME:OWNERID` (OWNERID: 8 hex digits of
 * the owner's URN, owner.ts), or 0.1's `bridgelab:v1:KIND:NAME` without an owner (state of
 * bridgelab 0.1). NAME must be [A-Za-z0-9_.-].
 */
export function ruleTag(kind: string, name: string, owner?: Owner): string {
  if (!/^[a-z]+$/.test(kind) || !/^[A-Za-z0-9_.:-]+$/.test(name)) throw new Error(`bad rule tag ${kind}:${name}`);
  return owner ? `${TAG_PREFIX_V2}${kind}:${name}:${owner.id}` : `${TAG_PREFIX}${kind}:${name}`;
}

/** The start of every tag of KIND, of any owner and either version: what counts a kind's rules on a host. */
export function kindTagPrefixes(kind: string): string[] {
  return [`${TAG_PREFIX}${kind}:`, `${TAG_PREFIX_V2}${kind}:`];
}

/** One rule: where it goes and its match/target, without the comment (added by ruleArgs). */
export interface Rule {
  chain: ChainKey;
  /** e.g. ["-s", "172.18.0.0/16", "!", "-o", "br0", "-j", "MASQUERADE"] */
  spec: string[];
}

/** `iptables -w -t TABLE OP CHAIN SPEC -m comment --comment TAG` as argv. */
export function ruleArgs(op: "-A" | "-C" | "-D" | "-I", rule: Rule, tag: string): string[] {
  const c = CHAINS[rule.chain];
  // The comment goes before the target, where iptables-save prints it.
  const j = rule.spec.lastIndexOf("-j");
  const match = j >= 0 ? rule.spec.slice(0, j) : rule.spec;
  const target = j >= 0 ? rule.spec.slice(j) : [];
  return ["iptables", "-w", "-t", c.table, op, c.name, ...match, "-m", "comment", "--comment", tag, ...target];
}

const LOCK = "/run/bridgelab.lock";

/** Take the host-wide bridgelab lock for the rest of the script (released when it exits). */
export function hostLockLines(timeoutSec = 60): string[] {
  return [`exec 9>>${LOCK}`, `flock -w ${timeoutSec} 9 || { echo "bridgelab: another bridgelab change held ${LOCK} for ${timeoutSec}s" >&2; exit 75; }`];
}

function jumpArgs(op: "-A" | "-C" | "-D" | "-I", c: ChainSpec, e: ChainSpec["entries"][number]): string[] {
  const pos = op === "-I" ? ["1"] : [];
  return ["iptables", "-w", "-t", c.table, op, e.from, ...pos, ...e.match, "-m", "comment", "--comment", JUMP_TAG, "-j", c.name];
}

/** Create our chain and its jumps if missing. Idempotent. */
export function ensureChainLines(key: ChainKey): string[] {
  const c = CHAINS[key] as ChainSpec;
  const lines = [`${shJoin(["iptables", "-w", "-t", c.table, "-N", c.name])} 2>/dev/null || true`];
  for (const e of c.entries) {
    lines.push(`${shJoin(jumpArgs("-C", c, e))} 2>/dev/null || ${shJoin(jumpArgs(e.insert ? "-I" : "-A", c, e))}`);
  }
  return lines;
}

/** Append a rule unless an identical one is there. Idempotent. */
export function addRuleLine(rule: Rule, tag: string): string {
  return `${shJoin(ruleArgs("-C", rule, tag))} 2>/dev/null || ${shJoin(ruleArgs("-A", rule, tag))}`;
}

/** Insert a rule first in its chain unless an identical one is there. Idempotent. */
export function insertRuleLine(rule: Rule, tag: string): string {
  return `${shJoin(ruleArgs("-C", rule, tag))} 2>/dev/null || ${shJoin(ruleArgs("-I", rule, tag))}`;
}

/** Delete a rule if it is there (all copies). Idempotent. */
export function deleteRuleLine(rule: Rule, tag: string): string {
  return `while ${shJoin(ruleArgs("-C", rule, tag))} 2>/dev/null; do ${shJoin(ruleArgs("-D", rule, tag))}; done`;
}

/** Remove our chain and its jumps when no rule is left in it (the last one out cleans up). */
export function pruneChainLines(key: ChainKey): string[] {
  const c = CHAINS[key] as ChainSpec;
  const empty = `[ "$(iptables -w -t ${c.table} -S ${c.name} 2>/dev/null | grep -c '^-A')" = 0 ] && iptables -w -t ${c.table} -S ${c.name} >/dev/null 2>&1`;
  const drop = [...c.entries.map((e) => `while ${shJoin(jumpArgs("-C", c, e))} 2>/dev/null; do ${shJoin(jumpArgs("-D", c, e))}; done`), shJoin(["iptables", "-w", "-t", c.table, "-X", c.name])];
  return [`if ${empty}; then ${drop.join("; ")}; fi`];
}

/**
 * Rules of ours carrying exactly `tag`, as `iptables -S` prints them (for read / drift).
 * iptables prints the comment in double quotes: `--comment "bridgelab:v2:egress:lab:1a2b3c4d"`.
 */
export function listTaggedLine(key: ChainKey, tag: string): string {
  const c = CHAINS[key];
  return `iptables -w -t ${c.table} -S ${c.name} 2>/dev/null | grep -F -- ${shJoin([`--comment "${tag}"`])} || true`;
}
