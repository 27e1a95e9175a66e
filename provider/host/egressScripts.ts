import { ensureChainLines, hostLockLines, listTaggedLine, pruneChainLines, ruleTag } from "./iptables";
import { OwnedRule, applyRuleLine, countTaggedCommand, foreignTaggedGuardLines, removeRuleLine, rulePresentLine, sameOwnedRule, sweepTaggedLine } from "./ruleSet";
import { EXIT_EXISTS, Line, armUndo, disarm, script } from "./script";
import { sectionMarker as mark } from "./sections";
import { IP_FORWARD, sysctlClaimLines, sysctlPath, sysctlReleaseLines, sysctlUndoLines } from "./sharedSysctl";
import { TAG_PREFIX } from "./tags";

/**
 * Scripts for egress NAT: a bridge's containers reach the outside through the host, as seed
 * 004 builds it by hand:
 *
 *   sysctl -w net.ipv4.ip_forward=1
 *   iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
 *
 * written into bridgelab's own chain, with the Egress's tag:
 *
 *   -A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 ! -o br0 -m comment --comment "bridgelab:v1:egress:NAME" -j MASQUERADE
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
  /** NAME in the tag bridgelab:v1:egress:NAME. */
  name: string;
  bridge: string;
  /** The bridge's subnet, a network address: "172.18.0.0/16". */
  subnet: string;
  /** Only NAT traffic leaving through this interface. */
  outInterface?: string;
  /** Turn on net.ipv4.ip_forward (and restore it when the last Egress goes). */
  ipForward: boolean;
}

export const EGRESS_KIND = "egress";

export function egressTag(name: string): string {
  return ruleTag(EGRESS_KIND, name);
}

/** The one rule an Egress owns. */
export function egressRule(s: EgressSpec): OwnedRule {
  const out = s.outInterface ? ["-o", s.outInterface] : ["!", "-o", s.bridge];
  return { rule: { chain: "postrouting", spec: ["-s", s.subnet, ...out, "-j", "MASQUERADE"] }, tag: egressTag(s.name) };
}

/** How many Egress resources (of any name) have a rule on the host. */
const egressUsers = countTaggedCommand("postrouting", `${TAG_PREFIX}${EGRESS_KIND}:`, true);

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
    listTaggedLine("postrouting", egressTag(s.name)),
    mark("ip-forward"),
    `cat ${sysctlPath(IP_FORWARD)}`,
    mark("forward-policy"),
    "iptables -w -t filter -S FORWARD 2>/dev/null | sed -n 's/^-P FORWARD //p'",
  ];
}

/**
 * All-or-nothing create, under the host lock. Rules with our tag that are not our rule
 * (another Egress of the same name) make it print them under `exists` and exit EXIT_EXISTS;
 * our own rule left by an interrupted create is adopted. If a step fails, the rule, the
 * chain (when it was the last rule) and forwarding are put back as they were.
 */
export function egressCreateScript(s: EgressSpec): string {
  const r = egressRule(s);
  return script([
    "set -eu",
    ...hostLockLines(),
    ...foreignTaggedGuardLines([r], [["postrouting", r.tag]], EXIT_EXISTS),
    `egress_undo() { set +e; ${removeRuleLine(r)}; ${pruneChainLines("postrouting").join("; ")}; ${sysctlUndoLines(IP_FORWARD).join("; ")}; }`,
    armUndo("egress_undo"),
    ...ensureChainLines("postrouting"),
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
 * out restores it.
 */
export function egressUpdateScript(from: EgressSpec, to: EgressSpec): string {
  const [oldRule, newRule] = [egressRule(from), egressRule(to)];
  return script([
    "set -eu",
    ...hostLockLines(),
    ...ensureChainLines("postrouting"),
    applyRuleLine(newRule),
    ...(sameOwnedRule(oldRule, newRule) ? [] : [removeRuleLine(oldRule)]),
    ...(to.ipForward ? sysctlClaimLines(IP_FORWARD, "ip-forward-before") : []),
    ...readBack(to),
  ]);
}

/**
 * Idempotent. Removes our rule and any other rule carrying our tag, the chain and its jump
 * when no rule is left, and, when no Egress is left on the host and bridgelab turned
 * forwarding on, restores net.ipv4.ip_forward to what it was.
 */
export function egressDeleteScript(s: EgressSpec): string {
  const r = egressRule(s);
  return script([
    "set -eu",
    ...hostLockLines(),
    removeRuleLine(r),
    sweepTaggedLine("postrouting", r.tag),
    ...pruneChainLines("postrouting"),
    ...sysctlReleaseLines(IP_FORWARD, egressUsers),
  ]);
}
