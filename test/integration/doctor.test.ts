import { execFile } from "node:child_process";
import * as path from "node:path";
import { REQUIREMENTS } from "../../provider/host/requirements";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";
import { ToolDir, makeToolDir } from "../support/toolDir";

// `bridgelab doctor` as users run it (the compiled CLI): a complete sandbox host, and the same
// host reached over SSH with a session PATH that lacks curl and conntrack.
const bin = path.resolve(__dirname, "..", "..", "bin", "bridgelab.js");

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let tools: ToolDir;
beforeAll(async () => {
  box = await makeSandbox("it-doctor");
  tools = makeToolDir();
  tools.without("curl", "conntrack");
  sshd = await startSshd(box.name, { path: [tools.dir] });
});
afterAll(async () => {
  await sshd?.stop();
  tools?.dispose();
  await box?.dispose();
});

describe("bridgelab doctor", () => {
  it("on a complete sandbox host: every requirement ok, exit 0", async () => {
    const r = await cli(["doctor", "--sandbox", box.name]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^sandbox:${box.name}: Debian GNU/Linux \\d+ .*, kernel \\S+, iptables v1\\.\\d+\\.\\d+ \\(nf_tables\\)$`));
    expect(lines.slice(1, -1)).toEqual(REQUIREMENTS.map((req) => `  ok      ${req.name}`));
    expect(lines[lines.length - 1]).toBe("everything bridgelab runs is there");
  });

  it("over SSH to a host without curl and conntrack: names both and how to install them, exit 1", async () => {
    const r = await cli(["doctor", "--connection", JSON.stringify(sshd.connection())]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^ssh:root@${box.name}:22: Debian`));
    expect(lines.filter((l) => !l.startsWith("  ok "))).toEqual([
      lines[0],
      "  missing conntrack — not found: conntrack (used by PortPublish)",
      "  missing curl — not found: curl (used by LabProbe)",
      "2 missing: bridgelab refuses to change this host until it is installed. Install them, then run again:",
      "  Debian/Ubuntu (this host): apt-get install -y conntrack curl",
      "  Amazon Linux: dnf install -y conntrack-tools curl-minimal",
    ]);
    expect(r.stdout).not.toContain("BEGIN OPENSSH PRIVATE KEY");
  });

  it("--json: the same report for scripts", async () => {
    const r = await cli(["doctor", "--json", "--connection", JSON.stringify(sshd.connection())]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ host: `ssh:root@${box.name}:22`, ok: false, facts: { osId: "debian" }, install: ["Debian/Ubuntu (this host): apt-get install -y conntrack curl", "Amazon Linux: dnf install -y conntrack-tools curl-minimal"] });
    expect(doc.results.filter((x: { status: string }) => x.status !== "ok")).toEqual([
      { id: "conntrack", name: "conntrack", status: "missing", detail: "not found: conntrack", usedBy: ["PortPublish"] },
      { id: "curl", name: "curl", status: "missing", detail: "not found: curl", usedBy: ["LabProbe"] },
    ]);
  });

  it("a sandbox host that does not exist, a bad connection and bad flags are said as such", async () => {
    expect(await cli(["doctor", "--sandbox", "no-such-box"])).toMatchObject({ code: 1, stderr: expect.stringContaining('sandbox host "no-such-box" does not exist; create it with') });
    expect(await cli(["doctor", "--connection", '{"kind":"ssh"}'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^bridgelab doctor: invalid connection .*host is missing/) });
    expect(await cli(["doctor", "--connection", "{"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--connection must be a connection object as JSON") });
    expect(await cli(["doctor", "--sandbox", "a", "--connection", "{}"])).toMatchObject({ code: 2, stderr: expect.stringContaining("give --sandbox NAME or --connection JSON, not both") });
    expect(await cli(["doctor", "--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("bridgelab doctor [--sandbox NAME | --connection JSON] [--json]") });
    expect((await cli(["--help"])).stdout).toContain("  doctor    check that a host has everything bridgelab runs there, changing nothing");
  });
});
