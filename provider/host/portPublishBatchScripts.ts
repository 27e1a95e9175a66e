import { hostLockLines, pruneChainLines } from "./iptables";
import {
  RESNAPSHOT,
  deleteTaggedLines,
  forgetOwnersWithoutRulesLines,
  quoteWithVariables,
  restoreAddLines,
  saveLine,
  snapshotLines,
  taggedInSnapshot,
} from "./iptablesSnapshot";
import { OWNERS_DIR, Owner } from "./owner";
import {
  AWK_HELD_BY_RULE,
  AWK_HELD_BY_SOCKET,
  AWK_RULE_PORTS,
  AWK_SOCKET_PORTS,
  CHAIN_KEYS,
  EXIT_ALLOCATED,
  EXIT_EXHAUSTED,
  EXIT_NO_SUBNET,
  PlacedMapping,
  PublishSpec,
  conntrackFlushLines,
  dnatRules,
  dynamicRangeLines,
  forgetCursorsLines,
  nextFreeAwk,
  publishTag,
  readBack,
  scriptRules,
  selfVars,
  ssListen,
  withVariables,
  writeCursorLine,
} from "./portPublishScripts";
import { shJoin, shQuote } from "./quote";
import { removeRuleLine } from "./ruleSet";
import { EXIT_EXISTS, Line, script } from "./script";
import { sectionMarker as mark } from "./sections";

/**
 * Many port mappings created in one script: one lock, one iptables-save, one
 * iptables-restore for all of them, as a hand-written script would. A lab of 250 containers
 * publishing a port each otherwise runs 250 locked scripts one after the other (each a save,
 * a restore and a read-back, ~100 ms on a 2-core host), the longest chain of its `up`.
 *
 * Each mapping gets exactly the checks and the answer of portPublishCreateScript, in a
 * chunk of the output of its own:
 *
 *   @@bridgelab-item 3
 *   @@bridgelab placed            (or exists / allocated-rule / exhausted / no-subnet …)
 *   20003 172.30.0.0/16
 *   …
 *   @@bridgelab-item-exit 3 0     (the exit status the single script would have had)
 *
 * Phase 1 checks every mapping in order against the snapshot, the listening sockets and the
 * mappings before it in the batch (so two dynamic ports never collide and a static port
 * taken earlier in the batch is refused as "already allocated"), and answers the refused
 * ones at once. Mappings of several owners mix freely: each is checked against its own tag
 * (`exists`), 0.1's rules of its NAME (`v1`) and every other mapping, whoever owns it. Phase 2
 * records the accepted mappings' owners (/run/bridgelab/owners/ID, written beside and renamed
 * into place by one mv) and writes their rules in one restore (filter, then nat: the DNATs go
 * live last); a failure there undoes them all (records too) and fails the script, and the
 * caller runs those mappings one by one. Phase 3 reads back, from one fresh snapshot.
 */
export const ITEM_MARK = "@@bridgelab-item ";
export const ITEM_EXIT_MARK = "@@bridgelab-item-exit ";

const itemStart = (i: number) => `echo '${ITEM_MARK}${i}'`;

/**
 * As HELD_OWNERS, for a batch: a holder accepted earlier in the same batch has no record on
 * the host yet, its `ID URN` line waits in $pending.
 */
const HELD_OWNERS_IN_BATCH =
  `while read -r tag rest; do rec=''; case "$tag" in bridgelab:v2:*) id=\${tag##*:}; ` +
  `rec=$(printf '%s' "$pending" | sed -n "s/^$id //p"); [ -n "$rec" ] || rec=$(cat ${OWNERS_DIR}/"$id" 2>/dev/null || true) ;; esac; ` +
  `printf '%s %s %s\\n' "$tag" "$rest" "$rec"; done`;
const itemExit = (i: number, code: string) => `echo "${ITEM_EXIT_MARK}${i} ${code}"`;

/** `$host_port` / `$subnet` of mapping I, kept for phases 2 and 3. */
const keep = (i: number) => `hp_${i}=$host_port; sn_${i}=$subnet`;
const restore = (i: number) => `host_port=$hp_${i}; subnet=$sn_${i}`;

function phase1(m: PublishSpec, i: number): string[] {
  const tag = publishTag(m.name, m.owner);
  const vars = (extra: string[] = []) => [...extra, "-v", `proto=${m.protocol}`, "-v", "port=@HOST_PORT@", "-v", `ip=${m.hostIp}`];
  // Our DNAT rules, and those of the mappings before this one in the batch.
  const dnats = `{ ${dnatRules}; printf '%s' "$add_nat"; }`;
  const fail = (code: number, lines: string[]) => [`  rc=${code}`, ...lines.map((l) => `  ${l}`)];
  const out: string[] = [`# ${m.name}`, itemStart(i), "rc=0", "host_port=0", "subnet=''"];
  // Rules carrying the tag already (an interrupted create): answered as the single script does.
  out.push(`case "$save" in *${shQuote(`--comment "${tag}"`)}*) rc=${EXIT_EXISTS}; ${mark("exists")}; ${taggedInSnapshot(tag, CHAIN_KEYS)} ;; esac`);
  // With an owner, 0.1's rules of this NAME are never taken: answered as the single script does.
  if (m.owner) {
    const v1 = publishTag(m.name);
    out.push(`if [ $rc = 0 ]; then case "$save" in *${shQuote(`--comment "${v1}"`)}*) rc=${EXIT_EXISTS}; ${mark("v1")}; ${taggedInSnapshot(v1, CHAIN_KEYS)} ;; esac; fi`);
  }
  if (m.subnet) out.push(`subnet=${m.subnet}`);
  else {
    out.push(
      "if [ $rc = 0 ]; then",
      `  subnet=$(ip -4 route show dev ${m.bridge} proto kernel scope link 2>/dev/null | awk 'NR == 1 { print $1 }')`,
      `  if [ -z "$subnet" ]; then rc=${EXIT_NO_SUBNET}; ${mark("no-subnet")}; fi`,
      "fi",
    );
  }
  out.push("if [ $rc = 0 ]; then");
  if (m.hostPort !== 0) {
    const sockets = `printf '%s\\n' "$ss_${m.protocol}" | ${shJoin(["awk", ...vars(), AWK_HELD_BY_SOCKET])}`;
    out.push(
      `  host_port=${m.hostPort}`,
      `  held_rule=$(${dnats} | ${shJoin(["awk", ...vars(selfVars([tag], m.owner)), AWK_HELD_BY_RULE])})`,
      `  held_socket=$(${sockets})`,
      `  if [ -n "$held_rule$held_socket" ]; then`,
      ...fail(EXIT_ALLOCATED, [
        `${mark("allocated-rule")}; [ -z "$held_rule" ] || printf '%s\\n' "$held_rule" | ${HELD_OWNERS_IN_BATCH}`,
        `${mark("allocated-socket")}; [ -z "$held_socket" ] || ${ssListen(m.protocol, true)} | ${shJoin(["awk", ...vars(), AWK_HELD_BY_SOCKET])}`,
      ]).map((l) => `  ${l}`),
      "  fi",
    );
  } else {
    out.push(
      `  host_port=$({ ${dnats} | ${shJoin(["awk", "-v", `proto=${m.protocol}`, AWK_RULE_PORTS])}; printf '%s\\n' "$ss_${m.protocol}" | ${shJoin(["awk", AWK_SOCKET_PORTS])}; } | ${nextFreeAwk(m.protocol)})`,
      `  if [ -z "$host_port" ]; then`,
      ...fail(EXIT_EXHAUSTED, [mark("exhausted"), 'echo "$lo $hi"']).map((l) => `  ${l}`),
      // The next dynamic port of the batch goes on from this one, as Docker's allocator would.
      `  else last_${m.protocol}=$host_port; moved_${m.protocol}=1`,
      "  fi",
    );
  }
  out.push("fi");
  // Accepted: its rules join the restore input (with this mapping's port and subnet), and
  // its port counts as taken for the mappings after it.
  const rules = scriptRules(m);
  const append = (table: "filter" | "nat") =>
    rules
      .filter((r) => saveLine(r.rule, r.tag).table === table)
      .map((r) => `  add_${table}="$add_${table}"${quoteWithVariables(saveLine(r.rule, r.tag).line)}"$nl"`);
  // Its owner is recorded in phase 2; until then a refusal of a later mapping finds it in $pending.
  const pending = m.owner ? [`  pending="$pending"${shQuote(`${m.owner.id} ${m.owner.urn}`)}"$nl"`] : [];
  out.push("if [ $rc = 0 ]; then", `  ok="$ok ${i}"; ${keep(i)}`, ...append("filter"), ...append("nat"), ...pending, `else ${itemExit(i, "$rc")}; fi`);
  return out;
}

/** Phase 3 for mapping I, if accepted: what the single script prints after its restore. */
function phase3(m: PublishSpec, i: number): string[] {
  return [
    `case " $ok " in *" ${i} "*)`,
    `  ${itemStart(i)}; ${restore(i)}`,
    `  ${mark("placed")}; echo "$host_port $subnet"`,
    ...readBack(scriptRules(m), publishTag(m.name, m.owner), false).map((l) => `  ${typeof l === "string" ? l : shJoin(l)}`),
    `  ${itemExit(i, "0")} ;;`,
    "esac",
  ];
}

/**
 * Phase 2's owner records, for the accepted mappings that have an owner: each written with the
 * shell's own printf into a directory beside the records, then all renamed into place by one
 * mv (a record is never seen half-written, and a batch of 64 costs three processes, not 128).
 *
 *   mkdir -p /run/bridgelab/owners/.new.$$
 *   case " $ok " in *" 0 "*) printf '%s\n' 'urn:…' >/run/bridgelab/owners/.new.$$/1a2b3c4d ;; esac
 *   set -- /run/bridgelab/owners/.new.$$/*; [ ! -e "$1" ] || mv -f "$@" /run/bridgelab/owners/; rmdir /run/bridgelab/owners/.new.$$
 */
function recordOwnersLines(specs: PublishSpec[]): string[] {
  const owned = specs.map((m, i) => [m.owner, i] as const).filter((x): x is readonly [Owner, number] => x[0] !== undefined);
  if (!owned.length) return [];
  const tmp = `${OWNERS_DIR}/.new.$$`;
  return [
    `mkdir -p ${tmp}`,
    ...owned.map(([o, i]) => `case " $ok " in *" ${i} "*) printf '%s\\n' ${shQuote(o.urn)} >${tmp}/${o.id} ;; esac`),
    `set -- ${tmp}/*; [ ! -e "$1" ] || mv -f "$@" ${OWNERS_DIR}/; rmdir ${tmp}`,
  ];
}

/** For the batch's undo: forget the accepted mappings' owners that had no rule before the batch (the snapshot). */
function forgetOwnersUndo(specs: PublishSpec[]): string[] {
  return specs.flatMap((m, i) =>
    m.owner ? [`case " $ok " in *" ${i} "*) case "$save" in *${shQuote(`:${m.owner.id}"`)}*) ;; *) rm -f ${OWNERS_DIR}/${m.owner.id} ;; esac ;; esac`] : [],
  );
}

/** Mappings to create, in order (tags distinct: the caller batches distinct resources). */
export function portPublishBatchCreateScript(specs: PublishSpec[]): string {
  if (new Set(specs.map((m) => publishTag(m.name, m.owner))).size !== specs.length) throw new Error("portPublishBatchCreateScript: tags (name and owner) must be distinct");
  const all = specs.flatMap((m) => scriptRules(m));
  // Undo: every accepted mapping's rules (with its own port and subnet), then empty chains,
  // the owners' records (and the records not yet renamed into place).
  const undoItems = specs.map(
    (m, i) => `case " $ok " in *" ${i} "*) ${restore(i)}; ${[...scriptRules(m)].reverse().map(removeRuleLine).join("; ")} ;; esac`,
  );
  const hasOwners = specs.some((m) => m.owner);
  const lines: Line[] = [
    "set -u",
    ...hostLockLines(),
    ...snapshotLines(),
    ...dynamicRangeLines(["tcp", "udp"]),
    `ss_tcp=$(${ssListen("tcp")}); ss_udp=$(${ssListen("udp")})`,
    "ok=''; add_filter=''; add_nat=''; pending=''; moved_tcp=''; moved_udp=''",
    ...specs.flatMap((m, i) => phase1(m, i)),
    'if [ -n "$ok" ]; then',
    "  set -e",
    `  batch_undo() { set +e; ${[...undoItems, ...[...CHAIN_KEYS].reverse().flatMap(pruneChainLines), ...forgetOwnersUndo(specs), ...(hasOwners ? [`rm -rf ${OWNERS_DIR}/.new.$$`] : [])].join("; ")}; }`,
    "  trap '' PIPE; trap 'batch_undo 2>/dev/null' EXIT; trap 'exit 129' HUP INT TERM",
    ...recordOwnersLines(specs).map((l) => `  ${l}`),
    // The chains and jumps as for one mapping, then the rules the accepted mappings gathered.
    ...restoreAddLines(all, ["filter", "nat"], (table) => [`printf '%s' "$add_${table}"`]).map((l) => `  ${l}`),
    "  trap - EXIT HUP INT TERM PIPE",
    "  set +e",
    // The cursors, once the rules are in: the last dynamic port of each protocol handed out.
    ...(["tcp", "udp"] as const).map((p) => `  [ -z "$moved_${p}" ] || ${writeCursorLine(p, `"$last_${p}"`)}`),
    `  ${RESNAPSHOT}`,
    "fi",
    ...specs.flatMap((m, i) => phase3(m, i)),
  ];
  return withVariables(script(lines));
}

/**
 * Many mappings deleted in one script: every rule carrying one of their tags out in one
 * restore (chains left empty pruned), the records of their owners left without a rule in one
 * rm, then each mapping's conntrack entries, each answered in its chunk as
 * portPublishDeleteScript would (`deleted`, or `conntrack-error` / `no-conntrack` first).
 * Idempotent, as the single script. Mappings of several owners mix freely.
 */
export function portPublishBatchDeleteScript(ms: PlacedMapping[]): string {
  const tags = ms.map((m) => publishTag(m.name, m.owner));
  return script([
    "set -eu",
    ...hostLockLines(),
    ...snapshotLines(),
    ...deleteTaggedLines(tags, [...CHAIN_KEYS].reverse()),
    ...forgetOwnersWithoutRulesLines(
      ms.flatMap((m) => (m.owner ? [m.owner] : [])),
      tags,
    ),
    ...forgetCursorsLines(tags),
    ...ms.flatMap((m, i) => [itemStart(i), ...conntrackFlushLines(m), mark("deleted"), itemExit(i, "0")]),
  ]);
}

/** One mapping's answer in a batch's output: its stdout as the single script would print it, and its exit status. */
export function splitBatchOutput(stdout: string, count: number): Array<{ stdout: string; code: number | undefined }> {
  const items = Array.from({ length: count }, () => ({ lines: [] as string[], code: undefined as number | undefined }));
  let current: number | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(ITEM_EXIT_MARK)) {
      const [i, code] = line.slice(ITEM_EXIT_MARK.length).trim().split(" ").map(Number);
      if (items[i]) items[i].code = code;
      current = undefined;
    } else if (line.startsWith(ITEM_MARK)) {
      const i = Number(line.slice(ITEM_MARK.length).trim());
      current = items[i] ? i : undefined;
    } else if (current !== undefined) items[current].lines.push(line);
  }
  return items.map((it) => ({ stdout: it.lines.join("\n") + "\n", code: it.code }));
}
