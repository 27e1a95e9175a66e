import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineSummary, runEngine } from "../../engine/engine";
import { alive, changed, expectVerified, iface, ops } from "../e2e/labHarness";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, sshdPidsUsing, startSshd } from "../support/sshd";
import {
  Box,
  CYCLES,
  CycleFigures,
  HostSnapshot,
  childrenOfThisProcess,
  hostSnapshot,
  labNamespaceIds,
  processesInSandbox,
  settle,
  sshSessionsGone,
  summaryLine,
} from "./soakSupport";

// Soak (issue 7): CYCLES (20) cycles of up / in-place update (MTU) / destroy of the full
// netns-lab through the test engine — the real program runner and a real dynamic-provider
// plugin process per run — over the SSH transport (sshd -i inside the sandbox host). After
// every cycle the host is exactly as before the first (namespaces, links, addresses, routes,
// rules, forwarding, /run), no process lives in the host's namespaces (nor in the lab's,
// which a process would keep alive), no sshd session, plugin or program process is left.
// Inside each plugin, BRIDGELAB_DEBUG_HANDLES_FILE reports after every host operation its
// open file descriptors and SSH connections: they must not grow within a run nor from cycle
// to cycle, and every run holds at most one SSH connection to the host.
const repo = path.resolve(__dirname, "..", "..");
const ALL = ["Bridge:br0", "Egress:br0", "NetNamespace:netns0", "NetNamespace:netns1", "VethPair:netns0-ceth0", "VethPair:netns1-ceth1", "Process:netns0", "PortPublish:netns0-tcp-5000", "LabProbe:verification"];
/** fds an operation may hold above the run's first sample (a gRPC stream, a pipe of a run in flight). */
const FD_SLACK = 4;

interface Handles {
  pid: number;
  fds: number;
  sockets: number;
  pipes: number;
  sshOpen: number;
  sshDials: number;
  sshHeld: number;
}

let box: Box;
let sshd: SshdHost;
let tmp: string;
let baseline: HostSnapshot;
const figures: CycleFigures[] = [];
const pluginPids = new Set<number>();
let failedAt = 0;

beforeAll(async () => {
  box = await makeSandbox("soak-engine");
  sshd = await startSshd(box.name);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-soak-engine-"));
  baseline = await hostSnapshot(box);
});
afterAll(async () => {
  if (figures.length) process.stderr.write(summaryLine("netns-lab engine up/update/destroy over SSH", figures) + "\n");
  await sshd?.stop();
  await box?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function engine(op: "up" | "destroy", cycle: number, phase: string, config: Record<string, string> = {}): Promise<{ s: EngineSummary; handles: Handles[] }> {
  const handlesFile = path.join(tmp, `handles-${cycle}-${phase}.jsonl`);
  const s = await runEngine({
    op,
    dir: path.join(repo, "labs"),
    stack: "netns-lab",
    stateFile: path.join(tmp, "state.json"),
    // Over SSH the stack cannot know the host's public address; the sandbox's uplink is it.
    config: { publicAddress: "198.51.100.2", ...config },
    secretConfig: { connection: JSON.stringify(sshd.connection()) },
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", BRIDGELAB_DEBUG_HANDLES_FILE: handlesFile },
  });
  if (!s.ok) throw new Error(`cycle ${cycle}: engine ${phase} failed: ${s.error}\n${s.logs.slice(-30).join("\n")}\n--- sshd log tail\n${sshd.log().split("\n").slice(-20).join("\n")}`);
  const handles = fs.existsSync(handlesFile) ? fs.readFileSync(handlesFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Handles) : [];
  return { s, handles };
}

/** The plugin's file descriptors and SSH connections over one run. */
function checkPlugin(phase: string, handles: Handles[], leaks: string[]): { peak: number; dials: number } {
  // One plugin process per run, a new one each time, and it reported.
  expect(handles.length).toBeGreaterThan(0);
  const pids = [...new Set(handles.map((h) => h.pid))];
  expect(pids).toHaveLength(1);
  expect(pluginPids.has(pids[0])).toBe(false);
  pluginPids.add(pids[0]);
  const first = handles[0].fds;
  const peak = Math.max(...handles.map((h) => h.fds));
  const dials = handles[handles.length - 1].sshDials;
  if (peak > first + FD_SLACK) leaks.push(`${phase}: plugin fds grew from ${first} to ${peak} over ${handles.length} operations: ${handles.map((h) => h.fds).join(",")}`);
  const maxOpen = Math.max(...handles.map((h) => h.sshOpen));
  if (maxOpen > 1) leaks.push(`${phase}: plugin held ${maxOpen} SSH connections to one host at once`);
  // The last operation to finish reports after every other one closed its transport.
  const last = handles[handles.length - 1];
  if (last.sshHeld !== 0) leaks.push(`${phase}: ${last.sshHeld} SSH transport(s) still open after the last operation`);
  // Dials are reported, not bounded: the pool closes a connection nobody used for a second
  // (LINGER_MS) and dials again, so their number depends on the machine's load.
  return { peak, dials };
}

describe(`soak: ${CYCLES} cycles of netns-lab up / update / destroy through the engine over SSH`, () => {
  it("the sandbox host at rest has no lab and no process in its namespaces", () => {
    expect(baseline.netns).toEqual([]);
    expect(baseline.rules.filter((r) => /bridgelab/i.test(r))).toEqual([]);
    expect(processesInSandbox(box)).toEqual([]);
  });

  it.each(Array.from({ length: CYCLES }, (_, i) => i + 1))("cycle %i: up, MTU update, destroy; the host is back to its baseline and nothing leaks", async (cycle) => {
    if (failedAt) throw new Error(`not run: cycle ${failedAt} failed`);
    failedAt = cycle;
    const started = Date.now();
    const leaks: string[] = [];

    // up: the whole lab, verified path by path by its LabProbe.
    const up = await engine("up", cycle, "up");
    expect(ops(up.s)).toEqual(Object.fromEntries(ALL.map((r) => [r, "create"])));
    expectVerified(up.s);
    const labNetns = await labNamespaceIds(box);
    expect(labNetns).toHaveLength(2);
    const pids = (await box.sh("cat /run/bridgelab/proc/*.pid")).split("\n").filter(Boolean).map((l) => Number(l.split(" ")[0]));
    expect(pids).toHaveLength(1);
    expect(alive(pids[0])).toBe(true);

    // update in place: the MTU of the bridge and both veths; LabProbe re-verifies.
    const upd = await engine("up", cycle, "update", { mtu: "1400" });
    expect(changed(upd.s)).toEqual({ "Bridge:br0": "update", "VethPair:netns0-ceth0": "update", "VethPair:netns1-ceth1": "update", "LabProbe:verification": "update" });
    expect(await iface(box, "br0")).toMatchObject({ mtu: 1400 });
    expect(await iface(box, "ceth1", "netns1")).toMatchObject({ mtu: 1400 });
    expectVerified(upd.s);

    // destroy: everything deleted.
    const down = await engine("destroy", cycle, "destroy");
    expect(ops(down.s)).toEqual(Object.fromEntries(ALL.map((r) => [r, "delete"])));
    const state = JSON.parse(fs.readFileSync(path.join(tmp, "state.json"), "utf8"));
    expect(state.resources.filter((r: { custom: boolean }) => r.custom)).toEqual([]);

    // The host: exactly its baseline.
    expect(await hostSnapshot(box)).toEqual(baseline);
    // Processes: the server, the sshd sessions of the three runs (they end once the plugin's
    // end of the pipe closes), the plugin and program processes of the engine.
    expect(alive(pids[0])).toBe(false);
    await sshSessionsGone(sshd.dir);
    expect(sshdPidsUsing(sshd.dir)).toEqual([]);
    await settle(() => processesInSandbox(box, labNetns).length === 0);
    expect(processesInSandbox(box, labNetns)).toEqual([]);
    expect(childrenOfThisProcess().filter((c) => /pulumi|dynamic-provider|nsenter|sshd/.test(c))).toEqual([]);

    // The plugins: no fd or connection growth within a run, at most one SSH connection.
    const peakFds: Record<string, number> = {};
    const dials: Record<string, number> = {};
    for (const [phase, run] of [["up", up], ["update", upd], ["destroy", down]] as const) {
      const p = checkPlugin(phase, run.handles, leaks);
      peakFds[phase] = p.peak;
      dials[phase] = p.dials;
    }
    // …nor from cycle to cycle (each run is a new process: a growth here is per-host state).
    if (figures.length) {
      const first = figures[0];
      for (const phase of Object.keys(peakFds)) {
        if (peakFds[phase] > first.peakFds[phase] + FD_SLACK) leaks.push(`${phase}: plugin peak fds ${peakFds[phase]} in cycle ${cycle}, ${first.peakFds[phase]} in cycle 1`);
      }
    }
    figures.push({ cycle, peakFds, dials, seconds: (Date.now() - started) / 1000, leaks });
    expect(leaks).toEqual([]);
    failedAt = 0;
  }, 300_000);

  it(`ran all ${CYCLES} cycles with no leak`, () => {
    expect(figures).toHaveLength(CYCLES);
    expect(figures.flatMap((f) => f.leaks)).toEqual([]);
  });
});
