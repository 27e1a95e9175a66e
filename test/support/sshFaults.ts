import * as fs from "node:fs";
import * as path from "node:path";
import { live, processes } from "./procTable";

/**
 * Fault injection on an SSH session, from the server side: stand-in commands first on the
 * session's PATH (sshd's `SetEnv PATH=DIR/faultbin:…`, see startSshd's pathPrepend). Each runs
 * the real command, counts it as one step of the script, and after step K of an armed plan
 * injects the fault. The provider, its scripts and the transport stay exactly as shipped.
 *
 *   plan "3 drop"  after the 3rd step, SIGKILL the sshd processes serving this connection (the
 *                  per-connection `sshd -i` and its session child): the client sees the
 *                  connection drop, and the script's shell — no pty, so no SIGHUP — runs on
 *                  with its stdout and stderr going nowhere (writes raise SIGPIPE).
 *   plan "3 hup"   the same, then SIGHUP to the script's process group, as a terminal hangup
 *                  (a pty, sudo's use_pty, logind) delivers it: the shell's HUP trap runs.
 *   plan "3 hang"  after the 3rd step, the 4th hangs (sleeps until killed) before doing anything:
 *                  a command that never returns, such as one stuck on a lock.
 *
 * In shell terms, the cut is
 *   p=$PPID; while …; do case $(cat /proc/$p/comm) in sshd*) kill -KILL $p;; esac; p=<ppid of $p>; done
 * Only sshd processes the test itself started are killed: the chain must end at the test's
 * own process, which spawned the connection's `sshd -i` as the SSH client's proxy command.
 */
/**
 * The commands counted as steps. Not setsid: Process create checks that `$!` leads its own
 * session, which a stand-in in between would break.
 */
export const STEP_COMMANDS = ["ip", "iptables", "iptables-save", "iptables-restore", "sysctl", "mkdir", "rm", "flock", "stat", "conntrack", "sleep"] as const;

export type FaultMode = "drop" | "hup" | "hang";

export interface Fired {
  /** The script's session id (= its process group and the pid of its shell: sshd setsid()s it). */
  sid: number;
  /** The pid of the wrapper that injected the fault (for "hang": the sleeping process's parent). */
  pid: number;
  step: number;
  mode: FaultMode;
}

export interface SshFaults {
  /** Put first on the session's PATH. */
  binDir: string;
  /** Count steps from zero, and inject `mode` after step `k` (0: count only). */
  arm(k: number, mode: FaultMode): void;
  /** Stop injecting (the stand-ins still count). */
  disarm(): void;
  /** Steps counted since the last arm. */
  steps(): number;
  /** What the last armed plan did, if it fired. */
  fired(): Fired | undefined;
  /** Why the last cut was not made (the process chain), if it was refused. */
  refused(): string | undefined;
}

function wrapper(name: string, faultDir: string, ownerPid: number): string {
  return `#!/bin/sh
# Stand-in for ${name} (tests only, see test/support/sshFaults.ts): run the real one, count a step,
# and after step K of the plan in ${faultDir}/plan inject the fault.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
F=${faultDir}
[ -s "$F/plan" ] || exec ${name} "$@"
read -r k mode < "$F/plan"
n=$(flock "$F/lock" sh -c 'n=$(( $(cat "$1/count" 2>/dev/null || echo 0) + 1 )); echo $n > "$1/count"; echo $n' - "$F")
fired() {
  read -r l < /proc/$$/stat; set -- \${l##*") "}; sid=$4; pgid=$3
  echo "$sid $$ $k $mode" > "$F/fired.tmp" && mv "$F/fired.tmp" "$F/fired"
}
# hang: steps 1..K ran, step K+1 blocks before doing anything (as a command stuck on a lock).
if [ "$mode" = hang ] && [ "$n" = $((k + 1)) ]; then fired; exec sleep 3600; fi
${name} "$@"
rc=$?
[ "$mode" != hang ] && [ "$n" = "$k" ] || exit $rc
fired
trap '' HUP
# The sshd processes above us: the session child ("sshd: root@notty") and the connection's sshd -i.
kills=; chain=; p=$PPID
while [ "$p" -gt 1 ]; do
  read -r l < /proc/$p/stat || break
  set -- \${l##*") "}; pp=$2
  c=$(cat /proc/$p/comm); chain="$chain $p:$c"
  # Above the sshds, the proxy command's sh -c (and nsenter, if it forked) lead to the test.
  case "$c" in sshd*) kills="$kills $p" ;; sh | dash | nsenter) ;; *) [ -n "$kills" ] && break ;; esac
  p=$pp
done
# Ours only: the topmost is the connection's sshd -i, a child of the test process (pid ${ownerPid}).
if [ -n "$kills" ] && [ "$p" = ${ownerPid} ]; then kill -KILL $kills; else echo "not ours:$chain" > "$F/refused"; fi
# (procps kill: dash's builtin takes no "--" before a negative pid)
if [ "$mode" = hup ]; then /bin/kill -s HUP -- -"$pgid"; fi
exit $rc
`;
}

/**
 * Write the stand-ins into DIR/faultbin. The cut kills sshd processes only under `ownerPid`:
 * the process that spawned the connection's `sshd -i` as its proxy command (the test).
 */
export function makeSshFaults(dir: string, ownerPid = process.pid): SshFaults {
  const binDir = path.join(dir, "faultbin");
  const faultDir = path.join(dir, "fault");
  fs.mkdirSync(binDir, { recursive: true, mode: 0o755 });
  fs.mkdirSync(faultDir, { recursive: true, mode: 0o755 });
  for (const name of STEP_COMMANDS) fs.writeFileSync(path.join(binDir, name), wrapper(name, faultDir, ownerPid), { mode: 0o755 });
  const file = (f: string) => path.join(faultDir, f);
  const rm = (f: string) => fs.rmSync(file(f), { force: true });
  return {
    binDir,
    arm(k, mode) {
      rm("fired");
      rm("refused");
      fs.writeFileSync(file("count"), "0\n");
      fs.writeFileSync(file("plan"), `${k} ${mode}\n`);
    },
    disarm() {
      fs.writeFileSync(file("plan"), "");
    },
    refused: () => (fs.existsSync(file("refused")) ? fs.readFileSync(file("refused"), "utf8").trim() : undefined),
    steps: () => Number(fs.readFileSync(file("count"), "utf8").trim() || 0),
    fired() {
      if (!fs.existsSync(file("fired"))) return undefined;
      const [sid, pid, step, mode] = fs.readFileSync(file("fired"), "utf8").trim().split(" ");
      return { sid: Number(sid), pid: Number(pid), step: Number(step), mode: mode as FaultMode };
    },
  };
}

/** Pids of the live (not zombie) processes in session `sid`. Sandbox hosts share the machine's PID namespace. */
export function sessionPids(sid: number): number[] {
  return processes()
    .filter((p) => p.session === sid && live(p))
    .map((p) => p.pid);
}

/** Wait until the script's session has no process left: the shell that ran on after the cut has finished. */
export async function waitSessionGone(sid: number, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (sessionPids(sid).length) {
    if (Date.now() > deadline) throw new Error(`session ${sid} still has processes ${sessionPids(sid).join(" ")} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
