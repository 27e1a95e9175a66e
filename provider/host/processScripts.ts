import { shJoin, shQuote as q } from "./quote";
import { sectionMarker as mark } from "./sections";
import { Line, armUndo, disarm, holdSignals, script } from "./script";

/**
 * Scripts for a long-lived process in a network namespace (the seed's HTTP server in
 * netns0). Equivalent to:
 *
 *   setsid nsenter --net=/run/netns/netns0 -- env -i PATH=… CMD… </dev/null >/run/bridgelab/proc/NAME.log 2>&1 &
 *   echo "$! <start time>" >/run/bridgelab/proc/NAME.pid
 *
 * The process leads a session (and process group) of its own, so the transport's session
 * ending does not touch it and delete can stop it with everything it forked. Its tag is the
 * pid file: "PID STARTTIME", the start time being field 22 of /proc/PID/stat (clock ticks
 * since boot), so a pid the kernel gave to another process later is never taken for ours.
 * Everything lives under the host's own /run, which a reboot empties along with the process.
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
}

export const pidPath = (name: string) => `${PROC_DIR}/${name}.pid`;
export const logPath = (name: string) => `${PROC_DIR}/${name}.log`;

/**
 * Shell functions the scripts share, written with builtins only (no fork per call, so the
 * waits below last what they say):
 *   alive PID     true while PID exists and is not a zombie; leaves its stat fields after
 *                 "(comm) " in $s (state first: field 3 of /proc/PID/stat)
 *   started PID   prints the start time (field 22) of PID if it is alive, else nothing
 *   recorded      reads the pid file into $pid and $start (pid empty when missing or malformed)
 */
function prelude(name: string): string[] {
  return [
    `alive() { l=; read -r l 2>/dev/null < "/proc/$1/stat" || return 1; s=\${l##*") "}; case "\${s%% *}" in Z | X) return 1 ;; esac; }`,
    `started() { alive "$1" || return 0; set -- $s; shift 19; echo "$1"; }`,
    `recorded() {`,
    `  pid=; start=`,
    `  if [ -f ${pidPath(name)} ]; then read -r pid start < ${pidPath(name)} || true; fi`,
    `  case "$pid" in '' | *[!0-9]*) pid= ;; esac`,
    `  case "$start" in '' | *[!0-9]*) pid= ;; esac`,
    `}`,
  ];
}

/** stop_recorded: TERM the recorded process group if it is still ours, wait, then KILL. */
function stopFunction(): string[] {
  const tries = Math.ceil(STOP_WAIT_MS / 100);
  return [
    `stop_recorded() {`,
    `  recorded`,
    `  [ -n "$pid" ] && [ "$(started "$pid")" = "$start" ] || return 0`,
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
 * Start the process. A process recorded under NAME by an earlier start (an interrupted
 * create, or a state that was lost) is stopped first: the pid file is ours. The new process
 * must still be alive after START_WATCH_MS, else the script fails with the end of its log
 * and removes what it made.
 */
export function processCreateScript(p: ProcessSpec): string {
  const polls = Math.ceil(START_WATCH_MS / 50);
  const lines: Line[] = [
    "set -eu",
    ...prelude(p.name),
    ...stopFunction(),
  ];
  // Before any change: a missing namespace leaves the host as it was (not even the state directory).
  if (p.netns) lines.push(`if [ ! -e /run/netns/${p.netns} ]; then echo 'network namespace ${p.netns} does not exist (create the NetNamespace first)' >&2; exit 1; fi`);
  lines.push(["mkdir", "-p", PROC_DIR]);
  lines.push(
    "stop_recorded",
    ["rm", "-f", pidPath(p.name)],
    holdSignals(),
    startLine(p),
    "pid=$!",
    // set -e holds inside the trap too: every step but the last must not fail.
    armUndo(`kill -s KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; rm -f ${pidPath(p.name)} ${logPath(p.name)}`, { afterHold: true }),
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
    `echo "$pid $start" > ${pidPath(p.name)}`,
    disarm(),
    ...readBack(),
  );
  return script(lines);
}

/** "proc" with "PID STARTTIME" when the recorded process is alive, ours and in its namespace; else "gone". */
export function processReadScript(p: Pick<ProcessSpec, "name" | "netns">): string {
  const netnsOf = p.netns ? `"net:[$(stat -L -c %i /run/netns/${p.netns} 2>/dev/null)]"` : `"$(readlink /proc/$$/ns/net)"`;
  return script([
    "set -u",
    ...prelude(p.name),
    "recorded",
    `if [ -z "$pid" ] || [ "$(started "$pid")" != "$start" ] || [ "$(readlink /proc/$pid/ns/net 2>/dev/null)" != ${netnsOf} ]; then ${mark("gone")}; exit 0; fi`,
    ...readBack(),
  ]);
}

/**
 * Stop the recorded process group (TERM, up to STOP_WAIT_MS, then KILL) and remove the pid
 * file and log. Idempotent: nothing recorded, or a pid that is no longer ours, is success.
 */
export function processDeleteScript(name: string): string {
  return script(["set -u", ...prelude(name), ...stopFunction(), "stop_recorded", ["rm", "-f", pidPath(name), logPath(name)]]);
}
