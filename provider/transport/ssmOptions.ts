import type { SsmConnection } from "./connection";

/**
 * The fixed facts and rules of the SSM transport. Pure: no SDK, no I/O, so connection checks
 * at preview never load the AWS SDK.
 */

/** `i-` and 8 or 17 lowercase hex digits, as EC2 prints instance ids. */
export const SSM_INSTANCE_ID_RULE = '"i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")';
export const SSM_REGION_RULE = 'a region code such as "us-east-1", "eu-central-2" or "us-gov-west-1"';
export const SSM_PROFILE_RULE = "1–128 characters: letters, digits and _ . + = , @ -, starting with a letter or digit";

export function isSsmInstanceId(v: string): boolean {
  return /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(v);
}

export function isAwsRegion(v: string): boolean {
  return /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/.test(v);
}

export function isAwsProfile(v: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.+=,@-]{0,127}$/.test(v);
}

/** `ssm:i-0123456789abcdef0`, `ssm:i-0123456789abcdef0@eu-west-1`. Contains no secret. */
export function ssmLabel(c: Pick<SsmConnection, "instanceId" | "region">): string {
  return `ssm:${c.instanceId}${c.region ? `@${c.region}` : ""}`;
}

/** The label plus the profile, for logs: `ssm:i-0123456789abcdef0@eu-west-1 (profile ops)`. */
export function describeSsm(c: Pick<SsmConnection, "instanceId" | "region" | "profile">): string {
  return ssmLabel(c) + (c.profile ? ` (profile ${c.profile})` : "");
}

/** What SSM Run Command returns and accepts; see the AWS-RunShellScript document and GetCommandInvocation. */
export const SSM_LIMITS = {
  /** GetCommandInvocation's StandardOutputContent holds the first 24,000 characters of stdout. */
  stdoutChars: 24_000,
  /** …and StandardErrorContent the first 8,000 of stderr. */
  stderrChars: 8_000,
  /** SendCommand TimeoutSeconds (the delivery deadline): 30 s to 30 days. */
  minDeliveryTimeoutSec: 30,
  maxDeliveryTimeoutSec: 2_592_000,
  /** AWS-RunShellScript executionTimeout: 1 s to 48 h. */
  maxExecutionTimeoutSec: 172_800,
} as const;

/** How the transport waits and retries. Every bound is in attempts or milliseconds of the run's deadline. */
export const SSM_POLLING = {
  /** Wait before the first GetCommandInvocation: the invocation rarely exists sooner. */
  firstPollMs: 300,
  /** Poll interval grows by this factor up to maxPollMs. */
  pollFactor: 1.5,
  maxPollMs: 3_000,
  /** GetCommandInvocation answering InvocationDoesNotExist right after SendCommand: retried this many times. */
  invocationMissingAttempts: 10,
  /** Throttled calls (ThrottlingException, 429…): attempts per call, with exponential backoff and full jitter. */
  throttleAttempts: 6,
  throttleBaseMs: 500,
  throttleMaxMs: 10_000,
} as const;
