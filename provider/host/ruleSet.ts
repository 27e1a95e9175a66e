import { CHAINS, ChainKey, Rule, addRuleLine, deleteRuleLine, insertRuleLine, kindTagPrefixes, listTaggedLine, ruleArgs } from "./iptables";
import { Owner, forgetOwnerLines } from "./owner";
import { shJoin, shQuote } from "./quote";
import { sectionMarker as mark } from "./sections";

/**
 * The rules one resource owns, as data, and the shell lines that apply, check, count and
 * remove them. Built on iptables.ts: every rule carries the resource's tag, every edit runs
 * under hostLockLines().
 */
export interface OwnedRule {
  rule: Rule;
  /** bridgelab:v2:KIND:NAME:OWNERID, or 0.1's bridgelab:v1:KIND:NAME (ruleTag). */
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
 * A command printing how many rules in the chain carry a tag. `prefix` counts every tag that
 * starts with `tag`; otherwise the tag must match exactly.
 */
export function countTaggedCommand(key: ChainKey, tag: string, prefix = false): string {
  const c = CHAINS[key];
  const needle = prefix ? `--comment "${tag}` : `--comment "${tag}"`;
  return `iptables -w -t ${c.table} -S ${c.name} 2>/dev/null | grep -c -F -- ${shJoin([needle])} || true`;
}

/**
 * A command printing how many rules in the chain are of KIND, whoever owns them and whichever
 * version wrote them (`bridgelab:v1:egress:…` and `bridgelab:v2:egress:…`): the users of a
 * host-wide switch (ip_forward for every Egress) are every owner's.
 */
export function countKindCommand(key: ChainKey, kind: string): string {
  const c = CHAINS[key];
  const needles = kindTagPrefixes(kind).flatMap((p) => ["-e", `--comment "${p}`]);
  return `iptables -w -t ${c.table} -S ${c.name} 2>/dev/null | grep -c -F ${shJoin(needles)} || true`;
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

/**
 * A create with an owner never takes rules of bridgelab 0.1 (`bridgelab:v1:KIND:NAME`, no
 * owner) of its own NAME: they belong to a stack whose state has no owner yet, and only that
 * stack's update re-tags them. When any of TAGGED (chain, v1 tag) is on the host, print them
 * under `v1` and exit `code`, before any change.
 */
export function v1TaggedGuardLines(tagged: Array<[ChainKey, string]>, code: number): string[] {
  if (!tagged.length) return [];
  const count = tagged.map(([k, t]) => `$(${countTaggedCommand(k, t)})`).join(" + ");
  return [`if [ "$((${count}))" -gt 0 ]; then ${mark("v1")}; ${tagged.map(([k, t]) => listTaggedLine(k, t)).join("; ")}; exit ${code}; fi`];
}

/**
 * Forget OWNER's record (/run/bridgelab/owners/ID) unless a rule LIST prints (`iptables -S`
 * lines) still carries its id: the resource's last rule out removes it. A replacement created
 * before the old one is deleted (a new NAME, same URN, same owner) keeps the record alive.
 *
 *   if ! iptables -w -t nat -S BRIDGELAB-POSTROUTING 2>/dev/null | grep -qF ':1a2b3c4d"'; then rm -f /run/bridgelab/owners/1a2b3c4d; fi
 */
export function forgetOwnerUnlessRulesLines(owner: Owner | undefined, list: string): string[] {
  if (!owner) return [];
  return [`if ! ${list} 2>/dev/null | grep -qF -- ${shQuote(`:${owner.id}"`)}; then ${forgetOwnerLines(owner).join("; ")}; fi`];
}
