import { randomBytes } from "node:crypto";
import { constants as osConstants } from "node:os";
import { ClientChannel } from "ssh2";
import { shQuote as q } from "../host/quote";
import { SshLink } from "./sshDial";
import { DEFAULT_TIMEOUT_MS, ExecResult, RunOptions, TimeoutError, TransportError, summarize } from "./types";

/**
 * Running one script over an established SSH connection, on its own channel.
 *
 * The remote command is a small wrapper that first reports its process group, then becomes
 * the shell that runs the script:
 *
 *   exec sh -c 'echo "bridgelab-pgid-<nonce> $$" >&2; exec sh -s'          (script on stdin)
 *   exec sh -c 'echo "bridgelab-pgid-<nonce> $$" >&2; exec sudo -n sh -s'  (sudo: true)
 *
 * sshd starts every session command in a new session (setsid), so `$$` of that first
 * process is the process group and session id of everything the script starts. The marker
 * line is removed from stderr. On timeout, a second channel stops and kills that group and
 * every process descended from it (which also catches what moved to a session of its own,
 * such as a command under `sudo` with use_pty), then the TimeoutError is thrown.
 */

/** The wrapper command sent in the SSH exec request. */
export function remoteCommand(script: string, o: { sudo: boolean; viaStdin: boolean; marker: string }): string {
  const shell = o.viaStdin ? "sh -s" : `sh -c ${q(script)}`;
  const inner = o.sudo ? `sudo -n ${shell}` : shell;
  return `exec sh -c ${q(`echo "${o.marker} $$" >&2; exec ${inner}`)}`;
}

/** The command that carries the kill script (read on stdin) on a second channel. */
export function remoteKillCommand(sudo: boolean): string {
  return sudo ? "sudo -n sh -s" : "sh -s";
}

/**
 * Stop process group PGID and all its descendants. First TERM, and up to TERM_GRACE_S for
 * them to go: a create script's trap (armUndo) then removes what it had made, where a bare
 * KILL would leave a half-built object (an untagged bridge the next create refuses as
 * foreign). Then what is left is computed from `ps`, stopped (so nothing forks while we
 * look), computed again, and killed; a plain group kill runs last and is the fallback where
 * `ps` or `awk` is missing.
 */
export function remoteKillScript(pgid: number): string {
  if (!Number.isInteger(pgid) || pgid < 2) throw new Error(`refusing to kill process group ${pgid}`);
  return [
    `pg=${pgid}`,
    `tree() {`,
    `  ps -e -o pid= -o ppid= -o pgid= 2>/dev/null | awk -v pg="$pg" '`,
    `    { pid[NR] = $1; ppid[NR] = $2; grp[NR] = $3 }`,
    `    END {`,
    `      for (i = 1; i <= NR; i++) if (grp[i] == pg) s[pid[i]] = 1`,
    `      do { c = 0; for (i = 1; i <= NR; i++) if ((ppid[i] in s) && !(pid[i] in s)) { s[pid[i]] = 1; c = 1 } } while (c)`,
    `      for (p in s) print p`,
    `    }'`,
    `}`,
    `pids=$(tree); [ -n "$pids" ] && kill -TERM $pids 2>/dev/null`,
    `i=0; while [ $i -lt ${TERM_GRACE_S * 10} ] && [ -n "$(tree)" ]; do sleep 0.1; i=$((i + 1)); done`,
    `pids=$(tree); [ -n "$pids" ] && kill -STOP $pids 2>/dev/null`,
    `pids=$(tree); [ -n "$pids" ] && kill -KILL $pids 2>/dev/null`,
    `kill -s KILL -- -"$pg" 2>/dev/null`,
    `true`,
  ].join("\n");
}

/** How long a timed-out script gets after TERM to run its undo; within KILL_TIMEOUT_MS. */
const TERM_GRACE_S = 5;
const KILL_TIMEOUT_MS = 10_000;
const MARKER_SEARCH_LIMIT = 64 * 1024;

/** Exit status for a command ended by a signal, as a shell reports it: 128 + signal number. */
export function signalExitCode(signal: string | undefined): number {
  if (!signal) return 255;
  const n = (osConstants.signals as Record<string, number>)[signal.startsWith("SIG") ? signal : `SIG${signal}`];
  return n ? 128 + n : 255;
}

/**
 * Run `script` on `link`. A non-zero exit is data; a timeout kills the remote process group
 * and throws TimeoutError; a connection that drops meanwhile throws TransportError
 * ("connection lost …"). Nothing here retries: a script may not be safe to run twice.
 */
export function execOverSsh(link: SshLink, label: string, sudo: boolean, script: string, opts: RunOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const viaStdin = opts.stdin === undefined;
  const marker = `bridgelab-pgid-${randomBytes(6).toString("hex")}`;
  const markerBuf = Buffer.from(marker + " ");
  const command = remoteCommand(script, { sudo, viaStdin, marker });

  return new Promise<ExecResult>((resolve, reject) => {
    let state: "running" | "killing" | "done" = "running";
    let channel: ClientChannel | undefined;
    let pgid: number | undefined;
    let code: number | undefined;
    let signal: string | undefined;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errHead: Buffer | undefined = Buffer.alloc(0); // stderr before the marker line; undefined once found
    // Declared before use (not just before the call): Pulumi's closure serializer needs it.
    let timer: NodeJS.Timeout | undefined = undefined;
    let unsubscribe: () => void = () => undefined;

    const settle = (fn: () => void) => {
      if (state === "done") return;
      state = "done";
      clearTimeout(timer);
      unsubscribe();
      fn();
    };
    const lost = (why: string) =>
      new TransportError(
        label,
        `connection lost while running \`${summarize(script)}\` (${why}); not retried, since a script is not necessarily safe to run twice`,
      );
    unsubscribe = link.onClose((why) => {
      if (state === "killing") return; // the timeout path settles
      settle(() => reject(lost(why)));
    });

    timer = setTimeout(() => {
      if (state !== "running") return;
      state = "killing";
      const killing = pgid !== undefined ? killRemoteGroup(link, sudo, pgid) : Promise.resolve("the script had not reported its process group yet");
      void killing.then((problem) => {
        channel?.close();
        const e = new TimeoutError(label, script, timeoutMs);
        if (problem) e.message += `; killing it on the host may have failed: ${problem}`;
        settle(() => reject(e));
      });
    }, timeoutMs);

    const onStderr = (b: Buffer) => {
      if (errHead === undefined) return void err.push(b);
      errHead = Buffer.concat([errHead, b]);
      const at = errHead.indexOf(markerBuf);
      const nl = at >= 0 ? errHead.indexOf(0x0a, at) : -1;
      if (nl >= 0) {
        pgid = Number(errHead.subarray(at + markerBuf.length, nl).toString("latin1").trim());
        err.push(errHead.subarray(0, at), errHead.subarray(nl + 1));
        errHead = undefined;
      } else if (errHead.length > MARKER_SEARCH_LIMIT) {
        err.push(errHead);
        errHead = undefined;
      }
    };

    if (link.closed) return settle(() => reject(lost(link.closeReason ?? "closed")));
    openSession(link, command).then(
      (ch) => {
        channel = ch;
        if (state === "done") return void ch.close();
        ch.on("data", (b: Buffer) => out.push(b));
        ch.stderr.on("data", onStderr);
        ch.on("exit", (c: number | null, sig?: string) => {
          if (typeof c === "number") code = c;
          else signal = sig ?? "KILL";
        });
        ch.on("error", () => undefined); // surfaces as close
        ch.on("close", () => {
          if (state !== "running") return;
          if (code === undefined && signal === undefined) {
            // No exit status: the connection went away under the channel.
            return settle(() => reject(lost(link.closeReason ?? "the channel closed without an exit status")));
          }
          if (errHead !== undefined) err.push(errHead);
          settle(() =>
            resolve({
              command: script,
              code: code ?? signalExitCode(signal),
              stdout: Buffer.concat(out).toString("utf8"),
              stderr: Buffer.concat(err).toString("utf8"),
            }),
          );
        });
        ch.end(viaStdin ? script : opts.stdin);
      },
      (e: Error) =>
        settle(() => reject(link.closed ? lost(link.closeReason ?? e.message) : new TransportError(label, `cannot open a session channel: ${e.message}`, e))),
    );
  });
}

const OPEN_RETRIES = 12;

/**
 * Open a session channel and send the exec request. A refused channel open is retried with
 * a short backoff: nothing ran, and OpenSSH frees a closed session only after its main loop
 * has gone round, so an open that follows a close in the same packet batch can meet "no more
 * sessions" (MaxSessions) even though the pool keeps below it.
 */
function openSession(link: SshLink, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const attempt = (n: number) => {
      if (link.closed) return reject(new Error(link.closeReason ?? "connection closed"));
      try {
        link.client.exec(command, (e: (Error & { reason?: unknown }) | undefined, ch: ClientChannel) => {
          if (!e) return resolve(ch);
          if (e.reason !== undefined && n < OPEN_RETRIES && !link.closed) {
            return void setTimeout(() => attempt(n + 1), Math.min(250, 10 * 2 ** n));
          }
          reject(e);
        });
      } catch (e) {
        reject(e as Error);
      }
    };
    attempt(0);
  });
}

/** Kill the group on a second channel. Resolves to a problem description, or undefined when it worked. */
function killRemoteGroup(link: SshLink, sudo: boolean, pgid: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (link.closed) return resolve(`the connection is gone (${link.closeReason})`);
    const t = setTimeout(() => resolve(`no answer within ${KILL_TIMEOUT_MS} ms`), KILL_TIMEOUT_MS);
    openSession(link, remoteKillCommand(sudo)).then(
      (ch) => {
        let stderr = "";
        let code: number | undefined;
        ch.on("data", () => undefined);
        ch.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
        ch.on("exit", (c: number | null) => (code = c ?? undefined));
        ch.on("close", () => {
          clearTimeout(t);
          resolve(code === 0 ? undefined : `kill exited ${code ?? "without status"}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
        });
        ch.end(remoteKillScript(pgid));
      },
      (e: Error) => {
        clearTimeout(t);
        resolve(e.message);
      },
    );
  });
}
