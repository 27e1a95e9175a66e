import { CHAINS, ChainKey, Rule, addRuleLine, deleteRuleLine, insertRuleLine, listTaggedLine, ruleArgs } from "./iptables";
import { shJoin } from "./quote";
import { sectionMarker as mark } from "./sections";

/**
 * The rules one resource owns, as data, and the shell lines that apply, check, count and
 * remove them. Built on iptables.ts: every rule carries the resource's tag, every edit runs
 * under hostLockLines().
 */
export interface OwnedRule {
  rule: Rule;
  /** bridgelab:v1:KIND:NAME (ruleTag). */
  tag: string;
  /** Insert first in the chain instead of appending (exceptions that must precede a DROP). */
  first?: boolean;
}

/** The exact argv `iptables -A` would get, for tests and comparisons. */
export function ownedRuleArgs(r: OwnedRule): string[] {
  return r.first ? ruleArgs("-I", r.rule, r.tag) : ruleArgs("-A", r.rule, r.tag);
}

export function sameOwnedRule(a: OwnedRule, b: OwnedRule): boolean {
  return ruleArgs("-C", a.rule, a.tag).join("\0") === ruleArgs("-C", b.rule, b.tag).join("\0") && !!a.first === !!b.first;
}

/** Append (or insert first) unless an identical rule is there. Idempotent. */
export function applyRuleLine(r: OwnedRule): string {
  return r.first ? insertRuleLine(r.rule, r.tag) : addRuleLine(r.rule, r.tag);
}

export function removeRuleLine(r: OwnedRule): string {
  return deleteRuleLine(r.rule, r.tag);
}

/** Prints 1 when the exact rule is in place, else 0 (also when the chain is missing). */
export function rulePresentLine(r: OwnedRule): string {
  return `if ${shJoin(ruleArgs("-C", r.rule, r.tag))} >/dev/null 2>&1; then echo 1; else echo 0; fi`;
}

/**
 * A command printing how many rules in the chain carry a tag. `prefix` counts a whole kind
 * (`bridgelab:v1:egress:` counts every Egress); otherwise the tag must match exactly.
 */
export function countTaggedCommand(key: ChainKey, tag: string, prefix = false): string {
  const c = CHAINS[key];
  const needle = prefix ? `--comment "${tag}` : `--comment "${tag}"`;
  return `iptables -w -t ${c.table} -S ${c.name} 2>/dev/null | grep -c -F -- ${shJoin([needle])} || true`;
}

/**
 * Delete every rule in the chain carrying exactly `tag`, whatever its match: copies an
 * interrupted update left, or a rule of ours edited by hand. `iptables -S CHAIN` prints
 * `-N CHAIN` first, so the rule number is the line number minus one; the last goes first
 * so the numbers of the others do not move.
 */
export function sweepTaggedLine(key: ChainKey, tag: string): string {
  const c = CHAINS[key];
  const needle = shJoin([`--comment "${tag}"`]);
  return `for n in $(iptables -w -t ${c.table} -S ${c.name} 2>/dev/null | grep -n -F -- ${needle} | cut -d: -f1 | sort -rn); do iptables -w -t ${c.table} -D ${c.name} $((n - 1)); done`;
}

/**
 * Refuse to take over rules carrying our tag that we did not declare (another resource of
 * the same name, or hand-made): when more rules carry the tags than our declared rules
 * account for, print them under `exists` and exit `code`.
 */
export function foreignTaggedGuardLines(rules: OwnedRule[], tagged: Array<[ChainKey, string]>, code: number): string[] {
  const count = tagged.map(([k, t]) => `$(${countTaggedCommand(k, t)})`).join(" + ");
  return [
    `tagged=$((${count}))`,
    "mine=0",
    ...rules.map((r) => `if ${shJoin(ruleArgs("-C", r.rule, r.tag))} >/dev/null 2>&1; then mine=$((mine + 1)); fi`),
    `if [ "$tagged" -gt "$mine" ]; then ${mark("exists")}; ${tagged.map(([k, t]) => listTaggedLine(k, t)).join("; ")}; exit ${code}; fi`,
  ];
}
