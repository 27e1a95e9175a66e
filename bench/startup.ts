/**
 * npx ts-node --transpile-only bench/startup.ts [--runs 5] [--n 10] [--no-up] [--only plugin,imports,preview,up] [--baseline REV] [--out bench/results]
 *
 * Where the fixed cost of an engine run goes, measured side by side in one run, variants
 * rotated (A B C, B C A, ...) after one unrecorded warm-up of each, medians and ratios.
 * Variants: "ts-node" (BRIDGELAB_PROVIDER_DIST=0: the plugin compiles provider/*.ts at load, as
 * before), "dist" (the precompiled build of scripts/build.js, the default when current) and,
 * with --baseline REV, "before": a copy of this working tree in which the files this
 * benchmark is about (BASELINE_FILES) are as in REV — the same provider code, loaded as before.
 *
 *
 *   1. plugin: the real dynamic-provider plugin (`@pulumi/pulumi/cmd/dynamic-provider`) started
 *      as the test engine starts it, then Check on each of bench/lab's five resource types with
 *      __provider exactly as Pulumi serializes it (the lazyProvider shim) — the first call loads
 *      the provider code. Variant "ts-node" (BRIDGELAB_PROVIDER_DIST=0: compile provider/*.ts at
 *      load, as before) against "dist" (the precompiled build of scripts/build.js). Reported:
 *      start (spawn → Configure answered), load (the five Checks), VmHWM after them.
 *   2. program imports: a fresh node with @pulumi/pulumi and ts-node registered (as cmd/run does
 *      for a TypeScript program) requiring provider/index.ts, against the same after
 *      require("@pulumi/aws") — what every program paid while EcsBridgeService imported it eagerly.
 *   3. preview: runEngine preview of bench/lab (N containers; Check and Diff only, the host is not
 *      touched): the whole fixed cost of a run — program, plugin, provider load — per variant.
 *   4. up (unless --no-up): bench/lab with N containers up and destroyed over SSH on a sandbox
 *      host, as `npm run bench` does; up time and the plugin's peak RSS per variant.
 *
 * The build is brought up to date first (scripts/build.js), so "dist" is really the build.
 * Results: bench/results/startup.{md,json}.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

if (!process.env.BRIDGELAB_SANDBOX_ROOT) process.env.BRIDGELAB_SANDBOX_ROOT = `/run/bridgelab/startup-${process.pid}`;
const sandboxRoot = process.env.BRIDGELAB_SANDBOX_ROOT;

import * as pulumi from "@pulumi/pulumi";
import { runEngine } from "../test/engine/engine";
import { LogSink } from "../test/engine/logs";
import { startServer } from "../test/engine/monitor";
import { DynamicPlugin } from "../test/engine/plugin";
import { makeSandbox } from "../test/support/sandboxFixture";
import { startSshd } from "../test/support/sshd";
import { lazyProvider } from "../provider/resources/lazyProvider";
import { median, rssPoller } from "./measure";

const root = path.join(__dirname, "..");

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const runs = Number(arg("runs", "5"));
const n = Number(arg("n", "10"));
const outDir = path.resolve(arg("out", path.join(__dirname, "results")));
const only = arg("only", "plugin,imports,preview,up").split(",");
const skipUp = process.argv.includes("--no-up") || !only.includes("up");
const baselineRev = arg("baseline", "");

/** The files of the startup work; --baseline takes them from REV (and removes what REV lacks). */
const BASELINE_FILES = ["provider/resources/lazyProvider.ts", "provider/resources/providerLoader.js", "provider/ecs/ecsBridgeService.ts"];

/** A copy of the working tree (what a program and the plugin read) with BASELINE_FILES from rev. */
function makeBaseline(rev: string, dir: string): string {
  for (const d of ["provider", "stacks", "bench/lab"]) fs.cpSync(path.join(root, d), path.join(dir, d), { recursive: true });
  for (const f of ["package.json", "tsconfig.json"]) fs.copyFileSync(path.join(root, f), path.join(dir, f));
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  for (const f of BASELINE_FILES) {
    let text: string | undefined;
    try {
      text = execFileSync("git", ["show", `${rev}:${f}`], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      text = undefined; // not in rev
    }
    if (text === undefined) fs.rmSync(path.join(dir, f), { force: true });
    else fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}



type Variant = "before" | "ts-node" | "dist";
let VARIANTS: Variant[] = ["ts-node", "dist"];
let baselineDir = "";
const envFor = (v: Variant): Record<string, string> => ({ BRIDGELAB_PROVIDER_LOG: "1", ...(v === "ts-node" ? { BRIDGELAB_PROVIDER_DIST: "0" } : {}) });
const rootFor = (v: Variant) => (v === "before" ? baselineDir : root);
const labFor = (v: Variant) => path.join(rootFor(v), "bench", "lab");

/** What the plugin says it loaded (providerLoader.js, BRIDGELAB_PROVIDER_LOG=1); "before" says nothing. */
function loadedVariant(logs: string[]): Variant | "?" {
  const line = logs.find((l) => l.includes("bridgelab: provider code"));
  return !line ? "before" : line.includes("compiled by ts-node") ? "ts-node" : "dist";
}

/**
 * The build brought up to date (a no-op when it is). Others may edit provider/ while this runs:
 * a sample whose plugin did not load the variant it was for (the build went stale under it) is
 * rebuilt and taken again.
 */
function ensureBuild(): string {
  const { build } = require("../scripts/build.js") as { build: (root: string) => { out: string; compiled: number } };
  const b = build(root);
  if (b.compiled) console.error(`  (re)built ${path.relative(root, b.out)}: ${b.compiled} files`);
  return b.out;
}

/** Runs `fn` for every variant, alternating, after one unrecorded warm-up round. */
async function alternate<T>(label: string, rounds: number, fn: (v: Variant) => Promise<{ loaded: Variant | "?"; x: T }>): Promise<Record<Variant, T[]>> {
  const out: Record<Variant, T[]> = { before: [], "ts-node": [], dist: [] };
  for (let r = -1; r < rounds; r++) {
    const k = (r + 1) % VARIANTS.length;
    for (const v of [...VARIANTS.slice(k), ...VARIANTS.slice(0, k)]) {
      for (let attempt = 1; ; attempt++) {
        ensureBuild();
        const { loaded, x } = await fn(v);
        if (loaded !== v) {
          console.error(`  ${label} ${v}: the plugin loaded ${loaded}; again`);
          if (attempt < 4) continue;
          throw new Error(`${label} ${v}: the plugin loaded ${loaded} ${attempt} times`);
        }
        if (r >= 0) out[v].push(x);
        console.error(`  ${label} ${r < 0 ? "warm-up" : `run ${r + 1}`} ${v}: ${JSON.stringify(x)}`);
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- 1. plugin
const types: Array<[string, string, Record<string, unknown>]> = [
  ["netNamespace", "netNamespaceProvider", { name: "bn0" }],
  ["bridge", "bridgeProvider", { name: "brb0", address: "172.30.0.1/16", mtu: 1500 }],
  ["vethPair", "vethPairProvider", { name: "bv0", peerName: "eth0", peerNamespace: "bn0" }],
  ["egress", "egressProvider", { bridge: "brb0", subnet: "172.30.0.0/16" }],
  ["portPublish", "portPublishProvider", { hostPort: 20000, containerIp: "172.30.0.10", containerPort: 5000, protocol: "tcp" }],
];

async function pluginSample(v: Variant, providers: Record<Variant, string[]>): Promise<{ loaded: Variant | "?"; x: { startMs: number; loadMs: number; rssMb: number } }> {
  const logs = new LogSink();
  const server = await startServer({
    registerResource: async () => Promise.reject(new Error("no program")),
    readResource: async () => Promise.reject(new Error("no program")),
    registerResourceOutputs: () => undefined,
    log: (severity, message) => logs.log(severity, message),
  });
  const poll = rssPoller();
  try {
    const t0 = performance.now();
    const plugin = await DynamicPlugin.start({ dir: labFor(v), engineAddr: server.addr, project: "bridgelab", stack: "startup", config: {}, env: envFor(v), logs });
    const t1 = performance.now();
    try {
      for (let i = 0; i < types.length; i++) {
        const [file, , inputs] = types[i];
        const news = { ...inputs, connection: { kind: "sandbox", name: "startup" }, __provider: providers[v][i] };
        // The provider has loaded and run once Check answers; a refusal of these partial inputs
        // (or the plugin failing to encode an undefined output) is an answer too.
        await plugin.check(`urn:pulumi:startup::bridgelab::pulumi-nodejs:dynamic:Resource::${file}`, {}, news as never).catch((e: Error) => {
          if (/not found|Cannot find module|SyntaxError/.test(e.message)) throw e;
        });
      }
      const t2 = performance.now();
      const x = { startMs: Math.round(t1 - t0), loadMs: Math.round(t2 - t1), rssMb: Math.round(poll.stop() / 102.4) / 10 };
      await plugin.kill(); // its stderr (the loader's line) ends up in logs
      await new Promise((r) => setTimeout(r, 100));
      return { loaded: loadedVariant(logs.lines), x };
    } finally {
      await plugin.kill();
    }
  } finally {
    poll.stop();
    await server.stop();
  }
}

// ---------------------------------------------------------------- 2. program imports
function programImports(withAws: boolean): Promise<{ ms: number; rssMb: number }> {
  const script = `
    require("@pulumi/pulumi");
    require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    const t0 = performance.now();
    ${withAws ? `require("@pulumi/aws");` : ""}
    require(${JSON.stringify(path.join(root, "provider", "index.ts"))});
    const ms = performance.now() - t0;
    const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(require("fs").readFileSync("/proc/self/status", "utf8"))[1]);
    process.stdout.write(JSON.stringify({ ms: Math.round(ms), rssMb: Math.round(hwm / 102.4) / 10 }));`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["-e", script], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`program imports: exit ${code}`))));
  });
}

// ---------------------------------------------------------------- 3, 4. engine runs
async function engine(op: "up" | "destroy" | "preview", v: Variant, stateFile: string, connection: unknown): Promise<{ loaded: Variant | "?"; x: { ms: number; rssMb: number } }> {
  const poll = rssPoller();
  const t0 = performance.now();
  const s = await runEngine({
    op,
    dir: labFor(v),
    stack: "bench",
    stateFile,
    config: { containers: String(n) },
    secretConfig: { connection: JSON.stringify(connection) },
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", ...envFor(v) },
  });
  const ms = performance.now() - t0;
  const rss = poll.stop();
  if (!s.ok) throw new Error(`engine ${op} (${v}) failed: ${s.error}\n${s.logs.slice(-20).join("\n")}`);
  return { loaded: loadedVariant(s.logs), x: { ms: Math.round(ms), rssMb: Math.round(rss / 102.4) / 10 } };
}

// ---------------------------------------------------------------- main
const live: { cleanup?: () => Promise<void> } = {};

async function main(): Promise<void> {
  ensureBuild();

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-startup-"));
  if (baselineRev) {
    baselineDir = makeBaseline(baselineRev, path.join(tmp, "before"));
    VARIANTS = ["before", "ts-node", "dist"];
  }
  // __provider as each variant's program would store it (the baseline's own lazyProvider).
  const providers: Record<Variant, string[]> = { before: [], "ts-node": [], dist: [] };
  for (const v of VARIANTS) {
    const lp = (v === "before" ? require(path.join(baselineDir, "provider", "resources", "lazyProvider.ts")).lazyProvider : lazyProvider) as typeof lazyProvider;
    for (const [file, exportName] of types) {
      const shim = lp(path.join(rootFor(v), "provider", "resources", `${file}.ts`), exportName);
      providers[v].push((await pulumi.runtime.serializeFunction(() => shim, { allowSecrets: true })).text);
    }
  }

  const result: Record<string, unknown> = {};
  const table: string[] = [];
  /** One table row: the median per variant, then dist ÷ ts-node and (with a baseline) dist ÷ before. */
  const row = <T>(what: string, unit: "ms" | "MB", samples: Record<Variant, T[]>, f: (x: T) => number) => {
    const m = Object.fromEntries(VARIANTS.map((v) => [v, median(samples[v].map(f))])) as Record<Variant, number>;
    const fmt = (x: number) => `${x.toFixed(unit === "MB" ? 1 : 0)} ${unit}`;
    const ratios = [`${(m.dist / m["ts-node"]).toFixed(2)}×`, ...(baselineDir ? [`${(m.dist / m.before).toFixed(2)}×`] : [])];
    table.push(`| ${what} | ${VARIANTS.map((v) => fmt(m[v])).join(" | ")} | ${ratios.join(" | ")} |`);
  };
  try {
    if (only.includes("plugin")) {
      console.error(`1. plugin start + first load (${runs} runs each)`);
      const p = await alternate("plugin", runs, (v) => pluginSample(v, providers));
      result.plugin = p;
      row("plugin start (spawn → Configure answered)", "ms", p, (x) => x.startMs);
      row("plugin first load: Check on 5 resource types", "ms", p, (x) => x.loadMs);
      row("plugin start + first load", "ms", p, (x) => x.startMs + x.loadMs);
      row("plugin VmHWM after first load", "MB", p, (x) => x.rssMb);
    }

    if (only.includes("imports")) {
      console.error(`2. program imports (${runs} runs each)`);
      const imp: { eager: Array<{ ms: number; rssMb: number }>; lazy: Array<{ ms: number; rssMb: number }> } = { eager: [], lazy: [] };
      for (let r = -1; r < runs; r++) {
        for (const withAws of r % 2 ? [true, false] : [false, true]) {
          const x = await programImports(withAws);
          if (r >= 0) imp[withAws ? "eager" : "lazy"].push(x);
          console.error(`  imports ${r < 0 ? "warm-up" : `run ${r + 1}`} ${withAws ? "eager @pulumi/aws" : "lazy"}: ${JSON.stringify(x)}`);
        }
      }
      result.programImports = imp;
    }

    if (only.includes("preview")) {
      console.error(`3. preview of bench/lab, N=${n} (${runs} runs each)`);
      const pv = await alternate("preview", runs, (v) => engine("preview", v, path.join(tmp, `preview-${v}.json`), { kind: "sandbox", name: "startup-preview" }));
      result.preview = pv;
      row(`engine preview, N=${n} (program + plugin + load, no host work)`, "ms", pv, (x) => x.ms);
      row(`plugin peak RSS during preview, N=${n}`, "MB", pv, (x) => x.rssMb);
    }

    if (!skipUp) {
      console.error(`4. up + destroy of bench/lab, N=${n}, over SSH on a sandbox host (${runs} runs each)`);
      fs.mkdirSync(sandboxRoot, { recursive: true });
      const box = await makeSandbox("startup");
      const sshd = await startSshd(box.name);
      live.cleanup = async () => {
        await sshd.stop();
        await box.dispose();
      };
      try {
        const up = await alternate("up", runs, async (v) => {
          const state = path.join(tmp, `up-${v}.json`);
          const u = await engine("up", v, state, sshd.connection());
          const d = await engine("destroy", v, state, sshd.connection());
          // Both runs must have loaded the variant; a mixed sample is taken again.
          return { loaded: u.loaded === d.loaded ? u.loaded : "?", x: { upMs: u.x.ms, upRssMb: u.x.rssMb, destroyMs: d.x.ms, destroyRssMb: d.x.rssMb } };
        });
        result.up = up;
        row(`engine up, N=${n} (ssh)`, "ms", up, (x) => x.upMs);
        row(`plugin peak RSS during up, N=${n}`, "MB", up, (x) => x.upRssMb);
        row(`engine destroy, N=${n} (ssh)`, "ms", up, (x) => x.destroyMs);
        row(`plugin peak RSS during destroy, N=${n}`, "MB", up, (x) => x.destroyRssMb);
      } finally {
        await live.cleanup();
        live.cleanup = undefined;
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      fs.rmdirSync(sandboxRoot);
    } catch {
      /* never made (--no-up) or not empty */
    }
  }

  const meta = { date: new Date().toISOString(), cpus: os.cpus().length, load: os.loadavg().map((x) => x.toFixed(1)).join(" "), node: process.version, runs, n };
  const md = [
    `Startup benchmark ${meta.date} · ${meta.cpus} CPUs (load average ${meta.load}) · medians of ${runs} runs per variant, rotated · \`npx ts-node --transpile-only bench/startup.ts --runs ${runs} --n ${n}${only.length < 4 ? ` --only ${only.join(",")}` : skipUp ? " --no-up" : ""}${baselineRev ? ` --baseline ${baselineRev}` : ""}\``,
    "",
    "Variants: **ts-node** — the plugin compiles provider/*.ts at load (BRIDGELAB_PROVIDER_DIST=0); **dist** — the precompiled build (`scripts/build.js`), the default when current" +
      (baselineDir ? `; **before** — this working tree with ${BASELINE_FILES.map((f) => `\`${f}\``).join(", ")} as in \`${baselineRev}\` (one shim object per resource, so one closure serialization per resource; @pulumi/aws loaded by every program; ts-node in the plugin).` : "."),
    "",
    `| | ${VARIANTS.join(" | ")} | dist ÷ ts-node |${baselineDir ? " dist ÷ before |" : ""}`,
    `|---|${VARIANTS.map(() => "---:").join("|")}|---:|${baselineDir ? "---:|" : ""}`,
    ...table,
    "",
    ...(result.programImports
      ? [
          "Program side: what a TypeScript program importing bridgelab loads (ts-node registered as cmd/run does), with @pulumi/aws loaded eagerly (as before: EcsBridgeService imported it at module load) and lazily (now).",
          "",
          "| | eager @pulumi/aws | lazy | lazy ÷ eager |",
          "|---|---:|---:|---:|",
          ...importRowsOf(result.programImports as never),
          "",
        ]
      : []),
    "",
  ].join("\n");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "startup.json"), JSON.stringify({ meta, ...result }, null, 2) + "\n");
  fs.writeFileSync(path.join(outDir, "startup.md"), md);
  process.stdout.write(md);
}

function importRowsOf(imp: { eager: Array<{ ms: number; rssMb: number }>; lazy: Array<{ ms: number; rssMb: number }> }): string[] {
  const ie = (k: "ms" | "rssMb") => [median(imp.eager.map((x) => x[k])), median(imp.lazy.map((x) => x[k]))];
  return [
    `| require provider/index.ts under ts-node | ${ie("ms")[0].toFixed(0)} ms | ${ie("ms")[1].toFixed(0)} ms | ${(ie("ms")[1] / ie("ms")[0]).toFixed(2)}× |`,
    `| program process VmHWM after it | ${ie("rssMb")[0].toFixed(1)} MB | ${ie("rssMb")[1].toFixed(1)} MB | ${(ie("rssMb")[1] / ie("rssMb")[0]).toFixed(2)}× |`,
  ];
}

for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    console.error(`${sig}: deleting the sandbox host, then exiting`);
    setTimeout(() => process.exit(130), 30000).unref();
    void (live.cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
