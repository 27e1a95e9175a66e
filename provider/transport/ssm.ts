import type { GetCommandInvocationCommandOutput, SSMClient } from "@aws-sdk/client-ssm";
import { checkConnection } from "./connectionCheck";
import type { SsmConnection } from "./connection";
import { SSM_LIMITS, SSM_POLLING, describeSsm, ssmLabel } from "./ssmOptions";
import { DOCUMENT_NAME, backoffMs, isThrottling, scriptResult, ssmCommands, ssmTimeouts, truncatedStreams } from "./ssmScript";
import { HostUnreachableError } from "./hostErrors";
import { DEFAULT_TIMEOUT_MS, ExecResult, RunOptions, TimeoutError, Transport, TransportError, summarize } from "./types";

/**
 * Runs scripts on an EC2 instance (any SSM managed node) through AWS Systems Manager Run
 * Command. Equivalent to
 *
 *   id=$(aws ssm send-command --instance-ids i-0123456789abcdef0 \
 *          --document-name AWS-RunShellScript --timeout-seconds 120 \
 *          --parameters '{"commands":["sh -c '\''<script>'\'' bridgelab </dev/null …"],"executionTimeout":["120"]}' \
 *          --query Command.CommandId --output text)
 *   aws ssm get-command-invocation --command-id "$id" --instance-id i-0123456789abcdef0   # until done
 *
 * (ssmScript.ts shows the wrapper). Polling, not the SDK's waiter: the waiter throws on a
 * non-zero exit, which here is data (an ExecResult). Along the way:
 *
 * - GetCommandInvocation may answer InvocationDoesNotExist right after SendCommand: retried
 *   up to SSM_POLLING.invocationMissingAttempts times.
 * - Pending, InProgress, Delayed (and Cancelling) keep polling, with a growing interval, until
 *   `timeoutMs` has passed; then the command is cancelled and a TimeoutError thrown.
 * - Success and Failed with a ResponseCode ≥ 0 are the script's result. Failed without one
 *   (never ran), Cancelled, TimedOut, Undeliverable and Terminated throw.
 * - SSM keeps only 24,000 characters of stdout and 8,000 of stderr: a cut stdout throws an
 *   SsmOutputTruncatedError (the data is incomplete); a cut stderr is marked as such.
 * - Throttled calls back off and retry, SSM_POLLING.throttleAttempts times per call.
 *
 * Region and credentials come from the AWS SDK's standard chain, or from `region`/`profile`.
 * The SDK is loaded on first use and the client is created inside run(), never at module load:
 * nothing here is captured, and no credential ever passes through the connection object.
 */
export class SsmTransport implements Transport {
  readonly label: string;
  /** The label plus the profile, for logs. */
  readonly description: string;
  private client: SSMClient | undefined;
  private closed = false;

  constructor(
    private readonly connection: SsmConnection,
    private readonly clock: SsmClock = realClock,
  ) {
    this.label = ssmLabel(connection);
    this.description = describeSsm(connection);
    const problems = checkConnection(connection);
    if (problems.length) throw new TransportError(this.label, `invalid connection: ${problems.join("; ")}`);
  }

  async run(script: string, opts: RunOptions = {}): Promise<ExecResult> {
    if (this.closed) throw new TransportError(this.label, "this transport is closed");
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const run: RunContext = { script, timeoutMs, deadline: this.clock.now() + timeoutMs };
    const sdk = loadSdk();
    this.client ??= new sdk.SSMClient({
      ...(this.connection.region ? { region: this.connection.region } : {}),
      ...(this.connection.profile ? { profile: this.connection.profile } : {}),
    });
    const client = this.client;
    const { timeoutSeconds, executionTimeout } = ssmTimeouts(timeoutMs);
    const instanceId = this.connection.instanceId;

    const sent = await this.call("SendCommand", run, () =>
      client.send(
        new sdk.SendCommandCommand({
          InstanceIds: [instanceId],
          DocumentName: DOCUMENT_NAME,
          Comment: "bridgelab",
          TimeoutSeconds: timeoutSeconds,
          Parameters: { commands: ssmCommands(script, opts.stdin), executionTimeout: [executionTimeout] },
        }),
      ),
    );
    const commandId = sent.Command?.CommandId;
    if (!commandId) throw new TransportError(this.label, `SendCommand returned no command id for \`${summarize(script)}\``);

    let wait: number = SSM_POLLING.firstPollMs;
    let missing = 0;
    for (;;) {
      if (!(await this.sleepUntil(wait, run.deadline))) return this.giveUp(client, sdk, commandId, run);
      wait = Math.min(SSM_POLLING.maxPollMs, Math.round(wait * SSM_POLLING.pollFactor));
      let inv: GetCommandInvocationCommandOutput;
      try {
        inv = await this.call("GetCommandInvocation", run, () =>
          client.send(new sdk.GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })),
        );
      } catch (e) {
        if (e instanceof DeadlineError) return this.giveUp(client, sdk, commandId, run);
        if ((e as { name?: string }).name !== "InvocationDoesNotExist") throw e;
        if (++missing < SSM_POLLING.invocationMissingAttempts) continue;
        throw new TransportError(
          this.label,
          `command ${commandId} (\`${summarize(script)}\`) never appeared on ${instanceId}: GetCommandInvocation answered InvocationDoesNotExist ${missing} times`,
          e,
        );
      }
      const result = this.finished(inv, commandId, run);
      if (result) return result;
    }
  }

  /** Forget the client. Idempotent; nothing stays open between runs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client?.destroy();
    this.client = undefined;
  }

  /** The result of a finished invocation; undefined while it is still on its way. */
  private finished(inv: GetCommandInvocationCommandOutput, commandId: string, { script, timeoutMs }: RunContext): ExecResult | undefined {
    const status = inv.Status ?? "Pending";
    const details = inv.StatusDetails ?? status;
    const code = inv.ResponseCode ?? -1;
    if (status === "Pending" || status === "InProgress" || status === "Delayed" || status === "Cancelling") return undefined;
    if (status === "Success" || (status === "Failed" && code >= 0)) {
      const stdout = inv.StandardOutputContent ?? "";
      const rawStderr = inv.StandardErrorContent ?? "";
      const cut = truncatedStreams(stdout, rawStderr);
      const r = scriptResult(status === "Success" ? 0 : code, rawStderr);
      if (cut.stdout) throw new SsmOutputTruncatedError(this.label, script, commandId, r.code, stdout.length);
      const stderr = cut.stderr ? `${r.stderr}\n[bridgelab: SSM kept only the first ${SSM_LIMITS.stderrChars} characters of stderr]` : r.stderr;
      return { command: script, code: r.code, stdout, stderr };
    }
    if (status === "TimedOut" && details !== "DeliveryTimedOut") {
      const e = new TimeoutError(this.label, script, timeoutMs);
      e.message += ` (SSM command ${commandId}: the agent stopped it at its executionTimeout)`;
      throw e;
    }
    const why: Record<string, string> = {
      DeliveryTimedOut: "it was not delivered in time: is the SSM agent running and connected (`systemctl status amazon-ssm-agent`)?",
      Undeliverable: "it cannot be delivered: the node is stopped, terminated or not managed by SSM",
      Terminated: "SSM terminated it",
      Cancelled: "it was cancelled",
      Failed: "it failed before the script ran",
    };
    const stderr = (inv.StandardErrorContent ?? "").trim();
    // Not delivered: the node is stopped, terminated or its agent is offline (the host cannot be reached).
    const E = details === "Undeliverable" || details === "DeliveryTimedOut" ? HostUnreachableError : TransportError;
    throw new E(
      this.label,
      `SSM command ${commandId} (\`${summarize(script)}\`) ended ${status}/${details}: ${why[details] ?? why[status] ?? "no result"}` +
        (stderr ? `: ${stderr.slice(0, 500)}` : ""),
    );
  }

  /** Past the deadline: cancel the command (best effort) and throw a TimeoutError. */
  private async giveUp(client: SSMClient, sdk: SsmSdk, commandId: string, { script, timeoutMs }: RunContext): Promise<never> {
    const e = new TimeoutError(this.label, script, timeoutMs);
    try {
      await client.send(new sdk.CancelCommandCommand({ CommandId: commandId, InstanceIds: [this.connection.instanceId] }));
      e.message += ` (SSM command ${commandId} cancelled)`;
    } catch (c) {
      e.message += `; cancelling SSM command ${commandId} failed (${errorText(c)}): its executionTimeout stops it on the node`;
    }
    throw e;
  }

  /**
   * One API call. Throttling backs off and retries, within the deadline: past it, a throttled
   * SendCommand (nothing was sent) is a TimeoutError and a throttled poll a DeadlineError, which
   * run() turns into a cancel. Other errors get a message that names the host and what to do.
   */
  private async call<T>(what: string, run: RunContext, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (e) {
        if (isThrottling(e) && attempt + 1 < SSM_POLLING.throttleAttempts) {
          const ms = backoffMs(attempt, SSM_POLLING.throttleBaseMs, SSM_POLLING.throttleMaxMs, this.clock.random);
          if (await this.sleepUntil(ms, run.deadline)) continue;
          if (what !== "SendCommand") throw new DeadlineError();
          const t = new TimeoutError(this.label, run.script, run.timeoutMs);
          t.message += ` (SendCommand was throttled ${attempt + 1} times; nothing was sent)`;
          throw t;
        }
        if ((e as { name?: string }).name === "InvocationDoesNotExist") throw e;
        // InvalidInstanceId: SSM cannot send to the node (terminated, stopped, not managed): unreachable.
        const E = (e as { name?: string }).name === "InvalidInstanceId" ? HostUnreachableError : TransportError;
        throw new E(this.label, `${what} for \`${summarize(run.script)}\` failed: ${explain(e, this.connection, attempt + 1)}`, e);
      }
    }
  }

  /** Sleep `ms`, or until the deadline if that comes first; false when the deadline has come. */
  private async sleepUntil(ms: number, deadline: number): Promise<boolean> {
    const left = deadline - this.clock.now();
    if (left <= 0) return false;
    await this.clock.sleep(Math.min(ms, left));
    return ms < left;
  }
}

interface RunContext {
  script: string;
  timeoutMs: number;
  /** clock.now() after which the run gives up. */
  deadline: number;
}

/** The clock the transport waits by; tests pass a fake one. */
export interface SsmClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1), for backoff jitter. */
  random(): number;
}

const realClock: SsmClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/** A run's output did not fit in what SSM returns. */
export class SsmOutputTruncatedError extends TransportError {
  constructor(host: string, readonly command: string, readonly commandId: string, readonly code: number, readonly length: number) {
    super(
      host,
      `the output of \`${summarize(command)}\` (SSM command ${commandId}, exit ${code}) was truncated: SSM returns only the first ` +
        `${SSM_LIMITS.stdoutChars} characters of stdout and ${SSM_LIMITS.stderrChars} of stderr, and it sent ${length}. ` +
        `Keep each script's output compact (fewer objects per run, or a summary instead of a full listing)`,
    );
    this.name = "SsmOutputTruncatedError";
  }
}

/** Thrown inside call() when a throttled poll runs past the deadline; run() turns it into a cancel and a TimeoutError. */
class DeadlineError extends Error {}

type SsmSdk = typeof import("@aws-sdk/client-ssm");

/** The SDK, loaded on first use (it takes ~150 ms): resources on other hosts never pay for it. */
function loadSdk(): SsmSdk {
  return require("@aws-sdk/client-ssm") as SsmSdk;
}

function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string };
  return `${err?.name ?? "Error"}: ${err?.message ?? String(e)}`;
}

/** An AWS error as a sentence that says what to do. Credentials are never part of it. */
function explain(e: unknown, c: SsmConnection, attempts: number): string {
  const name = (e as { name?: string })?.name ?? "";
  const message = (e as { message?: string })?.message ?? "";
  const text = errorText(e);
  if (isThrottling(e)) return `${text} (still throttled after ${attempts} attempts)`;
  if (name === "InvalidInstanceId") {
    return `${text}: ${c.instanceId} cannot take commands; it is stopped, in another region or account than the caller's, or its SSM agent is not registered (the instance role needs AmazonSSMManagedInstanceCore)`;
  }
  if (name === "AccessDeniedException" || name === "AccessDenied" || name === "UnauthorizedOperation") {
    return `${text}: the caller needs ssm:SendCommand (on the instance and on document AWS-RunShellScript), ssm:GetCommandInvocation and ssm:CancelCommand`;
  }
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
    return `${text}: no AWS credentials found; set AWS_PROFILE (or connection.profile), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role`;
  }
  if (["UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken"].includes(name)) {
    return `${text}: the caller's AWS credentials were rejected or have expired; renew them (e.g. \`aws sso login\`)`;
  }
  if (/Region is missing/i.test(message)) return `${text}: set connection.region, AWS_REGION, or a region in the profile`;
  return text;
}
