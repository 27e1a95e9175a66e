/**
 * npm run bench [-- --sizes 10,50,250 --runs 3 --out bench/results]
 *               [--fixed-cost-only | --no-fixed-cost] [--fixed-cost-runs 5 --fixed-cost-n 10 ...]
 *
 * For each N: bring up and tear down bench/lab (N containers: namespace, veth, address,
 * default route, one published port each, on a bridge with egress NAT) on a sandbox host,
 * through the bundled test engine (up with skipPreview: the deployment pass alone) and the real
 * dynamic-provider plugin, over the SSH
 * transport (a real `sshd -i` inside the sandbox, reached through its proxyCommand). Side by
 * side, in the same sandbox host:
 *   - floor: a hand-written script run once, directly in the sandbox host (nsenter): one
 *     `ip -batch` for the host side, one `ip -n NS -batch` per namespace (iproute2 has no
 *     per-line netns option), one `iptables-restore --noflush` for every rule;
 *   - naive: one new `ssh` connection (through the same proxyCommand) per command;
 *   - docker: real Docker (docker.io) in a sandbox host of its own, `docker run -d -p 0:80` N
 *     times serially and 8 at a time, `docker rm -f` of them all (bench/dockerColumn.ts); skipped,
 *     saying why, where Docker or busybox-static is not installed (or with --no-docker).
 * Remote round trips are the lines of BRIDGELAB_TRACE_FILE. The plugin's peak RSS is VmHWM
 * of the `@pulumi/pulumi/cmd/dynamic-provider` child process, polled every 100 ms from
 * /proc/PID/status while the engine runs (the last sample before it exits is the peak).
 * Results: bench/results/latest.{json,md,svg}.
 *
 * Then (unless --no-fixed-cost; alone with --fixed-cost-only) bench/fixedCost.ts: at N = 10, the
 * fixed cost of an engine run against an empty program's, this tree against --baseline
 * (program start, preview, up with and without the preview pass, destroy, and where they go).
 * Results: bench/results/fixed-cost.{json,md}.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

if (!process.env.BRIDGELAB_SANDBOX_ROOT) process.env.BRIDGELAB_SANDBOX_ROOT = `/run/bridgelab/bench-${process.pid}`;
const sandboxRoot = process.env.BRIDGELAB_SANDBOX_ROOT;

import { runEngine, EngineSummary } from "../engine/engine";
import { macFromIPv4 } from "../provider/host/mac";
import { makeSandbox } from "../test/support/sandboxFixture";
import { startSshd, SshdHost } from "../test/support/sshd";
import { ensureBuild } from "../test/guard/ensureBuild";
import { ALL_VARIANTS, DEFAULT_VARIANTS, fixedCost, type VariantName } from "./fixedCost";
import { expectClean, median, rssPoller } from "./measure";
import { DOCKER_PARALLEL, DockerHost, DockerRow, dockerColumnSkipReason, dockerDownScript, dockerHost, dockerUpParallelScript, dockerUpSerialScript, expectDockerState } from "./dockerColumn";

const labDir = path.join(__dirname, "lab");

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const sizes = arg("sizes", "10,50,250").split(",").map(Number);
const runs = Number(arg("runs", "3"));
const outDir = path.resolve(arg("out", path.join(__dirname, "results")));
const skipNaive = process.argv.includes("--no-naive");
/** Keep each engine run's trace (one JSON line per remote run: host, ms, exit code, first line) in this directory. */
const tracesDir = arg("traces", "");
/** Runs of the naive baseline per N (default: --runs); it is by far the slowest part. */
const naiveRuns = Number(arg("naive-runs", String(runs)));
/** The Docker column: off with --no-docker, skipped (saying why) without Docker; --docker-runs K (default: --runs). */
const dockerSkip: string | undefined = process.argv.includes("--no-docker") ? "--no-docker" : dockerColumnSkipReason();
const dockerRuns = Number(arg("docker-runs", String(runs)));
/** bench/fixedCost.ts: --fixed-cost-only runs it alone, --no-fixed-cost skips it. */
const fixedCostOnly = process.argv.includes("--fixed-cost-only");
const withFixedCost = fixedCostOnly || !process.argv.includes("--no-fixed-cost");
const fixedCostVariants = arg("fixed-cost-variants", DEFAULT_VARIANTS.join(",")).split(",") as VariantName[];
for (const v of fixedCostVariants) if (!ALL_VARIANTS.includes(v)) throw new Error(`--fixed-cost-variants: ${v} is not one of ${ALL_VARIANTS.join(", ")}`);

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
/** The machine's load when the bench started (the figures' noise: other work on the same cores). */
const loadAtStart = os.loadavg().map((x) => x.toFixed(1)).join(" ");

// ---------------------------------------------------------------- sandbox helpers
type Box = Awaited<ReturnType<typeof makeSandbox>>;

/** A shell script run directly in the sandbox host (nsenter), timed. */
async function timedSh(box: Box, script: string): Promise<number> {
  const t0 = performance.now();
  await box.sh(script);
  return performance.now() - t0;
}

// ---------------------------------------------------------------- floor
const SUBNET = "172.30.0.0/16";
const GW = "172.30.0.1";
const addr = (i: number) => `172.30.${Math.floor((10 + i) / 256)}.${(10 + i) % 256}`;
const BR = "brf0";

/** PortPublish's six rules for container I, in the floor's chains. */
function floorRules(i: number): Array<{ table: "nat" | "filter"; chain: string; spec: string }> {
  const a = addr(i);
  const m = `-p tcp -m tcp`;
  return [
    { table: "filter", chain: "BENCHFLOOR-FWD", spec: `-d ${a}/32 ! -i ${BR} -o ${BR} ${m} --dport 5000 -j ACCEPT` },
    { table: "filter", chain: "BENCHFLOOR-FWD", spec: `-d ${a}/32 -i ${BR} -o ${BR} ${m} --dport 5000 -m conntrack --ctstate DNAT -j ACCEPT` },
    { table: "filter", chain: "BENCHFLOOR-FWD", spec: `-s ${a}/32 -i ${BR} ${m} --sport 5000 -m conntrack --ctstate DNAT --ctdir REPLY -j ACCEPT` },
    { table: "nat", chain: "BENCHFLOOR-POST", spec: `-s ${a}/32 -d ${a}/32 ${m} --dport 5000 -j MASQUERADE` },
    { table: "nat", chain: "BENCHFLOOR-POST", spec: `-s ${SUBNET} -d ${a}/32 -o ${BR} ${m} --dport 5000 -m conntrack --ctstate DNAT -j MASQUERADE` },
    { table: "nat", chain: "BENCHFLOOR-DNAT", spec: `${m} --dport ${20000 + i} -j DNAT --to-destination ${a}:5000` },
  ];
}

function floorUp(n: number): string {
  const host = [`link add ${BR} type bridge`, `addr add ${GW}/16 dev ${BR}`, `link set ${BR} up`];
  for (let i = 0; i < n; i++) {
    // As VethPair does: the bridge port in hairpin mode, the container's MAC derived from its address.
    host.push(`netns add fn${i}`, `link add fv${i} type veth peer name eth0 netns fn${i}`, `link set fv${i} master ${BR} up`, `link set fv${i} type bridge_slave hairpin on`);
  }
  const lines = [`set -e`, `ip -batch - <<'EOF'\n${host.join("\n")}\nEOF`];
  for (let i = 0; i < n; i++) {
    lines.push(`ip -n fn${i} -batch - <<'EOF'\nlink set lo up\nlink set eth0 address ${macFromIPv4(addr(i))}\naddr add ${addr(i)}/16 dev eth0\nlink set eth0 up\nroute add default via ${GW}\nEOF`);
  }
  lines.push(`echo 1 > /proc/sys/net/ipv4/ip_forward`);
  const nat = ["*nat", ":BENCHFLOOR-DNAT - [0:0]", ":BENCHFLOOR-POST - [0:0]", "-A PREROUTING -m addrtype --dst-type LOCAL -j BENCHFLOOR-DNAT", "-A OUTPUT -m addrtype --dst-type LOCAL -j BENCHFLOOR-DNAT", "-A POSTROUTING -j BENCHFLOOR-POST", `-A BENCHFLOOR-POST -s ${SUBNET} ! -o ${BR} -j MASQUERADE`];
  const filter = ["*filter", ":BENCHFLOOR-FWD - [0:0]", "-A FORWARD -j BENCHFLOOR-FWD"];
  // Each mapping: the same six rules PortPublish writes (portPublishScripts.ts), without the tags.
  for (let i = 0; i < n; i++) for (const r of floorRules(i)) (r.table === "nat" ? nat : filter).push(`-A ${r.chain} ${r.spec}`);
  lines.push(`iptables-restore --noflush <<'EOF'\n${nat.join("\n")}\nCOMMIT\n${filter.join("\n")}\nCOMMIT\nEOF`);
  return lines.join("\n");
}

function floorDown(n: number): string {
  const host = [];
  for (let i = 0; i < n; i++) host.push(`netns del fn${i}`);
  host.push(`link del ${BR}`);
  const rules = [
    "*nat",
    "-D PREROUTING -m addrtype --dst-type LOCAL -j BENCHFLOOR-DNAT",
    "-D OUTPUT -m addrtype --dst-type LOCAL -j BENCHFLOOR-DNAT",
    "-D POSTROUTING -j BENCHFLOOR-POST",
    "-F BENCHFLOOR-DNAT",
    "-F BENCHFLOOR-POST",
    "-X BENCHFLOOR-DNAT",
    "-X BENCHFLOOR-POST",
    "COMMIT",
    "*filter",
    "-D FORWARD -j BENCHFLOOR-FWD",
    "-F BENCHFLOOR-FWD",
    "-X BENCHFLOOR-FWD",
    "COMMIT",
  ];
  return [`set -e`, `ip -batch - <<'EOF'\n${host.join("\n")}\nEOF`, `iptables-restore --noflush <<'EOF'\n${rules.join("\n")}\nEOF`, `echo 0 > /proc/sys/net/ipv4/ip_forward`].join("\n");
}

// ---------------------------------------------------------------- naive
/** The six rules straight in the built-in chains (a remote-command resource per rule has no chains of its own). */
function naiveRules(i: number): Array<{ table: string; chain: string; spec: string }> {
  const builtin: Record<string, string> = { "BENCHFLOOR-FWD": "FORWARD", "BENCHFLOOR-POST": "POSTROUTING", "BENCHFLOOR-DNAT": "PREROUTING" };
  return floorRules(i).map((r) => ({ table: r.table, chain: builtin[r.chain], spec: r.chain === "BENCHFLOOR-DNAT" ? `-m addrtype --dst-type LOCAL ${r.spec}` : r.spec }));
}

/** The same topology as one command per step, as a remote-command resource per step would run. */
function naiveUpCommands(n: number): string[] {
  const c = [`ip link add ${BR} type bridge`, `ip addr add ${GW}/16 dev ${BR}`, `ip link set ${BR} up`, `sysctl -qw net.ipv4.ip_forward=1`, `iptables -t nat -A POSTROUTING -s ${SUBNET} ! -o ${BR} -j MASQUERADE`];
  for (let i = 0; i < n; i++) {
    const a = addr(i);
    c.push(
      `ip netns add fn${i}`,
      `ip link add fv${i} type veth peer name eth0 netns fn${i}`,
      `ip link set fv${i} master ${BR} up`,
      `ip link set fv${i} type bridge_slave hairpin on`,
      `ip -n fn${i} link set lo up`,
      `ip -n fn${i} link set eth0 address ${macFromIPv4(a)}`,
      `ip -n fn${i} addr add ${a}/16 dev eth0`,
      `ip -n fn${i} link set eth0 up`,
      `ip -n fn${i} route add default via ${GW}`,
      ...naiveRules(i).map((r) => `iptables -t ${r.table} -A ${r.chain} ${r.spec}`),
    );
  }
  return c;
}
function naiveDownCommands(n: number): string[] {
  const c: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    c.push(
      ...naiveRules(i).reverse().map((r) => `iptables -t ${r.table} -D ${r.chain} ${r.spec}`),
      `ip netns del fn${i}`,
    );
  }
  c.push(`iptables -t nat -D POSTROUTING -s ${SUBNET} ! -o ${BR} -j MASQUERADE`, `sysctl -qw net.ipv4.ip_forward=0`, `ip link del ${BR}`);
  return c;
}

function sshOnce(sshd: SshdHost, keyFile: string, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      "ssh",
      ["-F", "/dev/null", "-i", keyFile, "-o", `ProxyCommand=${sshd.proxyCommand}`, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "root@bench", command],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`naive ssh ${command}: exit ${code}: ${err}`))));
  });
}
async function naive(sshd: SshdHost, keyFile: string, commands: string[]): Promise<number> {
  const t0 = performance.now();
  for (const c of commands) await sshOnce(sshd, keyFile, c);
  return performance.now() - t0;
}

// ---------------------------------------------------------------- bridgelab through the engine
interface Measured {
  ms: number;
  calls: number;
  rssKb: number;
  summary: EngineSummary;
}

async function engineOp(ctx: { tmp: string; sshd: SshdHost; n: number }, op: "up" | "destroy" | "refresh" | "preview"): Promise<Measured> {
  const trace = path.join(ctx.tmp, `trace-${op}-${Date.now()}.jsonl`);
  const poll = rssPoller();
  const t0 = performance.now();
  const summary = await runEngine({
    op,
    dir: labDir,
    stack: "bench",
    stateFile: path.join(ctx.tmp, "state.json"),
    config: { containers: String(ctx.n) },
    secretConfig: { connection: JSON.stringify(ctx.sshd.connection()) },
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", BRIDGELAB_TRACE_FILE: trace },
    // The deployment alone, as this series has always measured it: an engine with a preview pass
    // would otherwise run the program twice (fixed-cost.md measures that pass).
    skipPreview: true,
  });
  const ms = performance.now() - t0;
  const rssKb = poll.stop();
  if (!summary.ok) throw new Error(`engine ${op} N=${ctx.n} failed: ${summary.error}\n${summary.logs.slice(-20).join("\n")}`);
  const calls = fs.existsSync(trace) ? fs.readFileSync(trace, "utf8").split("\n").filter(Boolean).length : 0;
  if (tracesDir && fs.existsSync(trace)) {
    fs.mkdirSync(tracesDir, { recursive: true });
    fs.copyFileSync(trace, path.join(tracesDir, `N${ctx.n}-${path.basename(trace)}`));
  }
  return { ms, calls, rssKb, summary };
}

// ---------------------------------------------------------------- main
interface Row {
  n: number;
  runs: number;
  naiveRuns: number;
  bridgelab: { upMs: number; downMs: number; upCalls: number; downCalls: number; upCallsPerContainer: number; unchangedUpCalls: number; unchangedUpChanged: number; refreshCalls: number; resources: number; pluginPeakRssMb: number };
  floor: { upMs: number; downMs: number };
  naive?: { upMs: number; downMs: number; upCommands: number; downCommands: number; commandsPerContainer: number };
  /** Real Docker side by side (bench/dockerColumn.ts), or why it was skipped. */
  docker: DockerRow;
  /** dockerSerialVsUp: Docker's serial up ÷ bridgelab's up (above 1: bridgelab ahead); the same for 8 at a time and for down. */
  ratios: { upVsFloor: number; downVsFloor: number; naiveVsUp?: number; naiveVsDown?: number; dockerSerialVsUp?: number; dockerParallelVsUp?: number; dockerVsDown?: number };
  samples: Record<string, number[]>;
}

async function benchN(n: number): Promise<Row> {
  const box = await makeSandbox(`bench${n}`);
  const sshd = await startSshd(box.name);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bridgelab-bench-${n}-`));
  const keyFile = path.join(tmp, "key");
  fs.writeFileSync(keyFile, sshd.connection().privateKey as string, { mode: 0o600 });
  const s: Record<string, number[]> = { up: [], down: [], floorUp: [], floorDown: [], naiveUp: [], naiveDown: [], dockerUpSerial: [], dockerUpParallel: [], dockerDown: [], rss: [], upCalls: [], downCalls: [] };
  let unchangedUpCalls = -1;
  let unchangedUpChanged = -1;
  let refreshCalls = -1;
  let resources = 0;
  let dockerBox: DockerHost | undefined;
  const cleanup = async () => {
    await sshd.stop();
    await box.dispose();
    await dockerBox?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  live.cleanup = cleanup;
  try {
    // Docker in a sandbox host of its own (its docker0 and rules would be the bench lab's leftovers), idle while the others run.
    if (!dockerSkip) dockerBox = await dockerHost(`benchd${n}`);
    for (let r = 0; r < runs; r++) {
      const ctx = { tmp, sshd, n };
      const up = await engineOp(ctx, "up");
      s.up.push(up.ms);
      s.upCalls.push(up.calls);
      s.rss.push(up.rssKb);
      resources = up.summary.resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic")).length;
      if (r === 0) {
        const again = await engineOp(ctx, "up");
        unchangedUpCalls = again.calls;
        unchangedUpChanged = again.summary.resources.filter((x) => x.op !== "same").length;
        s.rss.push(again.rssKb);
        const refresh = await engineOp(ctx, "refresh");
        refreshCalls = refresh.calls;
        s.rss.push(refresh.rssKb);
      }
      const down = await engineOp(ctx, "destroy");
      s.down.push(down.ms);
      s.downCalls.push(down.calls);
      s.rss.push(down.rssKb);
      await expectClean(box.sh, `bridgelab destroy N=${n}`);
      console.error(`  N=${n} run ${r + 1}: bridgelab up ${Math.round(up.ms)} ms (${up.calls} calls), down ${Math.round(down.ms)} ms (${down.calls} calls), plugin peak ${Math.round(up.rssKb / 1024)} MB`);

      s.floorUp.push(await timedSh(box, floorUp(n)));
      s.floorDown.push(await timedSh(box, floorDown(n)));
      await expectClean(box.sh, `floor N=${n}`);
      console.error(`  N=${n} run ${r + 1}: floor up ${Math.round(s.floorUp[r])} ms, down ${Math.round(s.floorDown[r])} ms`);

      if (!skipNaive && r < naiveRuns) {
        s.naiveUp.push(await naive(sshd, keyFile, naiveUpCommands(n)));
        s.naiveDown.push(await naive(sshd, keyFile, naiveDownCommands(n)));
        await expectClean(box.sh, `naive N=${n}`);
        console.error(`  N=${n} run ${r + 1}: naive up ${Math.round(s.naiveUp[r])} ms, down ${Math.round(s.naiveDown[r])} ms`);
      }

      if (dockerBox && r < dockerRuns) {
        const d = dockerBox;
        const step = async (script: string, containers: number, what: string) => {
          const ms = await d.timed(script);
          await expectDockerState(d, containers, `${what} N=${n}`);
          return ms;
        };
        s.dockerUpSerial.push(await step(dockerUpSerialScript(n), n, "serial up"));
        s.dockerDown.push(await step(dockerDownScript(), 0, "down"));
        s.dockerUpParallel.push(await step(dockerUpParallelScript(n), n, `up ${DOCKER_PARALLEL} at a time`));
        s.dockerDown.push(await step(dockerDownScript(), 0, "down"));
        const last = (k: string) => Math.round(s[k][s[k].length - 1]);
        console.error(`  N=${n} run ${r + 1}: docker up ${last("dockerUpSerial")} ms serially, ${last("dockerUpParallel")} ms ${DOCKER_PARALLEL} at a time, down ${Math.round(s.dockerDown[s.dockerDown.length - 2])} / ${last("dockerDown")} ms`);
      }
    }
  } finally {
    live.cleanup = undefined;
    await cleanup();
  }
  const b = {
    upMs: round(median(s.up), 0),
    downMs: round(median(s.down), 0),
    upCalls: median(s.upCalls),
    downCalls: median(s.downCalls),
    upCallsPerContainer: round(median(s.upCalls) / n),
    unchangedUpCalls,
    unchangedUpChanged,
    refreshCalls,
    resources,
    pluginPeakRssMb: round(Math.max(...s.rss) / 1024, 1),
  };
  const floor = { upMs: round(median(s.floorUp), 0), downMs: round(median(s.floorDown), 0) };
  const nv = skipNaive
    ? undefined
    : { upMs: round(median(s.naiveUp), 0), downMs: round(median(s.naiveDown), 0), upCommands: naiveUpCommands(n).length, downCommands: naiveDownCommands(n).length, commandsPerContainer: round((naiveUpCommands(n).length + naiveDownCommands(n).length) / n) };
  const docker: DockerRow = dockerBox
    ? {
        version: dockerBox.engine.version,
        image: dockerBox.engine.image,
        storageDriver: "vfs",
        parallel: DOCKER_PARALLEL,
        runs: Math.min(runs, dockerRuns),
        upSerialMs: round(median(s.dockerUpSerial), 0),
        upParallelMs: round(median(s.dockerUpParallel), 0),
        downMs: round(median(s.dockerDown), 0),
      }
    : { skipped: dockerSkip ?? "Docker did not start" };
  return {
    n,
    runs,
    naiveRuns: skipNaive ? 0 : Math.min(runs, naiveRuns),
    bridgelab: b,
    floor,
    naive: nv,
    docker,
    ratios: {
      upVsFloor: round(b.upMs / floor.upMs),
      downVsFloor: round(b.downMs / floor.downMs),
      ...(nv ? { naiveVsUp: round(nv.upMs / b.upMs), naiveVsDown: round(nv.downMs / b.downMs) } : {}),
      ...("skipped" in docker
        ? {}
        : { dockerSerialVsUp: round(docker.upSerialMs / b.upMs), dockerParallelVsUp: round(docker.upParallelMs / b.upMs), dockerVsDown: round(docker.downMs / b.downMs) }),
    },
    samples: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map((x) => round(x, 0))])),
  };
}

function markdown(rows: Row[], meta: Record<string, unknown>): string {
  const lines = [
    `Benchmark ${meta.date} · ${meta.cpus} CPUs (load average ${meta.loadAtStart} at the start, ${meta.load} at the end) · medians of ${runs} runs (naive: ${Math.min(runs, naiveRuns)}, docker: ${dockerSkip ? 0 : Math.min(runs, dockerRuns)}) · \`npm run bench -- --sizes ${sizes.join(",")} --runs ${runs}${naiveRuns < runs ? ` --naive-runs ${naiveRuns}` : ""}${!dockerSkip && dockerRuns < runs ? ` --docker-runs ${dockerRuns}` : ""}\``,
    "",
    "| N | bridgelab up | floor up | naive up | up ÷ floor | naive ÷ up | bridgelab down | floor down | naive down | down ÷ floor | naive ÷ down | calls up / down | calls per container (up) | naive cmds per container | unchanged up calls | refresh calls / resources | plugin peak RSS |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const s = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(2)} s`);
  for (const r of rows) {
    lines.push(
      `| ${r.n} | ${s(r.bridgelab.upMs)} | ${s(r.floor.upMs)} | ${s(r.naive?.upMs)} | ${r.ratios.upVsFloor}× | ${r.ratios.naiveVsUp ?? "–"}× | ${s(r.bridgelab.downMs)} | ${s(r.floor.downMs)} | ${s(r.naive?.downMs)} | ${r.ratios.downVsFloor}× | ${r.ratios.naiveVsDown ?? "–"}× | ${r.bridgelab.upCalls} / ${r.bridgelab.downCalls} | ${r.bridgelab.upCallsPerContainer} | ${r.naive?.commandsPerContainer ?? "–"} | ${r.bridgelab.unchangedUpCalls} | ${r.bridgelab.refreshCalls} / ${r.bridgelab.resources} | ${r.bridgelab.pluginPeakRssMb} MB |`,
    );
  }
  // Time per container: whole runs divided by N (the fixed cost of an engine run spread over
  // N), and the marginal cost of the containers added since the previous N (fixed costs cancel).
  lines.push(
    "",
    "| N | up per container | down per container | marginal up per added container (bridgelab / floor) | marginal down per added container (bridgelab / floor) |",
    "|---:|---:|---:|---:|---:|",
  );
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  rows.forEach((r, i) => {
    const p = rows[i - 1];
    const marg = (a: number, b: number) => (p ? ms((a - b) / (r.n - p.n)) : "–");
    const up = p ? `${marg(r.bridgelab.upMs, p.bridgelab.upMs)} / ${marg(r.floor.upMs, p.floor.upMs)}` : "–";
    const down = p ? `${marg(r.bridgelab.downMs, p.bridgelab.downMs)} / ${marg(r.floor.downMs, p.floor.downMs)}` : "–";
    lines.push(`| ${r.n} | ${ms(r.bridgelab.upMs / r.n)} | ${ms(r.bridgelab.downMs / r.n)} | ${up}${p ? ` (N ${p.n}→${r.n})` : ""} | ${down} |`);
  });
  lines.push("", ...dockerMarkdown(rows));
  lines.push("", "Floor: one `ip -batch`, one `ip -n NS -batch` per namespace and one `iptables-restore --noflush`, run directly in the sandbox host. Naive: one new `ssh` connection per command through the same proxyCommand. Up: with skipPreview (the deployment pass alone). Calls: lines of BRIDGELAB_TRACE_FILE. RSS: max VmHWM of the dynamic-provider process, polled every 100 ms.");
  return lines.join("\n") + "\n";
}

/**
 * Docker side by side: bridgelab's up and down against Docker's (serially and 8 at a time), as
 * medians of the same run, and "docker ÷ bridgelab" (above 1: bridgelab is ahead). Or the
 * reason the column was skipped.
 */
function dockerMarkdown(rows: Row[]): string[] {
  const measured = rows.filter((r) => !("skipped" in r.docker));
  if (!measured.length) {
    const why = rows.map((r) => ("skipped" in r.docker ? r.docker.skipped : "")).find(Boolean) ?? "no rows";
    return [`Docker: skipped (${why}).`];
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const d0 = measured[0].docker as Exclude<DockerRow, { skipped: string }>;
  const lines = [
    `Docker ${d0.version} side by side (its own sandbox host, same run; medians of ${d0.runs} runs, down of ${2 * d0.runs}): \`docker run -d -p 0:80\` N times serially and ${d0.parallel} at a time, \`docker rm -f\` of all N; ÷: Docker's time over bridgelab's (above 1: bridgelab ahead).`,
    "",
    `| N | bridgelab up | docker up, serial | docker up, ${d0.parallel} at a time | docker ÷ bridgelab up (serial / ${d0.parallel} at a time) | bridgelab down | docker down | docker ÷ bridgelab down | docker up per container (serial / ${d0.parallel} at a time) |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of measured) {
    const d = r.docker as Exclude<DockerRow, { skipped: string }>;
    lines.push(
      `| ${r.n} | ${s(r.bridgelab.upMs)} | ${s(d.upSerialMs)} | ${s(d.upParallelMs)} | ${r.ratios.dockerSerialVsUp}× / ${r.ratios.dockerParallelVsUp}× | ${s(r.bridgelab.downMs)} | ${s(d.downMs)} | ${r.ratios.dockerVsDown}× | ${(d.upSerialMs / r.n).toFixed(0)} ms / ${(d.upParallelMs / r.n).toFixed(0)} ms |`,
    );
  }
  lines.push(
    "",
    `What Docker does per container that bench/lab does not: a root filesystem (vfs: a copy of the image's busybox), cgroups, a process (busybox httpd) started through containerd and runc, a docker-proxy per address family, /etc/hosts and resolv.conf. What bridgelab does that Docker does not: reach the host over SSH and record every object in Pulumi's state through the engine (program, plugin, a round trip per resource); Docker's daemon is already running, its client talks to a local socket.`,
  );
  return lines;
}

function svg(rows: Row[]): string {
  const W = 680, H = 400, L = 60, R = 170, T = 30, B = 50;
  const series: Array<[string, string, (r: Row) => number | undefined]> = [
    ["bridgelab up", "#1f77b4", (r) => r.bridgelab.upMs],
    ["bridgelab down", "#6baed6", (r) => r.bridgelab.downMs],
    ["floor up", "#2ca02c", (r) => r.floor.upMs],
    ["floor down", "#98df8a", (r) => r.floor.downMs],
    ["naive up", "#d62728", (r) => r.naive?.upMs],
    ["naive down", "#ff9896", (r) => r.naive?.downMs],
    ["docker up (serial)", "#9467bd", (r) => ("skipped" in r.docker ? undefined : r.docker.upSerialMs)],
    ["docker up (8 at once)", "#8c564b", (r) => ("skipped" in r.docker ? undefined : r.docker.upParallelMs)],
    ["docker down", "#c5b0d5", (r) => ("skipped" in r.docker ? undefined : r.docker.downMs)],
  ];
  const maxN = Math.max(...rows.map((r) => r.n));
  const maxY = Math.max(1, ...rows.flatMap((r) => series.map(([, , f]) => f(r) ?? 0))) / 1000;
  const x = (n: number) => L + ((W - L - R) * n) / maxN;
  const y = (s: number) => H - B - ((H - T - B) * s) / maxY;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${L}" y="18" font-size="13">bridgelab bench: wall time against N (medians)</text>`);
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = (maxY * k) / 4;
    out.push(`<text x="${L - 5}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)} s</text><line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/>`);
  }
  for (const r of rows) out.push(`<text x="${x(r.n)}" y="${H - B + 15}" text-anchor="middle">${r.n}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">containers (N)</text>`);
  series.forEach(([name, color, f], i) => {
    const pts = rows.filter((r) => f(r) !== undefined).map((r) => `${x(r.n).toFixed(1)},${y(f(r)! / 1000).toFixed(1)}`);
    if (!pts.length) return;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`);
    for (const p of pts) out.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${color}"/>`);
    out.push(`<rect x="${W - R + 10}" y="${T + i * 18}" width="12" height="3" fill="${color}"/><text x="${W - R + 26}" y="${T + i * 18 + 5}">${name}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function write(rows: Row[]): string {
  const meta = {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    loadAtStart,
    load: os.loadavg().map((x) => x.toFixed(1)).join(" "),
    node: process.version,
    sizes,
    runs,
    naiveRuns,
    dockerRuns: dockerSkip ? 0 : dockerRuns,
    ...(dockerSkip ? { dockerSkipped: dockerSkip } : {}),
    transport: "ssh (sshd -i in the sandbox via proxyCommand)",
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "latest.json"), JSON.stringify({ meta, rows }, null, 2) + "\n");
  const md = markdown(rows, meta);
  fs.writeFileSync(path.join(outDir, "latest.md"), md);
  fs.writeFileSync(path.join(outDir, "latest.svg"), svg(rows));
  return md;
}

async function main(): Promise<void> {
  // Measure what users run: programs and the plugin load bridgelab as a package, its compiled dist/
  // (`npm run bench` has just built it; run directly, bring it up to date here).
  ensureBuild(path.join(__dirname, ".."));
  fs.mkdirSync(sandboxRoot, { recursive: true });
  const rows: Row[] = [];
  let md = "";
  try {
    for (const n of fixedCostOnly ? [] : sizes) {
      console.error(`N=${n}: ${runs} runs`);
      rows.push(await benchN(n));
      md = write(rows); // after every N, so an interrupted run keeps what it measured
    }
    if (withFixedCost) {
      const fc = {
        n: Number(arg("fixed-cost-n", "10")),
        runs: Number(arg("fixed-cost-runs", "5")),
        warmup: Number(arg("fixed-cost-warmup", "1")),
        variants: fixedCostVariants,
        baseline: arg("baseline", "df41cd1"),
      };
      console.error(`fixed cost, N=${fc.n}: ${fc.variants.join(", ")}; ${fc.warmup} warm-up + ${fc.runs} runs each`);
      const flags = ["--fixed-cost-only", `--fixed-cost-n ${fc.n}`, `--fixed-cost-runs ${fc.runs}`, ...(fc.warmup !== 1 ? [`--fixed-cost-warmup ${fc.warmup}`] : []), ...(fc.variants.join(",") !== DEFAULT_VARIANTS.join(",") ? [`--fixed-cost-variants ${fc.variants.join(",")}`] : []), ...(fc.baseline !== "df41cd1" ? [`--baseline ${fc.baseline}`] : [])];
      md += (md ? "\n" : "") + (await fixedCost({ ...fc, outDir, live, command: `npm run bench -- ${flags.join(" ")}` }));
    }
  } finally {
    spawnSync("rmdir", [sandboxRoot]);
  }
  process.stdout.write(md);
  process.exit(0);
}

// Ctrl-C / kill: delete the sandbox host being used (its processes with it) before exiting.
const live: { cleanup?: () => Promise<void> } = {};
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`${sig}: deleting the sandbox host, then exiting`);
    setTimeout(() => process.exit(130), 30000).unref();
    void (live.cleanup?.() ?? Promise.resolve()).finally(() => (spawnSync("rmdir", [sandboxRoot]), process.exit(130)));
  });

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
