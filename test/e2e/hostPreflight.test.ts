import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineSummary, runEngine } from "../../engine/engine";
import { hostSnapshot } from "../support/hostSnapshot";
import { note } from "../support/notes";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";
import { ToolDir, makeToolDir } from "../support/toolDir";

// Know the host before changing it, end to end: the basic lab over SSH (a real sshd in a
// sandbox host whose session PATH is a directory of symlinks) through the engine, its program
// and the real plugin. A host without conntrack and iptables-save is refused before anything
// on it changes; once they are there, the lab is built after one check, an unchanged up makes
// no remote call, and destroy makes no check. The cost of the check is measured on netns-lab.
const repo = path.resolve(__dirname, "..", "..");
let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let tools: ToolDir;
let tmp: string;

beforeAll(async () => {
  box = await makeSandbox("e2e-preflight");
  tools = makeToolDir();
  sshd = await startSshd(box.name, { path: [tools.dir] });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-e2e-preflight-"));
});
afterAll(async () => {
  await sshd?.stop();
  tools?.dispose();
  await box?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const traceFile = () => path.join(tmp, "trace.jsonl");
interface Run {
  host: string;
  ms: number;
  script: string;
}
const trace = (): Run[] => (fs.existsSync(traceFile()) ? fs.readFileSync(traceFile(), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
const isCheck = (r: Run) => r.script === "echo '@@bridgelab about'";
const custom = (file: string) => (JSON.parse(fs.readFileSync(file, "utf8")).resources as Array<{ custom: boolean }>).filter((r) => r.custom);

function basic(op: "up" | "destroy"): Promise<EngineSummary> {
  return runEngine({
    op,
    dir: path.join(repo, "labs"),
    stack: "basic",
    stateFile: path.join(tmp, "basic.json"),
    config: { bridgeName: "brpf", netnsName: "nspf" },
    secretConfig: { connection: JSON.stringify(sshd.connection()) },
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", BRIDGELAB_TRACE_FILE: traceFile() },
  });
}

describe("the host is checked before the first change of a run", () => {
  it("a host without conntrack and iptables-save: up is refused before any change, naming both and their packages", async () => {
    tools.without("conntrack", "iptables-save");
    const before = await hostSnapshot(box.sh);
    const s = await basic("up");
    expect(s.ok).toBe(false);
    const host = `ssh:root@${box.name}:22`;
    for (const line of [
      `${host} lacks what bridgelab runs there, so nothing was changed on it:`,
      "  - iptables, iptables-save, iptables-restore (with -w: iptables 1.6.2 or later) — not found: iptables-save (used by Egress, BridgeIsolation, PortPublish)",
      "  - conntrack — not found: conntrack (used by PortPublish)",
      "  Debian/Ubuntu (this host): apt-get install -y iptables conntrack",
      "  Amazon Linux: dnf install -y iptables-nft conntrack-tools",
    ]) {
      expect(s.error!.split(line)).toHaveLength(2); // said once
    }
    expect(s.error).toContain(`${host} lacks iptables-save, conntrack, so nothing was changed on it (how to install them: the first error of this run, or \`bridgelab doctor\`)`);
    // Both creates were tried, and both failed on the check.
    const dynamic = s.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"));
    expect(dynamic.map((r) => [r.name, r.providerCalls.includes("Create"), r.error !== undefined])).toEqual([
      ["netns", true, true],
      ["bridge", true, true],
    ]);
    expect(await hostSnapshot(box.sh)).toEqual(before);
    expect(custom(path.join(tmp, "basic.json"))).toEqual([]);
    // Both creates waited for the one check: the only remote call of the run.
    expect(trace().map((r) => [r.host, isCheck(r)])).toEqual([[host, true]]);
  });

  it("installed: up builds the lab after one check; an unchanged up makes no remote call; destroy makes no check", async () => {
    tools.restore();
    fs.writeFileSync(traceFile(), "");
    const up = await basic("up");
    expect(up.error).toBeUndefined();
    const runs = trace();
    expect(isCheck(runs[0])).toBe(true);
    expect(runs.filter(isCheck)).toHaveLength(1);
    expect(runs.length).toBe(3); // the check, the namespace, the bridge

    fs.writeFileSync(traceFile(), "");
    const again = await basic("up");
    expect(again.ok).toBe(true);
    expect(again.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.op)).toEqual(["same", "same"]);
    expect(trace()).toEqual([]);

    const down = await basic("destroy");
    expect(down.ok).toBe(true);
    expect(trace().filter(isCheck)).toEqual([]);
    expect(custom(path.join(tmp, "basic.json"))).toEqual([]);
  });

  it("what it costs: one remote call per host per run (measured on netns-lab, a sandbox host)", async () => {
    fs.writeFileSync(traceFile(), "");
    const lab = (op: "up" | "destroy") =>
      runEngine({
        op,
        dir: path.join(repo, "labs"),
        stack: "netns-lab",
        stateFile: path.join(tmp, "netns-lab.json"),
        config: { sandbox: box.name },
        env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", BRIDGELAB_TRACE_FILE: traceFile() },
      });
    const started = Date.now();
    const up = await lab("up");
    const wall = Date.now() - started;
    expect(up.error).toBeUndefined();
    const runs = trace();
    const checks = runs.filter(isCheck);
    expect(checks).toHaveLength(1);
    const remoteMs = runs.reduce((n, r) => n + r.ms, 0);
    note(
      `preflight on netns-lab's up: 1 of ${runs.length} remote calls, ${checks[0].ms} ms ` +
        `(remote calls together ${remoteMs} ms, some in parallel; the whole up ${wall} ms)`,
    );
    expect((await lab("destroy")).ok).toBe(true);
  });
});
