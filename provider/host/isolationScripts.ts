import { CHAINS, ChainKey, ensureChainLines, hostLockLines, listTaggedLine, pruneChainLines, ruleTag } from "./iptables";
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
import { BRIDGE_NF_CALL_IPTABLES, sysctlClaimLines, sysctlPath, sysctlReleaseLines, sysctlUndoLines } from "./sharedSysctl";

/**
 * Scripts for a bridge's isolation, Docker's filter rules rewritten in bridgelab's chains.
 * For bridge br-a, isolated, icc=false, allowing connections from br-b, owned by the resource
 * whose id is 1a2b3c4d (owner.ts; its URN kept in /run/bridgelab/owners/1a2b3c4d):
 *
 *   -A BRIDGELAB-FORWARD -m comment --comment bridgelab:v1 -j BRIDGELAB-ISOLATION-STAGE-1     (first)
 *   -A BRIDGELAB-ISOLATION-STAGE-1 -i br-a -o br-b -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "bridgelab:v2:isolation:br-a:1a2b3c4d" -j RETURN
 *   -A BRIDGELAB-ISOLATION-STAGE-1 -i br-b -o br-a -m comment --comment "bridgelab:v2:isolation:br-a:1a2b3c4d" -j RETURN
 *   -A BRIDGELAB-ISOLATION-STAGE-1 -i br-a ! -o br-a -m comment --comment "bridgelab:v2:isolation:br-a:1a2b3c4d" -j BRIDGELAB-ISOLATION-STAGE-2
 *   -A BRIDGELAB-ISOLATION-STAGE-1 -i br-a -o br-a -m comment --comment "bridgelab:v2:icc:br-a:1a2b3c4d" -j DROP
 *   -A BRIDGELAB-ISOLATION-STAGE-2 -o br-a -m comment --comment "bridgelab:v2:isolation:br-a:1a2b3c4d" -j DROP
 *
 * A BridgeIsolation reads, updates and deletes only its own owner's rules: another stack's
 * isolation of a bridge of the same name is left alone. State of bridgelab 0.1 (no owner)
 * keeps its `bridgelab:v1:isolation:br-a` rules until its update re-tags them.
 *
 * Two stages, as Docker's DOCKER-ISOLATION-STAGE-1/2: a packet leaving an isolated bridge for
 * another interface goes to stage 2, which drops it if that interface is another isolated
 * bridge. Each bridge owns one rule in each stage, so n bridges need 2n rules, not n², and
 * adding a bridge never touches another bridge's rules. Traffic to the outside (eth0) or to
 * a bridge that is not isolated passes stage 2 untouched.
 *
 * allowFrom exceptions are inserted first in stage 1, before any bridge's jump: connections
 * opened from br-b to br-a return before br-b's jump, and br-a's replies (conntrack
 * RELATED,ESTABLISHED) before br-a's. br-a still cannot open connections to br-b; that
 * takes `allowFrom: ["br-a"]` on br-b.
 *
 * icc=false is Docker's `-A FORWARD -i docker0 -o docker0 -j DROP`. Frames between two
 * ports of one bridge are switched, not routed: they pass iptables FORWARD only when
 * net.bridge.bridge-nf-call-iptables is 1 in the host's network namespace (a per-namespace
 * switch of br_netfilter). So icc=false turns it on like ip_forward (sharedSysctl.ts: the
 * last icc=false bridge out restores it), and refuses to run without br_netfilter loaded:
 * loading a kernel module changes every namespace on the machine, so bridgelab leaves
 * `modprobe br_netfilter` to the host's owner. Packets to the host itself (the gateway
 * address) go to INPUT, not FORWARD: containers still reach their gateway.
 *
 * A container with a leg on two bridges reaches both directly, through its own interfaces;
 * nothing is routed by the host, so isolation does not concern it.
 *
 * Values must have passed the checks in validateNetfilter.ts.
 */
export interface IsolationSpec {
  bridge: string;
  /** Cannot reach, or be reached from, other isolated bridges. */
  isolated: boolean;
  /** Containers on this bridge may talk to each other. */
  icc: boolean;
  /** Bridges whose containers may open connections to this bridge's despite isolation. */
  allowFrom: string[];
  /** Who made it; absent for state of bridgelab 0.1. */
  owner?: Owner;
}

export const ISOLATION_KIND = "isolation";
export const ICC_KIND = "icc";

export function isolationTag(bridge: string, owner?: Owner): string {
  return ruleTag(ISOLATION_KIND, bridge, owner);
}

export function iccTag(bridge: string, owner?: Owner): string {
  return ruleTag(ICC_KIND, bridge, owner);
}

/** Every rule the isolation of one bridge owns, in the order they are applied (and checked). */
export function isolationRules(s: IsolationSpec): OwnedRule[] {
  const b = s.bridge;
  const tag = isolationTag(b, s.owner);
  const rules: OwnedRule[] = [];
  if (s.isolated) {
    for (const from of s.allowFrom) {
      rules.push({ rule: { chain: "isolationStage1", spec: ["-i", from, "-o", b, "-j", "RETURN"] }, tag, first: true });
      rules.push({
        rule: { chain: "isolationStage1", spec: ["-i", b, "-o", from, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"] },
        tag,
        first: true,
      });
    }
    rules.push({ rule: { chain: "isolationStage1", spec: ["-i", b, "!", "-o", b, "-j", CHAINS.isolationStage2.name] }, tag });
    rules.push({ rule: { chain: "isolationStage2", spec: ["-o", b, "-j", "DROP"] }, tag });
  }
  if (!s.icc) rules.push({ rule: { chain: "isolationStage1", spec: ["-i", b, "-o", b, "-j", "DROP"] }, tag: iccTag(b, s.owner) });
  return rules;
}

/** The (chain, tag) pairs a bridge's rules of this owner (0.1's without one) can live under. */
function tagged(bridge: string, owner: Owner | undefined): Array<[ChainKey, string]> {
  return [
    ["isolationStage1", isolationTag(bridge, owner)],
    ["isolationStage1", iccTag(bridge, owner)],
    ["isolationStage2", isolationTag(bridge, owner)],
  ];
}

/** Every rule of the filter table, as `iptables -S` prints them (the owner's rules live in both stages). */
const filterRules = "iptables -w -t filter -S";

const CHAIN_ORDER: ChainKey[] = ["forward", "isolationStage1", "isolationStage2"];

/** Chains in dependency order: the jump target before the jump. */
const ensureChains = (): string[] => CHAIN_ORDER.flatMap((k) => ensureChainLines(k));

/**
 * The last one out removes the chains: stage 1 (and its jump in BRIDGELAB-FORWARD) first,
 * stage 2 only when no stage-1 rule jumps to it any more (a stage-2 rule deleted by hand
 * must not make `iptables -X` fail), BRIDGELAB-FORWARD last.
 */
function pruneChains(): string[] {
  const s1 = CHAINS.isolationStage1.name;
  const s2 = CHAINS.isolationStage2.name;
  return [
    ...pruneChainLines("isolationStage1"),
    `if ! iptables -w -t filter -S ${s1} 2>/dev/null | grep -q -- '-j ${s2}'; then ${pruneChainLines("isolationStage2").join("; ")}; fi`,
    ...pruneChainLines("forward"),
  ];
}

/** How many bridges have icc=false on the host (of any owner or version). */
const iccUsers = countKindCommand("isolationStage1", ICC_KIND);

const NF = sysctlPath(BRIDGE_NF_CALL_IPTABLES);

/** icc=false cannot work without br_netfilter: say so and what to do, before changing anything. */
function requireBrNetfilter(): string {
  return (
    `[ -e ${NF} ] || { echo "bridgelab: icc=false needs the br_netfilter kernel module (${NF} is missing): ` +
    `run 'modprobe br_netfilter' on the host; bridgelab does not load it because it changes every network namespace of the machine" >&2; exit 78; }`
  );
}

/**
 * What the host holds, under sections: present (1/0 per rule of isolationRules(s), in
 * order), rules (every rule carrying the bridge's tags, as `iptables -S` prints them),
 * bridge-nf (net.bridge.bridge-nf-call-iptables, or "absent" without br_netfilter).
 */
function readBack(s: IsolationSpec): Line[] {
  return [
    mark("present"),
    ...isolationRules(s).map(rulePresentLine),
    mark("rules"),
    ...tagged(s.bridge, s.owner).map(([k, t]) => listTaggedLine(k, t)),
    mark("bridge-nf"),
    `cat ${NF} 2>/dev/null || echo absent`,
  ];
}

/**
 * All-or-nothing create, under the host lock. Rules with the bridge's tags of this owner that
 * this declaration does not account for (leftovers edited by hand) make it print them under
 * `exists` and exit EXIT_EXISTS; an identical set left by an interrupted create is adopted.
 * With an owner, rules bridgelab 0.1 wrote for this bridge are never taken: printed under
 * `v1`, exit EXIT_EXISTS. Another owner's isolation of this bridge is left alone. On failure
 * every rule with our tags goes, the owner's record too, the chains are pruned and
 * bridge-nf-call-iptables is put back.
 */
export function isolationCreateScript(s: IsolationSpec): string {
  const rules = isolationRules(s);
  return script([
    "set -eu",
    ...hostLockLines(),
    ...foreignTaggedGuardLines(rules, tagged(s.bridge, s.owner), EXIT_EXISTS),
    ...(s.owner ? v1TaggedGuardLines(tagged(s.bridge, undefined), EXIT_EXISTS) : []),
    ...(s.icc ? [] : [requireBrNetfilter()]),
    `isolation_undo() { set +e; ${[
      ...tagged(s.bridge, s.owner).map(([k, t]) => sweepTaggedLine(k, t)),
      ...forgetOwnerUnlessRulesLines(s.owner, filterRules),
      ...pruneChains(),
      ...sysctlUndoLines(BRIDGE_NF_CALL_IPTABLES),
    ].join("; ")}; }`,
    armUndo("isolation_undo"),
    ...ensureChains(),
    ...recordOwnerLines(s.owner),
    ...rules.map(applyRuleLine),
    ...(s.icc ? [] : sysctlClaimLines(BRIDGE_NF_CALL_IPTABLES, "bridge-nf-before")),
    disarm(),
    ...readBack(s),
  ]);
}

export function isolationReadScript(s: IsolationSpec): string {
  return script(readBack(s));
}

/**
 * Converge in place from `from` (the stored state) to `to`: new rules in first, then the
 * ones no longer declared out, so isolation never lapses while it changes. Also repairs
 * drift. Going back to icc=true releases bridge-nf-call-iptables (restored by the last
 * icc=false bridge out). A new owner (0.1's rules taken over by its own stack under 0.2, or
 * the resource moved by an alias) re-tags: the rules under the new tags in, every rule under
 * the old tags out, the new owner recorded and the old one forgotten.
 */
export function isolationUpdateScript(from: IsolationSpec, to: IsolationSpec): string {
  const next = isolationRules(to);
  const gone = isolationRules(from).filter((r) => !next.some((n) => sameOwnedRule(n, r)));
  const newTags = tagged(to.bridge, to.owner).map(([, t]) => t);
  const oldTagged = tagged(from.bridge, from.owner).filter(([, t]) => !newTags.includes(t));
  const retag = from.owner?.id !== to.owner?.id;
  return script([
    "set -eu",
    ...hostLockLines(),
    ...(to.icc ? [] : [requireBrNetfilter()]),
    ...ensureChains(),
    // Always recorded: a create cut between the record and the rules may have left none.
    ...recordOwnerLines(to.owner),
    ...next.map(applyRuleLine),
    ...gone.map(removeRuleLine),
    ...(retag ? oldTagged.map(([k, t]) => sweepTaggedLine(k, t)) : []),
    ...(retag && from.owner ? forgetOwnerLines(from.owner) : []),
    ...(to.icc ? sysctlReleaseLines(BRIDGE_NF_CALL_IPTABLES, iccUsers) : sysctlClaimLines(BRIDGE_NF_CALL_IPTABLES, "bridge-nf-before")),
    ...pruneChains(),
    ...readBack(to),
  ]);
}

/**
 * Idempotent. Removes the declared rules and any other rule carrying the bridge's tags of
 * this owner (never another owner's), the owner's record when no rule of it is left, the
 * chains when they are empty of every owner's rules, and restores bridge-nf-call-iptables
 * when bridgelab turned it on and no icc=false bridge of any owner is left.
 */
export function isolationDeleteScript(s: IsolationSpec): string {
  return script([
    "set -eu",
    ...hostLockLines(),
    ...isolationRules(s).map(removeRuleLine),
    ...tagged(s.bridge, s.owner).map(([k, t]) => sweepTaggedLine(k, t)),
    ...forgetOwnerUnlessRulesLines(s.owner, filterRules),
    ...pruneChains(),
    ...sysctlReleaseLines(BRIDGE_NF_CALL_IPTABLES, iccUsers),
  ]);
}
