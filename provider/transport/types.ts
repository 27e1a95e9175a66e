/**
 * The transport contract: get a script to a host, run it, bring back what it printed.
 *
 * Transports know nothing of ip or iptables: the host/ layer builds scripts as data and
 * resources hand them here. A non-zero exit status is data (an ExecResult), not an
 * exception; only failing to run at all (no connection, timeout) throws.
 */
export interface RunOptions {
  /** Bytes written to the script's standard input. */
  stdin?: string;
  /** Kill the command and throw a TimeoutError after this many milliseconds. Default 120 000. */
  timeoutMs?: number;
}

/** What one run of a script produced. */
export interface ExecResult {
  /** The script that ran, for error messages. */
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

export interface Transport {
  /** A short label for messages: `sandbox:lab-1`, `ssh:admin@10.0.0.5:22`, `local`. */
  readonly label: string;
  /** Run a POSIX sh script on the host. */
  run(script: string, opts?: RunOptions): Promise<ExecResult>;
  /** Release connections. Pooled transports may keep them for other users. */
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 120_000;

/** First line of a script, cut to a readable length, for messages. */
export function summarize(script: string, max = 200): string {
  const oneLine = script.trim().replace(/\s*\n\s*/g, "; ");
  return oneLine.length > max ? oneLine.slice(0, max - 1) + "…" : oneLine;
}

/** A command ran and exited non-zero. Carries the host, command, exit status and stderr. */
export class CommandError extends Error {
  constructor(
    readonly host: string,
    readonly result: ExecResult,
    readonly context?: string,
  ) {
    super(
      `${context ? context + " on " : "on "}${host}: \`${summarize(result.command)}\` exited ${result.code}` +
        (result.stderr.trim() ? `: ${result.stderr.trim()}` : ""),
    );
    this.name = "CommandError";
  }
}

/** The host could not be reached, or the connection broke. */
export class TransportError extends Error {
  constructor(readonly host: string, message: string, readonly cause?: unknown) {
    super(`${host}: ${message}`);
    this.name = "TransportError";
  }
}

/** A command outlived its timeout and was killed. */
export class TimeoutError extends TransportError {
  constructor(host: string, readonly command: string, readonly timeoutMs: number) {
    super(host, `\`${summarize(command)}\` timed out after ${timeoutMs} ms and was killed`);
    this.name = "TimeoutError";
  }
}

/** Run and throw a CommandError on a non-zero exit. `context` names the object being worked on. */
export async function runChecked(t: Transport, script: string, context?: string, opts?: RunOptions): Promise<ExecResult> {
  const r = await t.run(script, opts);
  if (r.code !== 0) throw new CommandError(t.label, r, context);
  return r;
}
