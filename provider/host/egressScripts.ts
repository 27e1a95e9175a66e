import { CHAINS, ensureChainLines, hostLockLines, listTaggedLine, pruneChainLines, ruleTag } from "./iptables";
import { Owner, forgetOwnerLines, recordOwnerLines } from "./owner";
import {
  OwnedRule,
  applyRuleLine,
  countKindCommand,
  forgetOwnerUnlessRulesLines,
  foreignTaggedGuardLines,
  removeRuleLine,
  rulePresentLine,
  sameOwnedRule,
  sweepTaggedLine,
  v1TaggedGuardLines,
} from "./ruleSet";
import { EXIT_EXISTS, Line, armUndo, disarm, script } from "./script";
import { sectionMarker as mark } from "./sections";
import { IP_FORWARD, sysctlClaimLines, sysctlPath, sysctlReleaseLines, sysctlUndoLines } from "./sharedSysctl";

/**
 * Scripts for egress NAT: a bridge's containers reach the outside through the host, as seed
 * 004 builds it by hand:
 *
 *   sysctl -w net.ipv4.ip_forward=1
 *   iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
 *
 * written into bridgelab's own chain, with the Egress's tag naming its owner (owner.ts; the
 * owner's URN is kept in /run/bridgelab/owners/1a2b3c4d while the rule exists):
 *
 *   -A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 ! -o br0 -m comment --comment "bridgelab:v2:egress:NAME:1a2b3c4d" -j MASQUERADE
 *
 * Two stacks of one program on one host each have their own rule (same NAME, two owners);
 * each reads, updates and deletes only its own. State of bridgelab 0.1 (no owner) keeps its
 * `bridgelab:v1:egress:NAME` rule until its update re-tags it.
 *
 * `! -o br0` keeps container↔container traffic on the bridge un-NATed: with
 * br_netfilter, frames bridged inside br0 pass nat POSTROUTING too, with br0 as their
 * output device. With `outInterface: "eth0"` the rule is `-o eth0` instead (iptables takes
 * one -o; eth0 is not br0 anyway).
 *
 * net.bridge.bridge-nf-call-iptables is not needed here, and Egress leaves it alone:
 * traffic to the outside is routed (container → br0 → the host's routing → eth0), and
 * routed packets pass FORWARD and nat POSTROUTING whatever that switch says. It only
 * matters for frames bridged between two ports of one bridge (icc=false, hairpin NAT).
 *
 * Values must have passed the checks in validateNetfilter.ts.
 */
export interface EgressSpec {
  /** NAME in the tag bridgelab:v2:egress:NAME:OWNERID. */
  name: string;
  bridge: string;
  /** The bridge's subnet, a network address: "172.18.0.0/16". */
  subnet: string;
  /** Only NAT traffic leaving through this interface. */
  outInterface?: string;
  /** Turn on net.ipv4.ip_forward (and restore it when the last Egress goes). */
  ipForward: boolean;
  /** Who made it; absent for state of bridgelab 0.1. */
  owner?: Owner;
}

export const EGRESS_KIND = "egress";

export function egressTag(name: string, owner?: Owner): string {
  return ruleTag(EGRESS_KIND, name, owner);
}

/** The one rule an Egress owns. */
export function egressRule(s: EgressSpec): OwnedRule {
  const out = s.outInterface ? ["-o", s.outInterface] : ["!", "-o", s.bridge];
  return { rule: { chain: "postrouting", spec: ["-s", s.subnet, ...out, "-j", "MASQUERADE"] }, tag: egressTag(s.name, s.owner) };
}

/** How many Egress rules (of any name, owner or version) are on the host: the users of ip_forward. */
const egressUsers = countKindCommand("postrouting", EGRESS_KIND);

/** The rules of our POSTROUTING chain, as `iptables -S` prints them. */
const postroutingRules = `iptables -w -t nat -S ${CHAINS.postrouting.name}`;

/**
 * What the host holds, under sections: masquerade (1/0: our exact rule is in place), rules
 * (every rule with our tag, as `iptables -S` prints it), ip-forward (0/1), forward-policy
 * (the filter FORWARD policy: with DROP, as on a Docker host, routed traffic needs an ACCEPT
 * that Egress does not write).
 */
function readBack(s: EgressSpec): Line[] {
  return [
    mark("masquerade"),
    rulePresentLine(egressRule(s)),
    mark("rules"),
    listTaggedLine("postrouting", egressTag(s.name, s.owner)),
    mark("ip-forward"),
    `cat ${sysctlPath(IP_FORWARD)}`,
    mark("forward-policy"),
    "iptables -w -t filter -S FORWARD 2>/dev/null | sed -n 's/^-P FORWARD //p'",
  ];
}

/**
 * All-or-nothing create, under the host lock. Rules with our own tag that are not our rule
 * (this same resource declared otherwise before) make it print them under `exists` and exit
 * EXIT_EXISTS; our own rule left by an interrupted create is adopted. With an owner, rules
 * bridgelab 0.1 wrote for this NAME are never taken: printed under `v1`, exit EXIT_EXISTS.
 * Another owner's rule of the same NAME is no concern of ours: both live side by side. If a
 * step fails, the rule, the owner's record, the chain (when it was the last rule) and
 * forwarding are put back as they were.
 */
export function egressCreateScript(s: EgressSpec): string {
  const r = egressRule(s);
  return script([
    "set -eu",
    ...hostLockLines(),
    ...foreignTaggedGuardLines([r], [["postrouting", r.tag]], EXIT_EXISTS),
    ...(s.owner ? v1TaggedGuardLines([["postrouting", egressTag(s.name)]], EXIT_EXISTS) : []),
    `egress_undo() { set +e; ${[
      removeRuleLine(r),
      ...forgetOwnerUnlessRulesLines(s.owner, postroutingRules),
      ...pruneChainLines("postrouting"),
      ...sysctlUndoLines(IP_FORWARD),
    ].join("; ")}; }`,
    armUndo("egress_undo"),
    ...ensureChainLines("postrouting"),
    ...recordOwnerLines(s.owner),
    applyRuleLine(r),
    ...(s.ipForward ? sysctlClaimLines(IP_FORWARD, "ip-forward-before") : []),
    disarm(),
    ...readBack(s),
  ]);
}

export function egressReadScript(s: EgressSpec): string {
  return script(readBack(s));
}

/**
 * Converge in place from `from` (the stored state) to `to`: the new rule goes in before the
 * old one goes out, so NAT never lapses. Also repairs drift (a rule deleted by hand,
 * forwarding turned off). Turning ipForward off leaves forwarding as it is: the last Egress
 * out restores it. A new owner (0.1's rule taken over by its own stack under 0.2, or the
 * resource moved by an alias) re-tags: the rule under the new tag in, every rule under the
 * old tag out, the new owner recorded and the old one forgotten.
 */
export function egressUpdateScript(from: EgressSpec, to: EgressSpec): string {
  const [oldRule, newRule] = [egressRule(from), egressRule(to)];
  const retag = oldRule.tag !== newRule.tag;
  return script([
    "set -eu",
    ...hostLockLines(),
    ...ensureChainLines("postrouting"),
    // Always recorded: a create cut between the record and the rule may have left none.
    ...recordOwnerLines(to.owner),
    applyRuleLine(newRule),
    ...(sameOwnedRule(oldRule, newRule) ? [] : [removeRuleLine(oldRule)]),
    ...(retag ? [sweepTaggedLine("postrouting", oldRule.tag)] : []),
    ...(retag && from.owner && from.owner.id !== to.owner?.id ? forgetOwnerLines(from.owner) : []),
    ...(to.ipForward ? sysctlClaimLines(IP_FORWARD, "ip-forward-before") : []),
    ...readBack(to),
  ]);
}

/**
 * Idempotent. Removes our rule and any other rule carrying our tag (never another owner's),
 * the owner's record when no rule of it is left, the chain and its jump when no rule of any
 * owner is left, and, when no Egress of any owner is left on the host and bridgelab turned
 * forwarding on, restores net.ipv4.ip_forward to what it was.
 */
export function egressDeleteScript(s: EgressSpec): string {
  const r = egressRule(s);
  return script([
    "set -eu",
    ...hostLockLines(),
    removeRuleLine(r),
    sweepTaggedLine("postrouting", r.tag),
    ...forgetOwnerUnlessRulesLines(s.owner, postroutingRules),
    ...pruneChainLines("postrouting"),
    ...sysctlReleaseLines(IP_FORWARD, egressUsers),
  ]);
}
