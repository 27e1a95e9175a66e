import { RequirementsReport, describeMissing, parseRequirements, requirementsScript } from "../host/requirements";
import type { HostConnection } from "../transport/connection";
import { CommandError } from "../transport/types";
import { connectionIdentity, onHost } from "./contract";

/**
 * Know the host before changing it: before the first create or update on a host in a run,
 * bridgelab checks once that the host has everything bridgelab may run there
 * (host/requirements.ts), and refuses to change anything when a piece is missing, naming each
 * piece and its packages. A lab is never half built for want of iptables or conntrack.
 *
 * "Once per run" is once per plugin process: the check's promise is kept per host (its
 * connection identity, `ssh:admin@10.0.0.5:22`) on globalThis, because module state is per
 * serialized provider and every resource of a run shares the one process. Creates running in
 * parallel on a host all wait for the same check. It costs one remote round trip per host per
 * run (about 0.1 s of shell on the host); a run that changes nothing never makes it.
 */

/**
 * A host lacks something bridgelab runs there. Thrown before anything on it changed. The first
 * change refused in a run says everything (what is missing, what uses it, how to install it);
 * the others refused with it say it in one line (`brief`), so a lab of twenty resources does not
 * print the install lines twenty times.
 */
export class HostRequirementsError extends Error {
  /** Whether a change has been refused with the full message already. */
  reported = false;
  constructor(
    readonly host: string,
    readonly report: RequirementsReport,
    message = describeMissing(host, report.missing, report.host),
  ) {
    super(message);
    this.name = "HostRequirementsError";
  }

  /** The same refusal in one line: `ssh:admin@10.0.0.5:22 lacks conntrack, curl, so nothing was changed on it; …`. */
  brief(): HostRequirementsError {
    const names = this.report.missing.map((r) => (r.detail?.startsWith("not found: ") ? r.detail.slice("not found: ".length) : r.requirement.name));
    return new HostRequirementsError(
      this.host,
      this.report,
      `${this.host} lacks ${names.join(", ")}, so nothing was changed on it (how to install ${names.length > 1 ? "them" : "it"}: the first error of this run, or \`bridgelab doctor\`)`,
    );
  }
}

/**
 * Run the requirements script on the host (one round trip, read-only) and read what it found.
 * `label` is the transport's name for the host (`sandbox:lab`, `ssh:admin@10.0.0.5:22`).
 */
export async function checkHost(c: HostConnection): Promise<{ label: string; report: RequirementsReport }> {
  return onHost(c, async (t) => {
    const r = await t.run(requirementsScript(), { timeoutMs: 30_000 });
    if (r.code !== 0) throw new CommandError(t.label, r, "checking what the host has");
    try {
      return { label: t.label, report: parseRequirements(r.stdout) };
    } catch (e) {
      throw new Error(`checking what ${t.label} has: ${(e as Error).message}${r.stderr.trim() ? `; stderr: ${r.stderr.trim().slice(0, 500)}` : ""}`);
    }
  });
}

const KEY = Symbol.for("bridgelab.preflight.v1");

function checks(): Map<string, Promise<void>> {
  const g = globalThis as unknown as Record<symbol, Map<string, Promise<void>> | undefined>;
  return (g[KEY] ??= new Map());
}

/**
 * Resolves once host `c` is known to have what bridgelab runs; rejects with a
 * HostRequirementsError naming what it lacks. The first call per host in this process runs the
 * check; later and concurrent calls share its outcome. A check that could not run (the host
 * unreachable, a timeout) is not kept: the next change asks again, and meets its own error.
 */
export function preflight(c: HostConnection | undefined): Promise<void> {
  if (!c || typeof c !== "object") return Promise.resolve(); // the resource's own check reports it
  const key = connectionIdentity(c);
  const cache = checks();
  let check = cache.get(key);
  if (!check) {
    const started = (async () => {
      const { label, report } = await checkHost(c);
      if (report.missing.length) throw new HostRequirementsError(label, report);
    })();
    cache.set(key, started);
    started.catch((e) => {
      if (!(e instanceof HostRequirementsError) && cache.get(key) === started) cache.delete(key);
    });
    check = started;
  }
  return check.catch((e: unknown) => {
    if (!(e instanceof HostRequirementsError)) throw e;
    if (e.reported) throw e.brief();
    e.reported = true;
    throw e;
  });
}

/** Forget every check made in this process (tests, and a long-lived process that changes hosts). */
export function forgetHostChecks(): void {
  checks().clear();
}
