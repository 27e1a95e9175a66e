import { spawn } from "node:child_process";
import { DEFAULT_TIMEOUT_MS, ExecResult, RunOptions, TimeoutError, TransportError } from "./types";

/**
 * Run `script` with a local `sh`, behind an optional argv prefix (`sudo -n`, `nsenter ...`).
 *
 * The script travels on standard input (`sh -s`) so its size is not bounded by ARG_MAX;
 * when the caller has its own stdin the script goes in `sh -c` instead. The child leads
 * its own process group so a timeout kills everything it started, not just the shell.
 */
/** How long a timed-out script gets after TERM to run its undo before KILL. */
const TERM_GRACE_MS = 5000;

export function spawnScript(label: string, prefix: readonly string[], script: string, opts: RunOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const viaStdin = opts.stdin === undefined;
  const argv = [...prefix, "sh", ...(viaStdin ? ["-s"] : ["-c", script])];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined = undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        child.kill(sig);
      }
    };
    // TERM first: a create script's trap (armUndo) then removes what it made; KILL what is
    // left after TERM_GRACE_MS (a bare KILL would leave a half-built object behind).
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup("SIGTERM");
      killTimer = setTimeout(() => signalGroup("SIGKILL"), TERM_GRACE_MS);
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => undefined); // the script may exit before reading all input
    child.on("error", (e) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      reject(new TransportError(label, `cannot start ${argv[0]}: ${e.message}`, e));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (timedOut) return reject(new TimeoutError(label, script, timeoutMs));
      resolve({
        command: script,
        code: code ?? 128 + (signal ? 9 : 0),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(viaStdin ? script : opts.stdin);
  });
}
