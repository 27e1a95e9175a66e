import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineSummary, runEngine } from "../../engine/engine";
import { makeSandbox } from "../support/sandboxFixture";

/**
 * What the lab stacks' end-to-end tests share: a sandbox host and a state file per test
 * file, the stack run through the test engine (real program, real plugin, real kernel), and
 * the checks every lab ends with.
 */
export const repo = path.resolve(__dirname, "..", "..");

export interface LabRun {
  box: Awaited<ReturnType<typeof makeSandbox>>;
  /** Run the stack with its Pulumi.<stack>.yaml plus `config`; fails the test when the operation fails. */
  engine(op: "up" | "preview" | "refresh" | "destroy", config?: Record<string, string>): Promise<EngineSummary>;
  /** The same, returning a failed summary instead of throwing. */
  tryEngine(op: "up" | "preview" | "refresh" | "destroy", config?: Record<string, string>): Promise<EngineSummary>;
  stateFile(): string;
}

/** beforeAll/afterAll of a lab test file: a fresh sandbox host, deleted at the end with all it holds. */
export function useLab(stack: string, prefix: string): LabRun {
  let tmp = "";
  const run: LabRun = {
    box: undefined as never,
    stateFile: () => path.join(tmp, "state.json"),
    tryEngine: (op, config = {}) =>
      runEngine({
        op,
        dir: path.join(repo, "labs"),
        stack,
        stateFile: run.stateFile(),
        config: { sandbox: run.box.name, ...config },
        env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
      }),
    engine: async (op, config = {}) => {
      const s = await run.tryEngine(op, config);
      if (!s.ok) throw new Error(`engine ${op} of stack ${stack} failed: ${s.error}\n${s.logs.slice(-30).join("\n")}`);
      return s;
    },
  };
  beforeAll(async () => {
    run.box = await makeSandbox(prefix);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bridgelab-${prefix}-`));
  });
  afterAll(async () => {
    // Deleting the sandbox host stops its processes and takes every namespace, link and rule with it.
    await run.box?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
  return run;
}

/** Dynamic resources by resource name (type suffix when names repeat): op. */
export function ops(s: EngineSummary): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of s.resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic"))) out[`${r.type.split(":").pop()}:${r.name}`] = r.op;
  return out;
}

/** The resources whose op is not "same". */
export function changed(s: EngineSummary): Record<string, string> {
  return Object.fromEntries(Object.entries(ops(s)).filter(([, op]) => op !== "same"));
}

export interface MatrixRow {
  name: string;
  ok: boolean;
  detail: string;
}

/** The LabProbe matrix is all green, and names what it checked. */
export function expectVerified(s: EngineSummary): MatrixRow[] {
  const matrix = s.outputs.verification as MatrixRow[];
  expect(Array.isArray(matrix)).toBe(true);
  expect(matrix.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
  expect(s.outputs.verificationSummary).toBe(`${matrix.length}/${matrix.length} paths as expected`);
  return matrix;
}

/** `ip -j …` inside the sandbox host, parsed. */
export async function ipJson<T = Record<string, unknown>>(box: LabRun["box"], args: string): Promise<T[]> {
  const out = (await box.sh(`ip -j ${args} 2>/dev/null || echo '[]'`)).trim();
  return JSON.parse(out || "[]") as T[];
}

export interface AddrInfo {
  ifname: string;
  mtu: number;
  ifindex: number;
  address: string;
  master?: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

/** An interface's IPv4 CIDRs, MAC and MTU, in the host or in a namespace. */
export async function iface(box: LabRun["box"], name: string, netns?: string): Promise<{ cidrs: string[]; mac: string; mtu: number; ifindex: number; master?: string } | undefined> {
  const [a] = await ipJson<AddrInfo>(box, `${netns ? `-n ${netns} ` : ""}addr show dev ${name}`);
  if (!a) return undefined;
  return { cidrs: a.addr_info.filter((x) => x.family === "inet").map((x) => `${x.local}/${x.prefixlen}`), mac: a.address, mtu: a.mtu, ifindex: a.ifindex, master: a.master };
}

export const netnsList = async (box: LabRun["box"]) =>
  (await box.sh("ip netns list"))
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean)
    .sort();

/** `curl` from the sandbox's outside (the stand-in internet): the body, or "FAILED". */
export const curlFromOutside = async (box: LabRun["box"], target: string) => (await box.outside(`curl -s --max-time 3 http://${target}/ || echo FAILED`)).trim();

/** Whether a process is alive, by pid (sandbox hosts share the machine's PID namespace). */
export const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));

/**
 * After destroy: nothing of the lab is left on the host — no namespace, no link but the
 * sandbox's own, no bridgelab rule or chain, forwarding back off, no process, no pid file —
 * and the state holds no resource.
 */
export async function expectNothingLeft(run: LabRun, pids: number[]): Promise<void> {
  const { box } = run;
  expect(await netnsList(box)).toEqual([]);
  expect((await ipJson<{ ifname: string }>(box, "link")).map((l) => l.ifname).sort()).toEqual(["eth0", "lo"]);
  expect(await box.sh("iptables-save")).not.toMatch(/BRIDGELAB|bridgelab/);
  expect((await box.sh("cat /proc/sys/net/ipv4/ip_forward")).trim()).toBe("0");
  expect((await box.sh("ls /run/bridgelab/proc 2>/dev/null || true")).trim()).toBe("");
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(alive(pid)).toBe(false);
  const state = JSON.parse(fs.readFileSync(run.stateFile(), "utf8"));
  expect(state.resources.filter((r: { custom: boolean }) => r.custom)).toEqual([]);
}
