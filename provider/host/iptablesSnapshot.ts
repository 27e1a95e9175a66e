import { CHAINS, ChainKey, ChainSpec, JUMP_TAG, Rule, Table, ruleArgs } from "./iptables";
import { OWNERS_DIR, Owner } from "./owner";
import { shJoin, shQuote } from "./quote";

/**
 * Read iptables once, write it once. A resource that owns several rules used to spend one
 * iptables process per check and per edit (`iptables -C`, `-A`, `-S`: some thirty for a port
 * mapping), each of which, with the nft backend, loads the whole ruleset from the kernel.
 * Under the host-wide lock that serialized every mapping of a lab behind ~0.5 s of process
 * starts. These lines do the same work with one `iptables-save` to look and one
 * `iptables-restore --noflush` to change, as the hand-written floor does:
 *
 *   save=$(iptables-save)
 *   has_rule '-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j DNAT --to-destination 172.18.0.10:5000'
 *   printf '%s\n' '*nat' ':BRIDGELAB-DNAT - [0:0]' '-A BRIDGELAB-DNAT ...' COMMIT | iptables-restore -w --noflush
 *
 * A rule is looked up by the exact line iptables-save prints for it (saveLine: the order
 * ruleArgs writes is the order iptables prints, checked against the kernel in the
 * integration tests). Where another iptables version prints a rule differently, the text
 * lookup misses and `iptables -C` answers instead: slower, never wrong.
 */

/**
 * Words standing for values a script learns on the host (a dynamic host port, the bridge's
 * subnet), replaced by their shell variables when a line is quoted with quoteWithVariables.
 */
export const SCRIPT_VARIABLES: Record<string, string> = { "@HOST_PORT@": "host_port", "@SUBNET@": "subnet" };

/**
 * One shell word for TEXT in which the words of SCRIPT_VARIABLES are expanded:
 * `--dport @HOST_PORT@ -j` → `'--dport '"$host_port"' -j'`.
 */
export function quoteWithVariables(text: string): string {
  const words = Object.keys(SCRIPT_VARIABLES);
  const parts = text.split(new RegExp(`(${words.join("|")})`));
  const quoted = parts.filter((p) => p !== "").map((p) => (p in SCRIPT_VARIABLES ? `"$${SCRIPT_VARIABLES[p]}"` : shQuote(p)));
  return quoted.length ? quoted.join("") : "''";
}

/** Table, chain and the line `iptables-save` prints for a rule of ours (also what iptables-restore reads back). */
export function saveLine(rule: Rule, tag: string): { table: Table; line: string } {
  // ruleArgs: iptables -w -t TABLE -A CHAIN ... -m comment --comment TAG -j ...; iptables prints the comment quoted.
  const argv = ruleArgs("-A", rule, tag).slice(4);
  const i = argv.lastIndexOf("--comment");
  argv[i + 1] = `"${argv[i + 1]}"`;
  return { table: CHAINS[rule.chain].table, line: argv.join(" ") };
}

/** The jump from a built-in chain into one of ours, as iptables-save prints it, and as restore adds it. */
function jumpLines(c: ChainSpec, e: ChainSpec["entries"][number]): { saved: string; add: string } {
  const rest = [...e.match, "-m", "comment", "--comment", `"${JUMP_TAG}"`, "-j", c.name].join(" ");
  return { saved: `-A ${e.from} ${rest}`, add: e.insert ? `-I ${e.from} 1 ${rest}` : `-A ${e.from} ${rest}` };
}

/**
 * Take the snapshot, and define the lookups on it (pure shell, no process per lookup):
 * has_rule LINE (an exact line of the snapshot), has_chain NAME (declared in it).
 * Run again to refresh `save` after a change.
 */
export function snapshotLines(): string[] {
  return [
    "nl='\n'",
    "save=$(iptables-save)",
    'has_rule() { case "$nl$save$nl" in *"$nl$1$nl"*) return 0 ;; esac; return 1; }',
    'has_chain() { case "$nl$save" in *"$nl:$1 "*) return 0 ;; esac; return 1; }',
  ];
}

/** Refresh the snapshot (after our own change). */
export const RESNAPSHOT = "save=$(iptables-save)";

/**
 * The lines of the snapshot carrying exactly TAG in the chains KEYS, chain by chain in that
 * order (as `iptables -S CHAIN | grep TAG` for each would print them).
 */
export function taggedInSnapshot(tag: string, keys: ChainKey[]): string {
  const chains = keys.map((k) => CHAINS[k].name).join(" ");
  return `printf '%s\\n' "$save" | ${shJoin(["awk", "-v", `mine=--comment "${tag}"`, "-v", `chains=${chains}`, AWK_TAGGED_BY_CHAIN])}`;
}

/** Rules of CHAINS (in their order) carrying MINE. */
export const AWK_TAGGED_BY_CHAIN =
  '/^-A / && index($0, mine) { got[$2] = got[$2] $0 "\\n" } END { n = split(chains, cs, " "); for (i = 1; i <= n; i++) printf "%s", got[cs[i]] }';

/**
 * The rules of one of our chains in the snapshot (`iptables -t T -S CHAIN` without the -N
 * line). For the left of a pipe: grep's status when nothing matches is not the pipe's.
 */
export function chainInSnapshot(key: ChainKey): string {
  return `printf '%s\\n' "$save" | grep -- ${shQuote(`^-A ${CHAINS[key].name} `)}`;
}

/** Prints 1 when the rule is in place (snapshot text, else `iptables -C`), else 0. The rule may hold SCRIPT_VARIABLES words. */
export function presentInSnapshotLine(rule: Rule, tag: string): string {
  const check = ruleArgs("-C", rule, tag).map((w) => (w in SCRIPT_VARIABLES ? quoteWithVariables(w) : shQuote(w))).join(" ");
  return `if has_rule ${quoteWithVariables(saveLine(rule, tag).line)} || ${check} >/dev/null 2>&1; then echo 1; else echo 0; fi`;
}

/**
 * A brace group printing the iptables-restore input that adds RULES (appended, in order)
 * with the chains and jumps they need, where the snapshot lacks them. Tables in the order
 * given (the one holding the rule that makes a change live last: restore commits table by
 * table). Pipe it into `iptables-restore -w --noflush`; chains that exist are not declared,
 * so nothing of theirs is flushed.
 */
export function restoreAddLines(
  rules: Array<{ rule: Rule; tag: string }>,
  tableOrder: Table[],
  /** The lines that print a table's rules; default: one printf per rule. A batch prints what it gathered. */
  body: (table: Table, mine: Array<{ rule: Rule; tag: string }>) => string[] = (_t, mine) =>
    mine.map((r) => `printf '%s\\n' ${quoteWithVariables(saveLine(r.rule, r.tag).line)}`),
  /** Lines printing more input after the last table (an update's deletions, in a table committed again). */
  trailer: string[] = [],
): string[] {
  const out: string[] = ["{"];
  for (const table of tableOrder) {
    const mine = rules.filter((r) => CHAINS[r.rule.chain].table === table);
    if (!mine.length) continue;
    out.push(`  echo ${shQuote(`*${table}`)}`);
    const keys = [...new Set(mine.map((r) => r.rule.chain))];
    for (const k of keys) {
      const c = CHAINS[k] as ChainSpec;
      out.push(`  has_chain ${c.name} || echo ${shQuote(`:${c.name} - [0:0]`)}`);
      for (const e of c.entries) {
        const j = jumpLines(c, e);
        const check = shJoin(["iptables", "-w", "-t", c.table, "-C", e.from, ...e.match, "-m", "comment", "--comment", JUMP_TAG, "-j", c.name]);
        out.push(`  has_rule ${shQuote(j.saved)} || ${check} 2>/dev/null || echo ${shQuote(j.add)}`);
      }
    }
    for (const l of body(table, mine)) out.push(`  ${l}`);
    out.push("  echo COMMIT");
  }
  for (const l of trailer) out.push(`  ${l}`);
  out.push("} | iptables-restore -w --noflush");
  return out;
}

/**
 * awk over the snapshot printing the iptables-restore input that deletes every rule carrying
 * exactly one of TAGS (space-separated) in CHAINS, then each of CHAINS left empty with the
 * jumps into it (the last one out cleans up). Rules are deleted by the very text
 * iptables-save printed, so copies and hand-edited rules carrying a tag go too. Prints
 * nothing when there is nothing to do.
 *
 *   *nat
 *   -D BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d" -j DNAT --to-destination 172.18.0.10:5000
 *   -D PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "bridgelab:v1" -j BRIDGELAB-DNAT
 *   -X BRIDGELAB-DNAT
 *   COMMIT
 */
export const AWK_DELETE_TAGGED = [
  'BEGIN { n = split(chains, cs, " "); for (i = 1; i <= n; i++) ours[cs[i]] = 1; m = split(tags, ts, " "); jmp = "--comment \\"" jump "\\"" }',
  'function mine(line,   k) { for (k = 1; k <= m; k++) if (index(line, "--comment \\"" ts[k] "\\"")) return 1; return 0 }',
  '/^\\*/ { t = substr($0, 2); tables[++nt] = t; next }',
  '/^:/ { table[substr($1, 2)] = t; next }',
  '/^-A / { c = $2',
  '  if ((c in ours) && mine($0)) { out[t] = out[t] "-D" substr($0, 3) "\\n"; next }',
  '  left[c]++',
  '  if (index($0, jmp) && $(NF - 1) == "-j" && ($NF in ours)) jumps[$NF] = jumps[$NF] "-D" substr($0, 3) "\\n" }',
  'END { for (k = 1; k <= nt; k++) { t = tables[k]; s = out[t]',
  '    for (i = 1; i <= n; i++) { c = cs[i]; if (table[c] == t && !(c in left)) s = s jumps[c] "-X " c "\\n" }',
  '    if (s != "") printf "*%s\\n%sCOMMIT\\n", t, s } }',
].join("\n");

/**
 * Delete every rule carrying TAG (or any of TAGS) in the chains KEYS, and prune those chains
 * when empty: one restore, computed from the snapshot. Idempotent (nothing to do: no restore).
 */
export function deleteTaggedLines(tag: string | string[], keys: ChainKey[]): string[] {
  const chains = keys.map((k) => CHAINS[k].name).join(" ");
  const tags = (Array.isArray(tag) ? tag : [tag]).join(" ");
  return [
    `restore=$(printf '%s\\n' "$save" | ${shJoin(["awk", "-v", `tags=${tags}`, "-v", `jump=${JUMP_TAG}`, "-v", `chains=${chains}`, AWK_DELETE_TAGGED])})`,
    `if [ -n "$restore" ]; then printf '%s\\n' "$restore" | iptables-restore -w --noflush; fi`,
  ];
}

/**
 * awk over the snapshot printing the `-D` lines of every rule in CHAINS carrying exactly one
 * of TAGS whose text is not one of the lines in the environment variable `keep` (the rules
 * an update writes): the rules an update takes out, by the text iptables-save printed (copies,
 * hand-edited rules and a previous owner's tag go too). Table FIRST's lines come first, then
 * a line `@@`, then the other tables' lines.
 */
export const AWK_STALE_TAGGED = [
  'BEGIN { n = split(chains, cs, " "); for (i = 1; i <= n; i++) ours[cs[i]] = 1; m = split(tags, ts, " "); k = split(ENVIRON["keep"], ks, "\\n"); for (i = 1; i <= k; i++) keep[ks[i]] = 1 }',
  'function mine(line,   j) { for (j = 1; j <= m; j++) if (index(line, "--comment \\"" ts[j] "\\"")) return 1; return 0 }',
  '/^\\*/ { t = substr($0, 2); next }',
  '/^-A / && ($2 in ours) && mine($0) && !($0 in keep) { out[t] = out[t] "-D" substr($0, 3) "\\n" }',
  'END { printf "%s@@\\n", out[first]; for (x in out) if (x != first) printf "%s", out[x] }',
].join("\n");

/**
 * Sets $stale_TABLE for each table (nat first, as FIRST): the iptables-restore lines that take
 * out the rules carrying TAGS in KEYS that are not among RULES (their text may hold the words
 * of SCRIPT_VARIABLES). Needs snapshotLines().
 */
export function staleTaggedLines(rules: Array<{ rule: Rule; tag: string }>, tags: string[], keys: ChainKey[]): string[] {
  const keep = rules.map((r) => quoteWithVariables(saveLine(r.rule, r.tag).line)).join('"$nl"') || "''";
  const chains = keys.map((k) => CHAINS[k].name).join(" ");
  return [
    `keep=${keep}`,
    `stale=$(printf '%s\\n' "$save" | keep="$keep" ${shJoin(["awk", "-v", `tags=${tags.join(" ")}`, "-v", `chains=${chains}`, "-v", "first=nat", AWK_STALE_TAGGED])})`,
    'stale_nat=${stale%%@@*}; stale_filter=${stale#*@@}',
  ];
}

/**
 * awk over the snapshot printing which of the owner ids IDS still own a rule once the rules
 * carrying one of TAGS are gone: a rule whose comment ends in `:ID"` and carries none of TAGS.
 */
export const AWK_OWNERS_LEFT = [
  'BEGIN { n = split(ids, is, " "); m = split(tags, ts, " ") }',
  'function mine(line,   j) { for (j = 1; j <= m; j++) if (index(line, "--comment \\"" ts[j] "\\"")) return 1; return 0 }',
  '/^-A / && !mine($0) { for (i = 1; i <= n; i++) if (index($0, ":" is[i] "\\"")) left[is[i]] = 1 }',
  'END { for (i = 1; i <= n; i++) if (is[i] in left) print is[i] }',
].join("\n");

/**
 * After the rules carrying TAGS are deleted (by deleteTaggedLines, from the same snapshot):
 * forget the records (/run/bridgelab/owners/ID) of OWNERS that own no rule any more, in one rm.
 * A replacement created before the old one is deleted (same URN, another NAME) keeps its
 * owner's record. Nothing without owners (state of bridgelab 0.1).
 *
 *   left=$(printf '%s\n' "$save" | awk …); gone=''
 *   case "$nl$left$nl" in *"${nl}1a2b3c4d$nl"*) ;; *) gone="$gone /run/bridgelab/owners/1a2b3c4d" ;; esac
 *   [ -z "$gone" ] || rm -f $gone
 */
export function forgetOwnersWithoutRulesLines(owners: Owner[], tags: string[]): string[] {
  const ids = [...new Set(owners.map((o) => o.id))];
  if (!ids.length) return [];
  return [
    `left=$(printf '%s\\n' "$save" | ${shJoin(["awk", "-v", `ids=${ids.join(" ")}`, "-v", `tags=${tags.join(" ")}`, AWK_OWNERS_LEFT])}); gone=''`,
    ...ids.map((id) => `case "$nl$left$nl" in *"\${nl}${id}$nl"*) ;; *) gone="$gone ${OWNERS_DIR}/${id}" ;; esac`),
    '[ -z "$gone" ] || rm -f $gone',
  ];
}
