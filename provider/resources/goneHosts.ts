import type { HostConnection } from "../transport/connection";
import { HostUnreachableError, isHostGone, isHostUnreachable } from "../transport/hostErrors";
import { sandboxRoot } from "../sandbox/sandboxLayout";
import { connectionIdentity } from "./contract";

/**
 * Destroy when the host is gone. Two cases are told apart (transport/hostErrors.ts):
 *
 * - a sandbox host that no longer exists holds nothing: its objects went with it, so delete
 *   succeeds and read reports them gone (HostGoneError);
 * - a host that cannot be reached (SSH, SSM) may only be down: delete and read fail, naming the
 *   host and the way out for a host that is gone for good (a terminated VM):
 *
 *     BRIDGELAB_GONE_HOSTS=ssh:admin@10.0.0.5:22,ssm:i-0123456789abcdef0 pulumi destroy
 *
 *   Hosts listed there (connection identities, as contract.ts connectionIdentity prints them)
 *   are treated as gone without being contacted: their resources are forgotten, and anything
 *   still on them stays there. Each is said in the log, once per host per run.
 */
export const GONE_HOSTS_ENV = "BRIDGELAB_GONE_HOSTS";

/** The connection identities listed in BRIDGELAB_GONE_HOSTS (comma-separated). */
export function goneHosts(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set((env[GONE_HOSTS_ENV] ?? "").split(",").map((h) => h.trim()).filter(Boolean));
}

const LOGGED = Symbol.for("bridgelab.goneHosts.logged.v1");

/** Print `line` (engine info) once per `key` in this process. */
function logOnce(key: string, line: string): void {
  const g = globalThis as unknown as Record<symbol, Set<string> | undefined>;
  const logged = (g[LOGGED] ??= new Set());
  if (logged.has(key)) return;
  logged.add(key);
  console.error(line);
}

function identityOf(c: HostConnection | undefined): string {
  return c && typeof c === "object" ? connectionIdentity(c) : "";
}

/**
 * Whether the connection's host is listed in BRIDGELAB_GONE_HOSTS; when it is, says so in the
 * log and the caller forgets the object without contacting the host.
 */
export function declaredGone(c: HostConnection | undefined, kind: string, id: string, op: "read" | "delete"): boolean {
  const identity = identityOf(c);
  if (!identity || !goneHosts().has(identity)) return false;
  logOnce(
    `declared ${identity}`,
    `${identity} is listed in ${GONE_HOSTS_ENV}, so it is treated as gone without being contacted: ` +
      `its resources are forgotten (${kind} ${id} on ${op}), and anything still on that host stays there`,
  );
  return true;
}

/** Whether `e` says the object's sandbox host no longer exists; when it does, says so in the log. */
export function goneHost(e: unknown, c: HostConnection | undefined): boolean {
  if (!isHostGone(e)) return false;
  const name = c && typeof c === "object" && c.kind === "sandbox" ? c.name : e.host;
  logOnce(
    `gone ${identityOf(c) || e.host}`,
    `sandbox host "${name}" no longer exists (not in ${sandboxRoot()}): nothing of it is left, so its resources are forgotten`,
  );
  return true;
}

/**
 * What a failed read or delete throws: for a host that cannot be reached, an error naming the
 * host and BRIDGELAB_GONE_HOSTS; any other error as it is (an authentication failure or a host
 * key mismatch means the host is there).
 */
export function unreachable(e: unknown, c: HostConnection | undefined, kind: string, id: string, op: "read" | "delete"): unknown {
  if (!isHostUnreachable(e)) return e;
  const identity = identityOf(c) || e.host;
  const why = e.message.startsWith(`${e.host}: `) ? e.message.slice(e.host.length + 2) : e.message;
  return new HostUnreachableError(
    identity,
    `cannot be reached (${why}), so ${kind} ${id} cannot be ${op === "delete" ? "deleted" : "read"}. ` +
      `If the host is only down, bring it back (or fix the connection) and run again. ` +
      `If it is gone for good (a terminated VM), nothing on it needs deleting: run again with ` +
      `${GONE_HOSTS_ENV}=${identity} (several hosts: comma-separated) and bridgelab forgets that host's resources without contacting it.`,
    e,
  );
}
