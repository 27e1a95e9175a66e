/**
 * The fixed cost of an engine run, at N = 10 against an empty program (issue 11, point 6). Run by
 * `npm run bench` after its sizes, or alone:
 *
 *   npm run bench -- --fixed-cost-only [--fixed-cost-runs 5] [--fixed-cost-n 10] [--fixed-cost-warmup 1]
 *                    [--fixed-cost-variants before,after,empty-ts,empty-js] [--baseline df41cd1]
 *
 * Variants, each through its own engine on the same sandbox host, rotated round by round (A B C D,
 * B C D A, …) after unrecorded warm-up rounds; medians, and ratios of medians:
 *   - after:    bench/lab (N containers over SSH to a sandbox host, as bench/run.ts) in this
 *               working tree: it imports the package "bridgelab" (dist/, compiled JS), the plugin
 *               loads `bridgelab/internal/providers`; engine/engine.ts.
 *   - before:   the same at --baseline (default df41cd1, the parent of "bridgelab as a package"):
 *               a `git worktree add` in a temp dir, node_modules symlinked from this repository,
 *               its scripts/build.js run; bench/lab imports ../../provider (TypeScript compiled by
 *               ts-node in the program runner), the plugin loads that build; its own engine
 *               (test/engine/engine.ts, which has no preview pass). The worktree is removed at the end.
 *   - empty-ts: bench/empty-ts, a TypeScript program that declares nothing (`export {}`: the
 *               stack is its only resource), through this tree's engine: the floor of any up.
 *   - empty-js: bench/empty-js, the same in JavaScript (Pulumi.yaml typescript: false: no ts-node).
 * Per variant and round: a preview (from an empty state), an up with `skipPreview: true` and an up
 * as the engine does it by default (a preview pass first, once engine/ has it), each up followed
 * by a destroy (the two ups alternate which goes first). The host is checked clean after every
 * destroy.
 *
 * How the parts are timed (one clock: epoch ms from performance.timeOrigin + performance.now()):
 *   - in this process, around the engine's own objects (both engines): child_process.spawn for the
 *     runner and the plugin and their exits, Deployment.registerResource / registerResourceOutputs,
 *     DynamicPlugin.start (Configure answered) and DynamicPlugin.check;
 *   - in the runner and the plugin, bench/probe.js (NODE_OPTIONS=--require): process start, Node
 *     ready, time spent loading modules per package, the program module's require, peak memory.
 * "Program start" is the time from spawning the runner to the engine receiving the program's first
 * declaration: the first RegisterResource after the stack's (bench/lab: its first Network), or, for
 * a program that declares nothing, the stack's RegisterResourceOutputs. Both arrive right after the
 * program's module has run: it includes Node's start, loading @pulumi/pulumi, ts-node and
 * TypeScript (TypeScript programs), bridgelab, and compiling and running the program.
 *
 * Results: bench/results/fixed-cost.{md,json}.
 */
import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { runEngine as runAfterEngine, type EngineOptions, type EngineSummary } from "../engine/engine";
import { makeSandbox } from "../test/support/sandboxFixture";
import { startSshd } from "../test/support/sshd";
import { expectClean, median } from "./measure";

const root = path.join(__dirname, "..");
const PROBE = path.join(__dirname, "probe.js");

export type VariantName = "before" | "after" | "empty-ts" | "empty-js" | "sdk-ts" | "after-lazy" | "empty-ts-lazy";
/** What `npm run bench` measures by default. */
export const DEFAULT_VARIANTS: VariantName[] = ["before", "after", "empty-ts", "empty-js"];
/**
 * On request (--fixed-cost-variants): sdk-ts, bench/sdk-ts (declares nothing, imports @pulumi/pulumi);
 * prototypes: after / empty-ts with bench/prototypes/lazyClosureCode.js.
 */
export const ALL_VARIANTS: VariantName[] = [...DEFAULT_VARIANTS, "sdk-ts", "after-lazy", "empty-ts-lazy"];
const LAZY = path.join(__dirname, "prototypes", "lazyClosureCode.js");
type OpKind = "preview" | "upSkip" | "upDefault" | "destroy";

export interface FixedCostOptions {
  n: number;
  runs: number;
  warmup: number;
  variants: VariantName[];
  baseline: string;
  outDir: string;
  /** How this was run, for the results' first line. */
  command: string;
  /** Set while a sandbox host or worktree exists: what deletes it (run.ts calls it on SIGINT/SIGTERM). */
  live: { cleanup?: () => Promise<void> };
}

type RunEngine = (o: EngineOptions) => Promise<EngineSummary>;

interface Variant {
  name: VariantName;
  label: string;
  dir: string;
  lab: boolean;
  runEngine: RunEngine;
  env: Record<string, string>;
  /** Extra --require for the runner and the plugin (a prototype). */
  preload?: string;
}

// ---------------------------------------------------------------- instrumentation
interface Ev {
  t: number;
  kind: string;
  pid?: number;
  /** check-done: how long that Check took. */
  ms?: number;
}
const epochNow = () => performance.timeOrigin + performance.now();
/** The events of the engine run being measured (undefined between runs). */
let events: Ev[] | undefined;
const mark = (kind: string, pid?: number, ms?: number) => events?.push({ t: epochNow(), kind, pid, ms });

type AnyFn = (...a: unknown[]) => unknown;
type Patchable = Record<string, unknown> & { __benchPatched?: boolean };

/** Times the runner and plugin processes any engine in this process spawns. Returns the undo. */
function instrumentSpawn(): () => void {
  // The module object itself (an `import * as` namespace only has getters): the engines call
  // `(0, node_child_process_1.spawn)(…)`, a property read at call time.
  const cp = require("node:child_process") as Record<string, AnyFn>;
  const orig = cp.spawn;
  cp.spawn = function (this: unknown, ...a: unknown[]) {
    const child = orig.apply(this, a) as childProcess.ChildProcess;
    const first = Array.isArray(a[1]) ? String(a[1][0] ?? "") : "";
    const role = /cmd[\\/]run([\\/]|$)/.test(first) ? "runner" : /cmd[\\/]dynamic-provider([\\/]|$)/.test(first) ? "plugin" : undefined;
    if (role && events) {
      const pid = child.pid;
      mark(`${role}-spawn`, pid);
      child.once("exit", () => mark(`${role}-exit`, pid));
    }
    return child;
  };
  return () => {
    cp.spawn = orig;
  };
}

/** Times registrations and plugin calls of the engine whose modules are in DIR (deployment, plugin). */
function instrumentEngine(dir: string): void {
  const dep = require(path.join(dir, "deployment")).Deployment.prototype as Patchable;
  if (dep.__benchPatched) return;
  dep.__benchPatched = true;
  const reg = dep.registerResource as AnyFn;
  dep.registerResource = async function (this: unknown, req: { getType(): string }) {
    const stack = req.getType() === "pulumi:pulumi:Stack";
    mark(stack ? "reg-stack" : "reg");
    try {
      return await reg.call(this, req);
    } finally {
      mark(stack ? "reg-stack-done" : "reg-done");
    }
  };
  const outs = dep.registerResourceOutputs as AnyFn;
  dep.registerResourceOutputs = function (this: unknown, urn: string, o: unknown) {
    mark(urn.includes("::pulumi:pulumi:Stack::") ? "outputs-stack" : "outputs");
    return outs.call(this, urn, o);
  };
  const plugin = require(path.join(dir, "plugin")).DynamicPlugin as Patchable & { prototype: Patchable };
  const start = plugin.start as AnyFn;
  plugin.start = async function (this: unknown, ...a: unknown[]) {
    const p = await start.apply(this, a);
    mark("plugin-ready");
    return p;
  };
  const check = plugin.prototype.check as AnyFn;
  plugin.prototype.check = async function (this: unknown, ...a: unknown[]) {
    mark("check");
    const t0 = epochNow();
    try {
      return await check.apply(this, a);
    } finally {
      mark("check-done", undefined, epochNow() - t0);
    }
  };
}

// ---------------------------------------------------------------- one engine run, summarised
interface ProbeRecord {
  pid: number;
  role: string;
  origin: number;
  probe: number;
  port?: number;
  program?: [number, number];
  modules: Record<string, { ms: number; n: number }>;
  end: number;
  hwmKb?: number;
  cpuMs?: number;
}

const GROUPS: Array<[string, (pkg: string) => boolean]> = [
  ["typescript", (p) => p === "typescript"],
  ["ts-node", (p) => p === "ts-node"],
  ["@pulumi/pulumi", (p) => p === "@pulumi/pulumi"],
  ["gRPC + protobuf", (p) => p.startsWith("@grpc/") || p === "google-protobuf" || p === "protobufjs" || p.startsWith("@protobufjs/")],
  ["@opentelemetry/*", (p) => p.startsWith("@opentelemetry/")],
  ["@npmcli/*, @sigstore/*, pacote…", (p) => p.startsWith("@npmcli/") || p.startsWith("@sigstore/") || ["pacote", "cacache", "npm-registry-fetch", "make-fetch-happen", "tar", "sigstore", "@tufjs/models", "tuf-js"].includes(p)],
  ["other packages", (p) => p !== "bridgelab" && p !== "program"],
  ["bridgelab", (p) => p === "bridgelab"],
  ["the program", (p) => p === "program"],
];

interface ProcSummary {
  /** spawn → the process's performance.timeOrigin (fork, exec, Node's first steps; ±10 ms: timeOrigin is coarse). */
  execMs: number;
  /** timeOrigin → probe: Node's bootstrap. execMs + bootMs: spawn → Node ready. */
  bootMs: number;
  /** Self time loading modules, per group (GROUPS), over the process's life. */
  load: Record<string, number>;
  loadMs: number;
  modules: number;
  /** runner: spawn → the program's require begins / its duration. */
  programAtMs?: number;
  programMs?: number;
  /** plugin: spawn → it printed its port. */
  portMs?: number;
  lifeMs: number;
  hwmMb?: number;
  cpuMs?: number;
}

interface Sample {
  ms: number;
  /** Runner processes this run started (2 for an up with a preview pass). */
  runners: number;
  /** First runner: spawn → first declaration (see the header). */
  programStartMs?: number;
  /** First runner: spawn → the stack's RegisterResource. */
  stackRegMs?: number;
  /** Last runner: first declaration → last registration answered (the resources' steps). */
  stepsMs?: number;
  /** Last runner: last registration answered (or first declaration) → runner exited. */
  exitMs?: number;
  /** Last runner exit (or the start, without a runner) → runEngine returned: plugin stop, state. */
  tailMs: number;
  /** Plugin spawn → Configure answered. */
  pluginReadyMs?: number;
  /** The first Check round trip (loads the provider code in the plugin). */
  firstCheckMs?: number;
  /** The median round trip of the other Checks (no I/O in the plugin: gRPC, (de)serialization, check). */
  checkMs?: number;
  /** Remote runs (BRIDGELAB_TRACE_FILE lines): how many, their summed and their longest time (the first on a host includes dialing SSH). */
  remote?: { calls: number; sumMs: number; maxMs: number };
  /** CPU time of this (the engine's) process during the run. */
  engineCpuMs: number;
  runner?: ProcSummary;
  plugin?: ProcSummary;
}

function summariseProc(r: ProbeRecord, spawnT: number): ProcSummary {
  const load: Record<string, number> = {};
  let loadMs = 0;
  let modules = 0;
  for (const [pkg, e] of Object.entries(r.modules)) {
    const g = GROUPS.find(([, f]) => f(pkg))![0];
    load[g] = (load[g] ?? 0) + e.ms;
    loadMs += e.ms;
    modules += e.n;
  }
  return {
    execMs: r.origin - spawnT,
    bootMs: r.probe - r.origin,
    load,
    loadMs,
    modules,
    programAtMs: r.program ? r.program[0] - spawnT : undefined,
    programMs: r.program ? r.program[1] - r.program[0] : undefined,
    portMs: r.port ? r.port - spawnT : undefined,
    lifeMs: r.end - spawnT,
    hwmMb: r.hwmKb ? r.hwmKb / 1024 : undefined,
    cpuMs: r.cpuMs,
  };
}

function summarise(ev: Ev[], t0: number, t1: number, probes: ProbeRecord[], engineCpuMs: number): Sample {
  const after = (i: number, kinds: string[]) => ev.slice(i + 1).find((e) => kinds.includes(e.kind));
  const spawns = ev.map((e, i) => [e, i] as const).filter(([e]) => e.kind === "runner-spawn");
  const s: Sample = { ms: t1 - t0, runners: spawns.length, tailMs: t1 - t0, engineCpuMs };
  if (spawns.length) {
    const [first, fi] = spawns[0];
    const decl = after(fi, ["reg", "outputs-stack"]);
    if (decl) s.programStartMs = decl.t - first.t;
    const stack = after(fi, ["reg-stack"]);
    if (stack) s.stackRegMs = stack.t - first.t;
    const [last, li] = spawns[spawns.length - 1];
    const exit = ev.find((e) => e.kind === "runner-exit" && e.pid === last.pid);
    const lastDecl = after(li, ["reg", "outputs-stack"]);
    const regsDone = ev.slice(li + 1).filter((e) => e.kind === "reg-done");
    if (lastDecl && regsDone.length) s.stepsMs = regsDone[regsDone.length - 1].t - lastDecl.t;
    if (exit) {
      const from = regsDone.length ? regsDone[regsDone.length - 1].t : lastDecl?.t;
      if (from !== undefined) s.exitMs = exit.t - from;
      s.tailMs = t1 - exit.t;
    }
    const rp = probes.find((p) => p.pid === first.pid);
    if (rp) s.runner = summariseProc(rp, first.t);
  }
  const ps = ev.find((e) => e.kind === "plugin-spawn");
  if (ps) {
    const ready = ev.find((e) => e.kind === "plugin-ready");
    if (ready) s.pluginReadyMs = ready.t - ps.t;
    const pp = probes.find((p) => p.pid === ps.pid);
    if (pp) s.plugin = summariseProc(pp, ps.t);
  }
  const c = ev.findIndex((e) => e.kind === "check");
  const cd = c >= 0 ? after(c, ["check-done"]) : undefined;
  if (c >= 0 && cd) s.firstCheckMs = cd.t - ev[c].t;
  const checks = ev.filter((e) => e.kind === "check-done").map((e) => e.ms!);
  if (checks.length > 1) s.checkMs = median(checks.slice(1));
  return s;
}

// ---------------------------------------------------------------- variants
function makeBefore(rev: string, dir: string): void {
  const git = (...a: string[]) => childProcess.execFileSync("git", a, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  git("worktree", "add", "--detach", dir, rev);
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  // What `npm ci` ran there as prepare: the plugin's precompiled provider (used while current).
  childProcess.execFileSync(process.execPath, [path.join(dir, "scripts", "build.js"), dir], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function removeWorktree(dir: string): void {
  try {
    childProcess.execFileSync("git", ["worktree", "remove", "--force", dir], { cwd: root, stdio: "ignore" });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    childProcess.spawnSync("git", ["worktree", "prune"], { cwd: root, stdio: "ignore" });
  }
}

// ---------------------------------------------------------------- the benchmark
export async function fixedCost(o: FixedCostOptions): Promise<string> {
  const undoSpawn = instrumentSpawn();
  let tmp = "";
  let worktree: string | undefined;
  let box: Awaited<ReturnType<typeof makeSandbox>> | undefined;
  let sshd: Awaited<ReturnType<typeof startSshd>> | undefined;
  const cleanup = async () => {
    await sshd?.stop();
    sshd = undefined;
    await box?.dispose();
    box = undefined;
    if (worktree) removeWorktree(worktree);
    worktree = undefined;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    undoSpawn();
  };
  o.live.cleanup = cleanup;
  try {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-fixedcost-"));
    const variants: Variant[] = [];
    const baseEnv = { PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
    instrumentEngine(path.join(root, "engine"));
    for (const name of o.variants) {
      if (name === "before") {
        console.error(`fixed cost: worktree of ${o.baseline} (its scripts/build.js run)`);
        worktree = path.join(tmp, "before"); // set first: a failed build still removes the worktree
        makeBefore(o.baseline, worktree);
        const engineDir = path.join(worktree, "test", "engine");
        instrumentEngine(engineDir);
        const runBefore = require(path.join(engineDir, "engine")).runEngine as RunEngine;
        variants.push({ name, label: `before (${o.baseline})`, dir: path.join(worktree, "bench", "lab"), lab: true, runEngine: runBefore, env: { ...baseEnv, BRIDGELAB_PROVIDER_LOG: "1" } });
      } else if (name === "after" || name === "after-lazy") {
        const lazy = name === "after-lazy";
        variants.push({ name, label: lazy ? "after, lazy closure code (prototype)" : "after", dir: path.join(__dirname, "lab"), lab: true, runEngine: runAfterEngine, env: baseEnv, preload: lazy ? LAZY : undefined });
      } else {
        const lazy = name === "empty-ts-lazy";
        const label = name === "empty-js" ? "empty program, JS" : name === "sdk-ts" ? "program importing @pulumi/pulumi only, TS" : lazy ? "empty program, TS, lazy closure code (prototype)" : "empty program, TS";
        variants.push({ name, label, dir: path.join(__dirname, lazy ? "empty-ts" : name), lab: false, runEngine: runAfterEngine, env: baseEnv, preload: lazy ? LAZY : undefined });
      }
    }

    box = await makeSandbox("fixedcost");
    sshd = await startSshd(box.name);
    const connection = JSON.stringify(sshd.connection());
    const samples: Record<VariantName, Record<OpKind, Sample[]>> = Object.fromEntries(
      ALL_VARIANTS.map((v) => [v, { preview: [], upSkip: [], upDefault: [], destroy: [] }]),
    ) as never;
    let seq = 0;

    const run = async (v: Variant, op: OpKind, stateFile: string): Promise<Sample> => {
      const probeFile = path.join(tmp, `probe-${seq}.jsonl`);
      const traceFile = path.join(tmp, `trace-${seq++}.jsonl`);
      const nodeOptions = [process.env.NODE_OPTIONS, `--require ${PROBE}`, v.preload && `--require ${v.preload}`].filter(Boolean).join(" ");
      events = [];
      const cpu0 = process.cpuUsage();
      const t0 = epochNow();
      const summary = await v.runEngine({
        op: op === "preview" ? "preview" : op === "destroy" ? "destroy" : "up",
        dir: v.dir,
        stack: "bench",
        stateFile,
        ...(v.lab ? { config: { containers: String(o.n) }, secretConfig: { connection } } : {}),
        env: { ...v.env, BRIDGELAB_BENCH_PROBE: probeFile, BRIDGELAB_TRACE_FILE: traceFile, NODE_OPTIONS: nodeOptions },
        ...(op === "upSkip" ? { skipPreview: true } : {}),
      });
      const t1 = epochNow();
      const cpu = process.cpuUsage(cpu0);
      const ev = events;
      events = undefined;
      if (!summary.ok) throw new Error(`${v.label} ${op} failed: ${summary.error}\n${summary.logs.slice(-20).join("\n")}`);
      if (v.name === "before" && ev.some((e) => e.kind === "check") && !summary.logs.some((l) => /bridgelab: provider code from dist/.test(l))) {
        throw new Error(`${v.label} ${op}: the plugin did not load the precompiled build: ${summary.logs.filter((l) => l.includes("bridgelab:")).join(" | ")}`);
      }
      const probes = fs.existsSync(probeFile) ? fs.readFileSync(probeFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as ProbeRecord) : [];
      const sample = summarise(ev, t0, t1, probes, (cpu.user + cpu.system) / 1000);
      if (fs.existsSync(traceFile)) {
        const ms = fs.readFileSync(traceFile, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { ms: number }).ms);
        sample.remote = { calls: ms.length, sumMs: ms.reduce((a, b) => a + b, 0), maxMs: Math.max(...ms) };
      }
      return sample;
    };

    const total = o.warmup + o.runs;
    for (let r = 0; r < total; r++) {
      const recorded = r >= o.warmup;
      const k = r % variants.length;
      const order = [...variants.slice(k), ...variants.slice(0, k)];
      const ups: OpKind[] = r % 2 ? ["upDefault", "upSkip"] : ["upSkip", "upDefault"];
      for (const v of order) {
        const state = path.join(tmp, `state-${v.name}-${r}.json`);
        const got: Partial<Record<OpKind, Sample[]>> = { preview: [], upSkip: [], upDefault: [], destroy: [] };
        got.preview!.push(await run(v, "preview", path.join(tmp, `preview-${v.name}-${r}.json`)));
        for (const up of ups) {
          got[up]!.push(await run(v, up, state));
          got.destroy!.push(await run(v, "destroy", state));
          if (v.lab) await expectClean(box.sh, `${v.label} destroy`);
        }
        if (recorded) for (const [op, xs] of Object.entries(got)) samples[v.name][op as OpKind].push(...xs!);
        const ms = (op: OpKind) => `${Math.round(got[op]![0].ms)}`;
        console.error(
          `  fixed cost ${recorded ? `run ${r - o.warmup + 1}/${o.runs}` : `warm-up ${r + 1}/${o.warmup}`} ${v.label}: preview ${ms("preview")} ms, up skipPreview ${ms("upSkip")} ms, up ${ms("upDefault")} ms (${got.upDefault![0].runners} runner${got.upDefault![0].runners === 1 ? "" : "s"}), destroy ${Math.round(median(got.destroy!.map((x) => x.ms)))} ms, program start ${Math.round(got.upSkip![0].programStartMs ?? NaN)} ms`,
        );
      }
    }

    const meta = {
      date: new Date().toISOString(),
      cpus: os.cpus().length,
      load: os.loadavg().map((x) => x.toFixed(1)).join(" "),
      node: process.version,
      n: o.n,
      runs: o.runs,
      warmup: o.warmup,
      baseline: o.baseline,
      variants: variants.map((v) => ({ name: v.name, label: v.label, program: path.relative(root, v.dir).startsWith("..") ? `${o.baseline}:bench/lab` : path.relative(root, v.dir) })),
      command: o.command,
    };
    const md = markdown(meta, variants, samples, o);
    fs.mkdirSync(o.outDir, { recursive: true });
    fs.writeFileSync(path.join(o.outDir, "fixed-cost.json"), JSON.stringify({ meta, samples: roundAll(Object.fromEntries(variants.map((v) => [v.name, samples[v.name]]))) }, null, 1) + "\n");
    fs.writeFileSync(path.join(o.outDir, "fixed-cost.md"), md);
    return md;
  } finally {
    o.live.cleanup = undefined;
    await cleanup();
  }
}

// ---------------------------------------------------------------- results
function roundAll(x: unknown): unknown {
  if (typeof x === "number") return Math.round(x * 10) / 10;
  if (Array.isArray(x)) return x.map(roundAll);
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, roundAll(v)]));
  return x;
}

type Samples = Record<VariantName, Record<OpKind, Sample[]>>;

const DESCRIPTIONS: Record<VariantName, (baseline: string) => string> = {
  before: (b) => `\`${b}\`: bench/lab imports ../../provider, TypeScript compiled by ts-node in the runner; the plugin loads scripts/build.js's build; its own engine (test/engine), which has no preview pass`,
  after: () => "this tree: bench/lab imports the package `bridgelab` (dist/, compiled); engine/",
  "empty-ts": () => "bench/empty-ts: `export {}`, declares nothing (the stack is its only resource); engine/",
  "empty-js": () => "bench/empty-js: the same in JavaScript (no ts-node, no TypeScript in the runner)",
  "sdk-ts": () => "bench/sdk-ts: declares nothing but imports @pulumi/pulumi, as any real program does",
  "after-lazy": () => "after, runner and plugin started with bench/prototypes/lazyClosureCode.js (the SDK's code-packaging code, and in the plugin its closure serializer, loaded on first use)",
  "empty-ts-lazy": () => "empty program, TS, with the same prototype",
};

function markdown(meta: Record<string, unknown>, variants: Variant[], samples: Samples, o: FixedCostOptions): string {
  const names = variants.map((v) => v.name);
  const has = (v: VariantName) => names.includes(v);
  const med = (v: VariantName, op: OpKind, f: (s: Sample) => number | undefined): number => {
    const xs = samples[v][op].map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length ? median(xs) : NaN;
  };
  const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "–");
  const msf = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : "–");
  const mb = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} MB` : "–");
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "–");
  const ratioCols = (
    [
      ["after ÷ before", "after", "before"],
      ["after ÷ empty TS", "after", "empty-ts"],
      ["after ÷ empty JS", "after", "empty-js"],
      ["after ÷ SDK only", "after", "sdk-ts"],
      ["prototype: after ÷ after", "after-lazy", "after"],
      ["prototype: after ÷ empty TS", "after-lazy", "empty-ts-lazy"],
    ] as Array<[string, VariantName, VariantName]>
  ).filter(([, a, b]) => has(a) && has(b));

  const lines: string[] = [];
  lines.push(
    `Fixed cost, N = ${o.n} · ${meta.date} · ${meta.cpus} CPUs (load average ${meta.load}) · medians of ${o.runs} runs per variant, rotated, after ${o.warmup} warm-up round${o.warmup === 1 ? "" : "s"} · \`${o.command}\``,
    "",
    `Variants: ${variants.map((v) => `**${v.label}** — ${DESCRIPTIONS[v.name](o.baseline)}`).join("; ")}. bench/lab has ${o.n} containers, over SSH (\`sshd -i\` in a sandbox host).`,
    "",
  );
  /** A row of medians; ratios only in the columns ONLY allows (all by default). */
  const row = (what: string, f: (v: VariantName) => number, fmt: (x: number) => string, only?: (a: VariantName, b: VariantName) => boolean) =>
    `| ${what} | ${names.map((v) => fmt(f(v))).join(" | ")} |${ratioCols.map(([, a, b]) => ` ${!only || only(a, b) ? ratio(f(a), f(b)) : "–"} |`).join("")}`;
  lines.push(`| median | ${variants.map((v) => v.label).join(" | ")} |${ratioCols.map(([h]) => ` ${h} |`).join("")}`, `|---|${names.map(() => "---:").join("|")}|${ratioCols.map(() => "---:|").join("")}`);
  lines.push(row("program start: runner spawned → first declaration (up, skipPreview)", (v) => med(v, "upSkip", (s) => s.programStartMs), msf));
  lines.push(row("program start, in the preview", (v) => med(v, "preview", (s) => s.programStartMs), msf));
  lines.push(row("**preview** (from an empty state)", (v) => med(v, "preview", (s) => s.ms), sec));
  lines.push(row("**up, skipPreview**", (v) => med(v, "upSkip", (s) => s.ms), sec));
  // An engine without a preview pass (before's) runs the program once: no ratio against one with it.
  const runners = (v: VariantName) => med(v, "upDefault", (s) => s.runners);
  lines.push(row("**up, engine default**", (v) => med(v, "upDefault", (s) => s.ms), sec, (a, b) => runners(a) === runners(b)));
  lines.push(`| … program runs (runner processes) in it | ${names.map((v) => String(runners(v))).join(" | ")} |${ratioCols.map(() => " |").join("")}`);
  // The empty programs' destroy has nothing to delete (no program, no plugin): no ratio against them.
  lines.push(row("**destroy**", (v) => med(v, "destroy", (s) => s.ms), sec, (a, b) => b === "before"));
  const cpu = (s: Sample) => (s.runner?.cpuMs ?? 0) + (s.plugin?.cpuMs ?? 0) + s.engineCpuMs;
  lines.push(row("CPU time of an up, skipPreview: runner + plugin + engine", (v) => med(v, "upSkip", cpu), msf));
  lines.push(row("… runner", (v) => med(v, "upSkip", (s) => s.runner?.cpuMs), msf));
  lines.push(row("… plugin", (v) => med(v, "upSkip", (s) => s.plugin?.cpuMs), msf));
  lines.push(row("… engine (this process: gRPC server, state)", (v) => med(v, "upSkip", (s) => s.engineCpuMs), msf));
  lines.push(row("runner peak RSS (VmHWM), up, skipPreview", (v) => med(v, "upSkip", (s) => s.runner?.hwmMb), mb));
  lines.push(row("plugin peak RSS (VmHWM), up, skipPreview", (v) => med(v, "upSkip", (s) => s.plugin?.hwmMb), mb));
  lines.push("");

  // The goal of issue 11: an N = 10 up within 1.5× of the empty program's up. Besides the ratio of
  // medians, the median of the ratios of the runs made side by side (round by round).
  const goalPairs = (
    [
      ["after", "empty-ts"],
      ["after", "empty-js"],
      ["after", "sdk-ts"],
      ["after-lazy", "empty-ts-lazy"],
    ] as Array<[VariantName, VariantName]>
  ).filter(([a, e]) => has(a) && has(e));
  if (goalPairs.length) {
    const label = (v: VariantName) => variants.find((x) => x.name === v)!.label;
    const goal: string[] = [];
    for (const [op, opLabel] of [["upSkip", "skipPreview"], ["upDefault", "engine default"]] as Array<[OpKind, string]>) {
      const parts = goalPairs.map(([a, e]) => {
        const pairs = samples[a][op].map((s, i) => s.ms / samples[e][op][i]?.ms).filter(Number.isFinite);
        const ma = med(a, op, (s) => s.ms);
        const me = med(e, op, (s) => s.ms);
        return `${label(a)} ${sec(ma)} ÷ ${label(e)} ${sec(me)} = **${ratio(ma, me)}** (round by round: ${pairs.length ? `${median(pairs).toFixed(2)}×` : "–"})`;
      });
      goal.push(`up, ${opLabel}: ${parts.join("; ")}`);
    }
    lines.push(`**Goal** (issue 11): an N = ${o.n} up within 1.5× of the empty program's up.`, "", ...goal.map((g) => `- ${g}`), "");
  }


  // Where the time of an up (skipPreview) goes.
  lines.push(
    `Where an up (skipPreview) goes, medians per part (bench/probe.js in the runner and the plugin, the engine's calls timed in the bench process; parts of different runs' medians need not add up exactly):`,
    "",
    `| up, skipPreview | ${variants.map((v) => v.label).join(" | ")} |`,
    `|---|${names.map(() => "---:").join("|")}|`,
  );
  const prow = (what: string, f: (s: Sample) => number | undefined, fmt = msf) => lines.push(`| ${what} | ${names.map((v) => fmt(med(v, "upSkip", f))).join(" | ")} |`);
  prow("runner: spawned → Node ready (fork, exec, Node's bootstrap)", (s) => s.runner && s.runner.execMs + s.runner.bootMs);
  prow("runner: spawned → the program's require begins", (s) => s.runner?.programAtMs);
  prow("runner: the program's require (compile, imports, declarations)", (s) => s.runner?.programMs);
  prow("runner: spawned → stack registered", (s) => s.stackRegMs);
  prow("**program start** (spawned → first declaration)", (s) => s.programStartMs);
  prow("resource steps: first declaration → last registration answered", (s) => s.stepsMs);
  prow("… remote runs over SSH (count)", (s) => s.remote?.calls, (x) => (Number.isFinite(x) ? String(Math.round(x)) : "–"));
  prow("… their summed time (they overlap)", (s) => s.remote?.sumMs);
  prow("… the longest (the first on the host includes dialing SSH)", (s) => s.remote?.maxMs);
  prow("→ runner exited", (s) => s.exitMs);
  prow("runner exited → runEngine returned (plugin stopped, state)", (s) => s.tailMs);
  prow("**up**", (s) => s.ms);
  prow("runner: module loading, all", (s) => s.runner?.loadMs);
  for (const [g] of GROUPS) prow(`runner: … ${g}`, (s) => s.runner?.load[g] ?? 0);
  prow("runner: modules loaded (count)", (s) => s.runner?.modules, (x) => (Number.isFinite(x) ? String(Math.round(x)) : "–"));
  prow("plugin: spawned → port printed (ready to serve)", (s) => s.plugin?.portMs);
  prow("plugin: spawned → Configure answered", (s) => s.pluginReadyMs);
  prow("plugin: first Check round trip (loads the provider code)", (s) => s.firstCheckMs);
  prow("plugin: the other Checks' round trip (gRPC both ways, no I/O)", (s) => s.checkMs);
  prow("plugin: module loading, all", (s) => s.plugin?.loadMs);
  for (const [g] of GROUPS) prow(`plugin: … ${g}`, (s) => s.plugin?.load[g] ?? 0);
  prow("plugin: modules loaded (count)", (s) => s.plugin?.modules, (x) => (Number.isFinite(x) ? String(Math.round(x)) : "–"));
  lines.push(
    "",
    "Wall times on a shared machine swing with its other load (load average in the first line); CPU times swing less: the runner's and the plugin's own (process.cpuUsage at exit, bench/probe.js) and this process's during the run (the engine: gRPC server, state, the plugin client). Rounds rotate the variants, so drift in load spreads over all of them; \"round by round\" ratios pair the runs of one round.",
    "",
    "Module loading is self time per package: reading, compiling (ts-node's compile included, for .ts files) and running a module's top level, minus the modules it requires meanwhile, which count for their own package; resolving paths counts for the requiring module. bridgelab: files outside node_modules other than the program (before: provider/*.ts through ts-node in the runner, the build in the plugin; after: dist/). The runner and the plugin run at the same time on 2 cores.",
    "",
  );
  return lines.join("\n");
}
