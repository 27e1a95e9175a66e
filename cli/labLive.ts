import * as fs from "node:fs";
import * as path from "node:path";
import { mapForPlugin, changedKeys } from "../engine/properties";
import type { PropertyMap } from "../engine/sdk";
import { describeBroken, summarize, type ProbeOutcome, type ProbeSpec } from "../provider/host/probeScripts";
import { runProbes } from "../provider/resources/labProbe";
import { providerFor, providerNames } from "../provider/resources/providers";
import { sandboxExists } from "../provider/sandbox/sandboxHost";
import type { HostConnection } from "../provider/transport/connection";
import { automationPlan, exportState } from "./automation";
import { shortType } from "./engineReport";
import { type Verification, formatVerification } from "./labReport";

/**
 * A lab as it is now, engine-independent: its state read (the bundled engine's file, or the Pulumi
 * stack exported through the Automation API), its LabProbes' paths probed with LabProbe's own
 * probes, its other bridgelab resources read with their own providers' reads, in this process.
 * Nothing is written: what `bridgelab verify` runs, and what `bridgelab up` probes again with.
 */

/** Where a lab is: its stack, project and state directory (LabOptions has these). */
export interface LabLocation {
  stack: string;
  dir: string;
  stateDir: string;
}

// --- a lab's state, whichever engine wrote it --------------------------------------------

/** One resource as the lab's state records it, secrets in plaintext (where they can be read). */
export interface RecordedResource {
  urn: string;
  type: string;
  id: string;
  custom: boolean;
  /** Read with `get`: not the lab's to check. */
  external?: boolean;
  /** Its inputs, as checked (what the next `up`'s Diff compares the host with). */
  inputs: PropertyMap;
  outputs: PropertyMap;
  /** Some output is a secret this process cannot decrypt (a Pulumi stack exported without its key). */
  unreadable?: boolean;
}

/**
 * The bundled engine's state file, read only (decrypted with BRIDGELAB_ENGINE_PASSPHRASE or the
 * key file beside it); undefined when there is none.
 */
export async function bundledState(file: string): Promise<RecordedResource[] | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const { StateStore } = await import("../engine/state");
  const { passphraseEnv } = await import("../engine/secrets");
  const head = JSON.parse(fs.readFileSync(file, "utf8")) as { stack: string; project: string };
  const store = StateStore.load(file, head.stack, head.project, process.env[passphraseEnv], true);
  return store.liveResources().map((r) => ({
    urn: r.urn,
    type: r.type,
    id: r.id,
    custom: r.custom,
    ...(r.external ? { external: true } : {}),
    inputs: mapForPlugin(r.inputs),
    outputs: mapForPlugin(r.outputs),
  }));
}

/** The lab's state for the engine `bridgelab up` uses; undefined when the lab has none. */
export async function labState(opts: LabLocation, engine: "pulumi" | "bundled"): Promise<{ resources: RecordedResource[]; where: string } | undefined> {
  if (engine === "bundled") {
    const file = path.join(opts.stateDir, `${opts.stack}.json`);
    const resources = await bundledState(file);
    return resources && { resources, where: `state ${file}` };
  }
  const plan = automationPlan({ repo: opts.dir, stack: opts.stack, stateDir: opts.stateDir, config: {} });
  const resources = await exportState(plan);
  return resources && { resources, where: `Pulumi stack "${opts.stack}", backend ${plan.backendUrl}` };
}

// --- looking at the hosts -----------------------------------------------------------------

export const labProbeType = "pulumi-nodejs:dynamic/bridgelab:LabProbe";
const bridgelabType = /^pulumi-nodejs:dynamic\/bridgelab:([A-Za-z]+)$/;

/** The provider that serves a bridgelab resource type (Bridge → bridgeProvider), if any. */
export function providerNameOf(type: string): string | undefined {
  const m = bridgelabType.exec(type);
  if (!m) return undefined;
  const name = `${m[1][0].toLowerCase()}${m[1].slice(1)}Provider`;
  return (providerNames as readonly string[]).includes(name) ? name : undefined;
}

export const urnName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

export interface ResourceFinding {
  urn: string;
  type: string;
  name: string;
  /** gone: its read found nothing; drift: outputs differ from the state; error: it could not be read. */
  status: "gone" | "drift" | "error";
  changes?: string[];
  detail?: string;
}

export interface LiveCheck {
  /** One per LabProbe in the state, in state order: its matrix as probed now. */
  verifications: Verification[];
  /** The resources that are not as recorded (read resources as recorded are counted only). */
  findings: ResourceFinding[];
  /** How many resources were read and found as recorded. */
  asRecorded: number;
  /** Resources not read: not bridgelab's (another provider's), read with `get`, or skipped. */
  notRead: number;
  /** What the provider code printed while reading (shown on stderr). */
  notes: string[];
}

/** A sandbox connection whose sandbox host is gone: everything on it is gone too. */
function missingSandbox(connection: unknown): string | undefined {
  const c = connection as Partial<HostConnection> | undefined;
  if (c && c.kind === "sandbox" && typeof c.name === "string" && !sandboxExists(c.name)) return c.name;
  return undefined;
}

/** The first line of an error's message (a transport's error carries the script's output after it). */
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0];

/** A LabProbe's matrix as probed now; a probe that cannot run at all makes every row an error saying why. */
export async function probeNow(r: RecordedResource): Promise<Verification> {
  const connection = r.outputs.connection as unknown as HostConnection;
  const probes = (r.outputs.probes ?? []) as unknown as ProbeSpec[];
  const at = urnName(r.urn);
  let matrix: ProbeOutcome[];
  const gone = missingSandbox(connection);
  if (r.unreadable) {
    matrix = probes.map((p) => ({ ...p, result: "error", ok: false, detail: "its connection is a secret this process cannot decrypt" }));
  } else if (gone) {
    matrix = probes.map((p) => ({ ...p, result: "error", ok: false, detail: `sandbox host "${gone}" does not exist` }));
  } else {
    try {
      matrix = await runProbes(connection, probes);
    } catch (e) {
      const why = firstLine(e);
      matrix = probes.map((p) => ({ ...p, result: "error", ok: false, detail: why }));
    }
  }
  return { at, summary: summarize(matrix), matrix };
}

/** Every LabProbe of the state, probed now (nothing else is read). */
export async function probeRecorded(resources: RecordedResource[]): Promise<Verification[]> {
  return Promise.all(resources.filter((r) => r.type === labProbeType && r.custom && !r.external).map(probeNow));
}

/**
 * Probes every LabProbe and (unless `probesOnly`) reads every other bridgelab resource with its
 * own provider's read, in this process: the read a refresh would make, with nothing recorded.
 * Reads only look (the resource contract); a sandbox host that no longer exists holds nothing.
 */
export async function checkLive(resources: RecordedResource[], options: { probesOnly?: boolean } = {}): Promise<LiveCheck> {
  const notes: string[] = [];
  const restore = captureConsole(notes);
  try {
    const toRead = resources.filter((r) => r.custom && !r.external && r.type !== labProbeType && providerNameOf(r.type));
    const read = options.probesOnly ? [] : toRead;
    const [verifications, found] = await Promise.all([probeRecorded(resources), Promise.all(read.map(readOne))]);
    const findings = found.filter((f): f is ResourceFinding => f !== undefined);
    const probesCount = resources.filter((r) => r.type === labProbeType && r.custom && !r.external).length;
    const customs = resources.filter((r) => r.custom).length;
    return {
      verifications,
      findings,
      asRecorded: read.length - findings.length,
      notRead: customs - probesCount - read.length,
      notes,
    };
  } finally {
    restore();
  }
}

async function readOne(r: RecordedResource): Promise<ResourceFinding | undefined> {
  const base = { urn: r.urn, type: r.type, name: urnName(r.urn) };
  if (r.unreadable) return { ...base, status: "error", detail: "a secret in its state cannot be decrypted here" };
  const gone = missingSandbox(r.outputs.connection);
  if (gone) return { ...base, status: "gone", detail: `sandbox host "${gone}" does not exist` };
  try {
    const provider = providerFor(providerNameOf(r.type)!);
    if (!provider.read) return undefined;
    const stored: PropertyMap = { ...r.outputs };
    delete stored.__provider;
    const result = await provider.read(r.id, stored as never);
    if (!result.id) return { ...base, status: "gone" };
    const now = { ...((result.props ?? {}) as PropertyMap) };
    delete now.__provider;
    // Drift is what the next `up` would change: its provider's Diff of what is there now against
    // the declared inputs, as after a refresh. A value the kernel derives (a bridge's MAC when
    // none is declared) may differ from the record without being drift.
    const inputs: PropertyMap = { ...r.inputs };
    delete inputs.__provider;
    const diff = provider.diff ? await provider.diff(result.id, now as never, inputs as never) : { changes: changedKeys(stored, now).length > 0 };
    if (!diff.changes && !(diff.replaces?.length ?? 0)) return undefined;
    const changes = changedKeys(stored, mapForPlugin(now));
    return { ...base, status: "drift", changes };
  } catch (e) {
    return { ...base, status: "error", detail: firstLine(e) };
  }
}

/** Provider code logs with console.*: collected while it runs, so stdout stays the command's. */
function captureConsole(into: string[]): () => void {
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const collect = (...args: unknown[]) => into.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  console.log = console.info = console.warn = console.error = collect;
  return () => Object.assign(console, saved);
}

// --- the report -----------------------------------------------------------------------------

/** Whether the lab is as declared: every path as expected, every resource read as recorded. */
export function liveOk(c: LiveCheck): boolean {
  return c.findings.length === 0 && c.verifications.every((v) => v.matrix.every((r) => r.ok));
}

/**
 * The report of `bridgelab verify`, pure:
 *
 *   resources: 9 as recorded, 2 gone, 1 drifted
 *     -  gone     bridgelab:VethPair  netns0-ceth0
 *     ~  drift    bridgelab:Bridge    br0           [mtu]
 *   verification: 12/14 paths as expected; not as expected: …
 *     ok  ping:…
 *     BAD http:…
 */
export function formatLiveCheck(c: LiveCheck, probesOnly = false): string[] {
  const lines: string[] = [];
  if (!probesOnly) {
    const count = (s: ResourceFinding["status"]) => c.findings.filter((f) => f.status === s).length;
    const parts = [`${c.asRecorded} as recorded`];
    if (count("gone")) parts.push(`${count("gone")} gone`);
    if (count("drift")) parts.push(`${count("drift")} drifted`);
    if (count("error")) parts.push(`${count("error")} not readable`);
    if (c.notRead) parts.push(`${c.notRead} not read (not bridgelab's)`);
    lines.push(`resources: ${parts.join(", ")}`);
    const typeWidth = Math.max(0, ...c.findings.map((f) => shortType(f.type).length));
    const nameWidth = Math.max(0, ...c.findings.map((f) => f.name.length));
    const mark = { gone: "-  gone ", drift: "~  drift", error: "!  error" };
    for (const f of c.findings) {
      const tail = f.changes?.length ? `  [${f.changes.join(", ")}]` : f.detail ? `  ${f.detail}` : "";
      lines.push(`  ${mark[f.status]}    ${shortType(f.type).padEnd(typeWidth)}  ${f.name.padEnd(nameWidth)}${tail}`.trimEnd());
    }
  }
  if (c.verifications.length === 0) lines.push("verification: the lab has no LabProbe, so no path was probed");
  for (const v of c.verifications) lines.push(...formatVerification(v));
  return lines;
}

/** "2 of 14 paths not as expected:" and one line per broken path, for the end of a report. */
export function brokenPaths(verifications: Verification[]): string[] {
  const out: string[] = [];
  for (const v of verifications) {
    const broken = v.matrix.filter((r) => !r.ok);
    if (broken.length === 0) continue;
    out.push(`${v.at}: ${broken.length} of ${v.matrix.length} paths not as expected:`);
    for (const r of broken) out.push(`  ${describeBroken(r as ProbeOutcome)}`);
  }
  return out;
}

