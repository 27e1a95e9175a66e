import { shQuote as q } from "../host/quote";
import { SSM_LIMITS } from "./ssmOptions";

/**
 * What the SSM transport sends and how it reads what comes back. Pure: no SDK, no I/O.
 *
 * The SSM agent writes the `commands` parameter of AWS-RunShellScript into a file and runs it
 * with `sh -c FILE` as root, so the file is read by the node's /bin/sh (dash on Debian and
 * Ubuntu, bash on Amazon Linux). The script is handed to a POSIX `sh` of its own, quoted as
 * one word, so it runs the same everywhere and its `$0`, traps and exit status are its own:
 *
 *   sh -c '<script>' bridgelab </dev/null
 *   bridgelab_rc=$?
 *   if [ "$bridgelab_rc" -eq 194 ]; then echo 'bridgelab-ssm-exit 194' >&2; exit 1; fi
 *   exit "$bridgelab_rc"
 *
 * With stdin, its bytes travel base64-encoded in a quoted here-document (the base64 alphabet
 * has no `_`, so the terminator line cannot occur in the data, and no byte is interpreted):
 *
 *   base64 -d <<'BRIDGELAB_STDIN' | sh -c '<script>' bridgelab
 *   aGVsbG8K
 *   BRIDGELAB_STDIN
 *
 * Exit status 194 asks the SSM agent to reboot the node and run the command again; a script
 * that happens to exit 194 must not do that, so the wrapper exits 1 instead and names the real
 * status on stderr, and the transport reports 194.
 */

export const DOCUMENT_NAME = "AWS-RunShellScript";
const STDIN_EOF = "BRIDGELAB_STDIN";
const REBOOT_EXIT = 194;
const REBOOT_MARK = "bridgelab-ssm-exit";

/** The `commands` parameter: one element holding the whole wrapper. */
export function ssmCommands(script: string, stdin?: string): string[] {
  const run = `sh -c ${q(script)} bridgelab`;
  const head =
    stdin === undefined
      ? [`${run} </dev/null`]
      : [`base64 -d <<'${STDIN_EOF}' | ${run}`, ...base64Lines(stdin), STDIN_EOF];
  return [
    [
      ...head,
      "bridgelab_rc=$?",
      `if [ "$bridgelab_rc" -eq ${REBOOT_EXIT} ]; then echo '${REBOOT_MARK} ${REBOOT_EXIT}' >&2; exit 1; fi`,
      'exit "$bridgelab_rc"',
    ].join("\n"),
  ];
}

function base64Lines(data: string): string[] {
  const b64 = Buffer.from(data, "utf8").toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines;
}

/**
 * SendCommand's two deadlines for a run of `timeoutMs`: TimeoutSeconds is how long the command
 * may wait for delivery (SSM's minimum is 30 s), executionTimeout how long the agent lets it run
 * before killing it. The transport's own deadline is timeoutMs; these make sure a command it
 * gave up on never starts late or runs on.
 */
export function ssmTimeouts(timeoutMs: number): { timeoutSeconds: number; executionTimeout: string } {
  const sec = Math.max(1, Math.ceil(timeoutMs / 1000));
  return {
    timeoutSeconds: Math.min(SSM_LIMITS.maxDeliveryTimeoutSec, Math.max(SSM_LIMITS.minDeliveryTimeoutSec, sec)),
    executionTimeout: String(Math.min(SSM_LIMITS.maxExecutionTimeoutSec, sec)),
  };
}

/**
 * The script's exit status and stderr from an invocation's ResponseCode and
 * StandardErrorContent: the agent's own line `failed to run commands: exit status N` is
 * removed, and the wrapper's 194 marker turned back into status 194.
 */
export function scriptResult(responseCode: number, stderr: string): { code: number; stderr: string } {
  let code = responseCode;
  const kept: string[] = [];
  for (const line of stderr.split("\n")) {
    if (/^failed to run commands: exit status \d+$/.test(line)) continue;
    if (line === `${REBOOT_MARK} ${REBOOT_EXIT}` && responseCode === 1) {
      code = REBOOT_EXIT;
      continue;
    }
    kept.push(line);
  }
  return { code, stderr: kept.join("\n") };
}

/** Which streams SSM cut: it returns at most 24,000 characters of stdout and 8,000 of stderr. */
export function truncatedStreams(stdout: string, stderr: string): { stdout: boolean; stderr: boolean } {
  return { stdout: stdout.length >= SSM_LIMITS.stdoutChars, stderr: stderr.length >= SSM_LIMITS.stderrChars };
}

/** AWS error names that mean "slow down": retried with backoff. */
const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
]);

export function isThrottling(e: unknown): boolean {
  const err = e as { name?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  return !!err && (THROTTLING.has(String(err.name)) || err.$metadata?.httpStatusCode === 429);
}

/** Exponential backoff with full jitter: a random wait in [0, min(max, base·2^attempt)). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}
