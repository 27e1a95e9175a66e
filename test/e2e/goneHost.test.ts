import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineSummary, runEngine } from "../../engine/engine";
import { deleteSandbox, sandboxExists } from "../../provider/sandbox/sandboxHost";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";

// Destroy when the host is gone, end to end (engine, program, plugin). Two labs (the basic
// stack twice, in two state files, with different names) on one host, then the host goes:
// - a sandbox host deleted: destroy of one lab and refresh of the other succeed and leave both
//   states empty, saying why;
// - an SSH host that cannot be reached any more (the sandbox behind its proxy command is gone,
//   so the command exits at once): destroy and refresh fail naming the host and
//   BRIDGELAB_GONE_HOSTS, keeping the state; with that variable set they succeed, states empty.
const repo = path.resolve(__dirname, "..", "..");
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-e2e-gone-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Op = "up" | "refresh" | "destroy";
function lab(name: "a" | "b", o: { sandbox?: string; connection?: object; env?: Record<string, string> }) {
  return (op: Op): Promise<EngineSummary> =>
    runEngine({
      op,
      dir: path.join(repo, "labs"),
      stack: "basic",
      stateFile: path.join(tmp, `${o.connection ? "ssh" : "sandbox"}-${name}.json`),
      config: { bridgeName: `brgone${name}`, netnsName: `nsgone${name}`, ...(o.sandbox ? { sandbox: o.sandbox } : {}) },
      ...(o.connection ? { secretConfig: { connection: JSON.stringify(o.connection) } } : {}),
      env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", ...o.env },
    });
}
const custom = (s: EngineSummary, file: string) =>
  (JSON.parse(fs.readFileSync(path.join(tmp, file), "utf8")).resources as Array<{ custom: boolean; type: string }>).filter((r) => r.custom).map((r) => r.type.split(":").pop()).sort();
const ok = (s: EngineSummary) => {
  if (!s.ok) throw new Error(`${s.op} failed: ${s.error}\n${s.logs.slice(-20).join("\n")}`);
  return s;
};

describe("destroy when the host is gone", () => {
  it("a sandbox host that no longer exists held nothing: destroy and refresh succeed and empty the state", async () => {
    const box = await makeSandbox("e2e-gone");
    try {
      ok(await lab("a", { sandbox: box.name })("up"));
      ok(await lab("b", { sandbox: box.name })("up"));
    } finally {
      await deleteSandbox(box.name);
    }
    const gone = `sandbox host "${box.name}" no longer exists`;
    const destroy = ok(await lab("a", { sandbox: box.name })("destroy"));
    expect(destroy.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.op)).toEqual(["delete", "delete"]);
    expect(destroy.logs.filter((l) => l.includes(gone))).toHaveLength(1);
    expect(custom(destroy, "sandbox-a.json")).toEqual([]);

    const refresh = ok(await lab("b", { sandbox: box.name })("refresh"));
    expect(refresh.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.op)).toEqual(["gone", "gone"]);
    expect(refresh.logs.some((l) => l.includes(`${gone} (not in `))).toBe(true);
    expect(custom(refresh, "sandbox-b.json")).toEqual([]);
  });

  it("bridgelab down of a lab whose sandbox host was deleted: the destroy forgets it, exit 0, the state empty", async () => {
    const sandbox = `e2e-down-${process.pid}`;
    const stateDir = path.join(tmp, "down");
    const bin = path.join(repo, "bin", "bridgelab.js");
    const cli = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(process.execPath, [bin, ...args, "--engine", "bundled", "--stack", "basic", "--sandbox", sandbox, "--state-dir", stateDir], { encoding: "utf8" }, (err, _out, stderr) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stderr }),
        ),
      );
    try {
      const up = await cli(["up"]);
      if (up.code !== 0) throw new Error(`bridgelab up exited ${up.code}\n${up.stderr}`);
      await deleteSandbox(sandbox);
      const down = await cli(["down"]);
      expect(down.code).toBe(0);
      expect(down.stderr).toContain(`sandbox host "${sandbox}" does not exist, so nothing of the lab is left there; the destroy forgets it`);
      expect(down.stderr).toContain(`sandbox host "${sandbox}" no longer exists (not in `);
      expect(down.stderr).toContain(`lab "basic" on sandbox host "${sandbox}" destroyed (the sandbox host was gone already)`);
      expect((JSON.parse(fs.readFileSync(path.join(stateDir, "basic.json"), "utf8")).resources as Array<{ custom: boolean }>).filter((r) => r.custom)).toEqual([]);
      expect(sandboxExists(sandbox)).toBe(false);
    } finally {
      await deleteSandbox(sandbox);
    }
  });

  describe("an SSH host that cannot be reached", () => {
    let box: Awaited<ReturnType<typeof makeSandbox>>;
    let sshd: SshdHost;
    let a: (op: Op) => Promise<EngineSummary>;
    let b: (op: Op) => Promise<EngineSummary>;
    let host = "";
    beforeAll(async () => {
      box = await makeSandbox("e2e-unreach");
      sshd = await startSshd(box.name);
      const connection = sshd.connection();
      host = `ssh:root@${box.name}:22`;
      ok(await lab("a", { connection })("up"));
      ok(await lab("b", { connection })("up"));
      // The host goes away: its proxy command (nsenter into the sandbox, then sshd -i) now exits at once.
      await sshd.stop();
      await box.dispose();
      a = (op) => lab("a", { connection })(op);
      b = (op) => lab("b", { connection })(op);
    });
    afterAll(async () => {
      await sshd?.stop();
      await box?.dispose();
    });

    it("destroy and refresh fail, naming the host and BRIDGELAB_GONE_HOSTS; nothing is forgotten", async () => {
      const destroy = await a("destroy");
      expect(destroy.ok).toBe(false);
      expect(destroy.error).toContain(`${host}: cannot be reached (`);
      expect(destroy.error).toContain(`run again with BRIDGELAB_GONE_HOSTS=${host} `);
      expect(custom(destroy, "ssh-a.json")).toEqual(["Bridge", "NetNamespace"]);

      const refresh = await b("refresh");
      expect(refresh.ok).toBe(false);
      expect(refresh.error).toMatch(/cannot be read\. .*BRIDGELAB_GONE_HOSTS=ssh:root@/);
      expect(custom(refresh, "ssh-b.json")).toEqual(["Bridge", "NetNamespace"]);
    });

    it("with the host in BRIDGELAB_GONE_HOSTS: destroy and refresh succeed, said in the log, the states empty", async () => {
      const env = { BRIDGELAB_GONE_HOSTS: host };
      const destroy = ok(await lab("a", { connection: sshd.connection(), env })("destroy"));
      expect(destroy.logs.filter((l) => l.includes(`${host} is listed in BRIDGELAB_GONE_HOSTS, so it is treated as gone without being contacted`))).toHaveLength(1);
      expect(custom(destroy, "ssh-a.json")).toEqual([]);

      const refresh = ok(await lab("b", { connection: sshd.connection(), env })("refresh"));
      expect(refresh.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.op)).toEqual(["gone", "gone"]);
      expect(custom(refresh, "ssh-b.json")).toEqual([]);
    });
  });
});
