import { Owner, forgetOwnerLines, ownerTag, printOwnerOfTagLine, recordOwnerLines } from "./owner";
import { shJoin, shQuote as q } from "./quote";
import { sectionMarker as mark } from "./sections";
import { EXIT_EXISTS, Line, armUndo, disarm, holdSignals, script } from "./script";

/**
 * Scripts for a long-lived process in a network namespace (the seed's HTTP server in
 * netns0). Equivalent to:
 *
 *   setsid nsenter --net=/run/netns/netns0 -- env -i PATH=… CMD… </dev/null >/run/bridgelab/proc/NAME.log 2>&1 &
 *   echo "$! <start time> bridgelab:v2:process:1a2b3c4d" >/run/bridgelab/proc/NAME.pid
 *
 * The process leads a session (and process group) of its own, so the transport's session
 * ending does not touch it and delete can stop it with everything it forked. Its tag is the
 * pid file: "PID STARTTIME TAG", the start time being field 22 of /proc/PID/stat (clock ticks
 * since boot), so a pid the kernel gave to another process later is never taken for ours, and
 * TAG naming its owner (owner.ts; the owner's URN is kept in /run/bridgelab/owners/ID), so a
 * process another stack started under the same NAME is never taken, read or stopped as this
 * one's. bridgelab 0.1 wrote "PID STARTTIME" (its tag is `bridgelab:v1:process`), and still
 * does for state without an owner. Everything lives under the host's own /run, which a
 * reboot empties along with the process.
 *
 * NAME, netns and env keys must have passed the checks in process.ts; command, env values and
 * workdir are quoted with shQuote.
 */
export const PROC_DIR = "/run/bridgelab/proc";

/** The environment a process starts with, besides its declared env: nothing of the caller's. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** How long create watches the new process before calling it started, and how long delete waits after TERM. */
export const START_WATCH_MS = 300;
export const STOP_WAIT_MS = 5000;

export interface ProcessSpec {
  name: string;
  netns?: string;
  command: string[];
  env?: Record<string, string>;
  workdir?: string;
  /** Who started it; absent for state of bridgelab 0.1. */
  owner?: Owner;
}

const KIND = "process";

/** The third field of a pid file (none for state of bridgelab 0.1, whose files have two). */
function pidFileTag(owner: Owner | undefined): string {
  return owner ? ` ${ownerTag(KIND, owner)}` : "";
}

export const pidPath = (name: string) => `${PROC_DIR}/${name}.pid`;
export const logPath = (name: string) => `${PROC_DIR}/${name}.log`;

/**
 * Shell functions the scripts share, written with builtins only (no fork per call, so the
 * waits below last what they say):
 *   alive PID     true while PID exists and is not a zombie; leaves its stat fields after
 *                 "(comm) " in $s (state first: field 3 of /proc/PID/stat)
 *   started PID   prints the start time (field 22) of PID if it is alive, else nothing
 *   recorded      reads the pid file into $pid, $start and $tag (pid empty when missing or
 *                 malformed; tag empty in a file of bridgelab 0.1)
 *   mine          true when the recorded tag is OWNER's (for no owner: 0.1's file, without one)
 */
function prelude(name: string, owner: Owner | undefined): string[] {
  return [
    `alive() { l=; read -r l 2>/dev/null < "/proc/$1/stat" || return 1; s=\${l##*") "}; case "\${s%% *}" in Z | X) return 1 ;; esac; }`,
    `started() { alive "$1" || return 0; set -- $s; shift 19; echo "$1"; }`,
    `recorded() {`,
    `  pid=; start=; tag=`,
    `  if [ -f ${pidPath(name)} ]; then read -r pid start tag < ${pidPath(name)} || true; fi`,
    `  case "$pid" in '' | *[!0-9]*) pid= ;; esac`,
    `  case "$start" in '' | *[!0-9]*) pid= ;; esac`,
    `  case "$tag" in *[!a-z0-9:]*) pid= ;; esac`,
    `}`,
    `mine() { [ "\${tag:-${ownerTag(KIND, undefined)}}" = ${ownerTag(KIND, owner)} ]; }`,
  ];
}

/** stop_recorded: TERM the recorded process group if it is still this owner's, wait, then KILL. */
function stopFunction(): string[] {
  const tries = Math.ceil(STOP_WAIT_MS / 100);
  return [
    `stop_recorded() {`,
    `  recorded`,
    `  [ -n "$pid" ] && mine && [ "$(started "$pid")" = "$start" ] || return 0`,
    `  kill -s TERM -- -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true`,
    `  i=0; while [ $i -lt ${tries} ] && alive "$pid"; do sleep 0.1; i=$((i + 1)); done`,
    `  kill -s KILL -- -"$pid" 2>/dev/null || true`,
    `  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi`,
    `  ${mark("stopped")}`,
    `}`,
  ];
}

/** The command line that starts the process, detached. */
export function startLine(p: ProcessSpec): string {
  const env = { PATH: DEFAULT_PATH, ...(p.env ?? {}) };
  const argv = [
    "setsid",
    ...(p.netns ? ["nsenter", `--net=/run/netns/${p.netns}`, "--"] : []),
    "env",
    "-i",
    ...Object.keys(env)
      .sort()
      .map((k) => `${k}=${env[k as keyof typeof env]}`),
    ...p.command,
  ];
  const run = p.workdir ? `(cd ${q(p.workdir)} && exec ${shJoin(argv)})` : shJoin(argv);
  return `${run} </dev/null >${logPath(p.name)} 2>&1 &`;
}

function readBack(): string[] {
  return [mark("proc"), `echo "$pid $start"`];
}

/**
 * Start the process. A live process recorded under NAME by another owner (another stack, or
 * bridgelab 0.1 when this one has an owner) is refused before anything changes: its pid,
 * start time and tag are printed under "exists", its owner's record under "owner", and the
 * script exits EXIT_EXISTS. One recorded by this same owner (an interrupted create, or a
 * state that was lost) is stopped first; a pid file whose process is gone is stale and
 * replaced. The new process must still be alive after START_WATCH_MS, else the script fails
 * with the end of its log and removes what it made, the owner's record included.
 */
export function processCreateScript(p: ProcessSpec): string {
  const polls = Math.ceil(START_WATCH_MS / 50);
  const lines: Line[] = [
    "set -eu",
    ...prelude(p.name, p.owner),
    ...stopFunction(),
  ];
  // Before any change: a missing namespace leaves the host as it was (not even the state directory).
  if (p.netns) lines.push(`if [ ! -e /run/netns/${p.netns} ]; then echo 'network namespace ${p.netns} does not exist (create the NetNamespace first)' >&2; exit 1; fi`);
  lines.push(
    "recorded",
    `if [ -n "$pid" ] && ! mine && [ "$(started "$pid")" = "$start" ]; then ${mark("exists")}; echo "$pid $start $tag"; ${mark("owner")}; ${printOwnerOfTagLine("tag")}; exit ${EXIT_EXISTS}; fi`,
  );
  lines.push(["mkdir", "-p", PROC_DIR]);
  const undo = [`kill -s KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true`, `rm -f ${pidPath(p.name)} ${logPath(p.name)}`, ...forgetOwnerLines(p.owner)];
  lines.push(
    "stop_recorded",
    ["rm", "-f", pidPath(p.name)],
    holdSignals(),
    startLine(p),
    "pid=$!",
    // set -e holds inside the trap too: every step but the last must not fail.
    armUndo(undo.join("; "), { afterHold: true }),
    `start=$(started "$pid")`,
    `i=0`,
    `while [ $i -lt ${polls} ]; do`,
    `  sleep 0.05; i=$((i + 1))`,
    `  if ! alive "$pid"; then`,
    `    echo "the process exited within ${START_WATCH_MS} ms of its start; the end of ${logPath(p.name)}:" >&2`,
    `    tail -n 20 ${logPath(p.name)} >&2`,
    `    exit 1`,
    `  fi`,
    `done`,
    // setsid ran in this very process (it forks only when called by a group leader), so the pid leads its session.
    `alive "$pid" && set -- $s && [ "$4" = "$pid" ] || { echo "process $pid does not lead its own session" >&2; exit 1; }`,
    ...recordOwnerLines(p.owner),
    `echo "$pid $start${pidFileTag(p.owner)}" > ${pidPath(p.name)}`,
    disarm(),
    ...readBack(),
  );
  return script(lines);
}

/**
 * "proc" with "PID STARTTIME" when the recorded process is alive, this owner's and in its
 * namespace; else "gone".
 */
export function processReadScript(p: Pick<ProcessSpec, "name" | "netns" | "owner">): string {
  const netnsOf = p.netns ? `"net:[$(stat -L -c %i /run/netns/${p.netns} 2>/dev/null)]"` : `"$(readlink /proc/$$/ns/net)"`;
  return script([
    "set -u",
    ...prelude(p.name, p.owner),
    "recorded",
    `if [ -z "$pid" ] || ! mine || [ "$(started "$pid")" != "$start" ] || [ "$(readlink /proc/$pid/ns/net 2>/dev/null)" != ${netnsOf} ]; then ${mark("gone")}; exit 0; fi`,
    ...readBack(),
  ]);
}

/**
 * A new owner for the recorded process, without restarting it (0.1's process taken over by
 * its stack under 0.2, or a resource moved by an alias): the pid file's tag is rewritten
 * (atomically) when it is `from`'s, the new owner recorded and the old one's record
 * forgotten. A pid file that is already `to`'s (an update retried) is only re-recorded. A
 * missing one prints "gone", another owner's prints "foreign" ("PID STARTTIME TAG", its
 * owner's record under "owner"); both change nothing.
 *
 *   printf '%s %s%s\n' "$pid" "$start" ' bridgelab:v2:process:1a2b3c4d' >NAME.pid.tmp.$$ && mv -f NAME.pid.tmp.$$ NAME.pid
 */
export function processRetagScript(name: string, from: Owner | undefined, to: Owner | undefined): string {
  const file = pidPath(name);
  const changed = ownerTag(KIND, from) !== ownerTag(KIND, to);
  return script([
    "set -eu",
    ...prelude(name, to),
    "recorded",
    `if [ -n "$pid" ] && mine; then`,
    ...recordOwnerLines(to).map((l) => `  ${l}`),
    ...(changed
      ? [
          `elif [ -n "$pid" ] && [ "\${tag:-${ownerTag(KIND, undefined)}}" = ${ownerTag(KIND, from)} ]; then`,
          ...recordOwnerLines(to).map((l) => `  ${l}`),
          `  printf '%s %s%s\\n' "$pid" "$start" ${q(pidFileTag(to))} >${file}.tmp.$$ && mv -f ${file}.tmp.$$ ${file}`,
          ...forgetOwnerLines(from).map((l) => `  ${l}`),
        ]
      : []),
    `elif [ -n "$pid" ]; then`,
    `  ${mark("foreign")}; echo "$pid $start $tag"; ${mark("owner")}; ${printOwnerOfTagLine("tag")}; exit 0`,
    `else`,
    `  ${mark("gone")}; exit 0`,
    `fi`,
    ...readBack(),
  ]);
}

/**
 * Stop the recorded process group (TERM, up to STOP_WAIT_MS, then KILL), remove the pid file
 * and log, and forget the owner's record. Idempotent: nothing recorded, or a pid that is no
 * longer alive, is success. A pid file of another owner is left alone (process, pid file and
 * log) and reported under "foreign" ("PID STARTTIME TAG"), its owner's record under "owner";
 * this owner's record is forgotten all the same (it owns nothing here).
 */
export function processDeleteScript(name: string, owner: Owner | undefined): string {
  return script([
    "set -u",
    ...prelude(name, owner),
    ...stopFunction(),
    "recorded",
    `if [ -z "$pid" ] || mine; then`,
    `  stop_recorded`,
    `  ${shJoin(["rm", "-f", pidPath(name), logPath(name)])}`,
    ...forgetOwnerLines(owner).map((l) => `  ${l}`),
    `else`,
    `  ${mark("foreign")}; echo "$pid $start $tag"; ${mark("owner")}; ${printOwnerOfTagLine("tag")}`,
    ...forgetOwnerLines(owner).map((l) => `  ${l}`),
    `fi`,
  ]);
}
