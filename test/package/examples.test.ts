import * as fs from "node:fs";
import * as path from "node:path";
import { note } from "../support/notes";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";
import {
  PackageJson,
  RunResult,
  bridgelab,
  copyProject,
  exampleNames,
  examplesDir,
  npmInstall,
  packTarball,
  readJson,
  run,
  secs,
  setStackConfig,
  tail,
  tempDir,
  traceLines,
  typeCheck,
  uncoveredInstallScripts,
  unionOfExamples,
  version,
} from "./packageSupport";

// bridgelab as users get it: `npm pack` of this repository, installed from the tarball into a
// project outside the repository with @pulumi/pulumi from the registry; then what a user does
// there: `npx bridgelab new` for each example, the examples type-checked with their own strict
// tsconfig against the shipped .d.ts, plain `node -e 'require("bridgelab")'`, and two examples
// run through `npx bridgelab engine` on sandbox hosts (netns-lab on the sandbox connection,
// docker-lab-ssh over SSH to a real sshd inside the sandbox): up, an unchanged up with zero
// remote calls, refresh, and destroy from a copy of the project at another path, leaving nothing.
//
// One install serves every project: the workspace holds node_modules, the projects are its
// subdirectories. This file installs the examples that need no @pulumi/aws (so that the
// "without @pulumi/aws" checks are real); ecsAndReadme.test.ts installs the ones that do.
const SLOW = 10 * 60_000;
const timings: string[] = [];
let tmp: ReturnType<typeof tempDir>;
let ws = "";
let tarball = "";
let install = "";
const scaffolds: Record<string, { dir: string; result: RunResult }> = {};

/** The environment of a user's shell: this process's, without what jest adds. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ["NODE_ENV", "JEST_WORKER_ID", "NODE_OPTIONS"]) if (!(k in extra)) delete env[k];
  return env;
}

beforeAll(async () => {
  tmp = tempDir("package");
  const t0 = Date.now();
  tarball = await packTarball(tmp.dir);
  timings.push(`npm pack ${secs(Date.now() - t0)}`);
  ws = path.join(tmp.dir, "ws");
  fs.mkdirSync(ws);
  const names = exampleNames().filter((n) => !Object.keys(readJson<PackageJson>(path.join(examplesDir, n, "package.json")).dependencies ?? {}).includes("@pulumi/aws"));
  const i = await npmInstall(ws, unionOfExamples(names, tarball), { env: userEnv() });
  install = i.output;
  timings.push(`npm install (${names.join(", ")}) ${secs(i.ms)}`);
  // `npx bridgelab new` for every example, as a user starts a project: DIR names the project.
  for (const example of exampleNames()) {
    const dir = path.join(ws, `my-${example}`);
    const result = await bridgelab(["new", dir, "--example", example, "--bridgelab", `file:${tarball}`], { cwd: ws, env: userEnv() });
    scaffolds[example] = { dir, result };
  }
}, SLOW);

afterAll(() => {
  tmp?.dispose();
  note(`timings: ${timings.join(" · ")}`);
});

describe("the examples as shipped", () => {
  it("each is a standalone Pulumi TypeScript project: Pulumi.yaml, Pulumi.dev.yaml, package.json, a strict tsconfig, index.ts, README.md", () => {
    const names = exampleNames();
    expect(names).toEqual(expect.arrayContaining(["netns-lab", "docker-lab-ssh", "ecs-bridge"]));
    for (const n of names) {
      const dir = path.join(examplesDir, n);
      const missing = ["Pulumi.yaml", "Pulumi.dev.yaml", "package.json", "tsconfig.json", "index.ts", "README.md"].filter((f) => !fs.existsSync(path.join(dir, f)));
      expect({ example: n, missing }).toEqual({ example: n, missing: [] });
      const yaml = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
      expect(yaml).toMatch(new RegExp(`^name: ${n}$`, "m"));
      expect(yaml).toMatch(/^description: \S.*$/m);
      expect(yaml).toMatch(/^runtime: nodejs$/m);
      const pkg = readJson<PackageJson>(path.join(dir, "package.json"));
      expect(pkg.name).toBe(n);
      expect(pkg.main).toBe("index.ts");
      expect(pkg.dependencies).toMatchObject({ bridgelab: `^${version}`, "@pulumi/pulumi": expect.any(String) });
      expect(pkg.devDependencies).toMatchObject({ typescript: "5.9.3", "ts-node": "10.9.2", "@types/node": expect.any(String) });
      expect(pkg.allowScripts).toEqual({ "cpu-features": false, protobufjs: false, ssh2: false });
      const tsconfig = readJson<{ compilerOptions: Record<string, unknown>; files: string[] }>(path.join(dir, "tsconfig.json"));
      expect(tsconfig.compilerOptions.strict).toBe(true);
      expect(tsconfig.compilerOptions).not.toHaveProperty("skipLibCheck");
      expect(tsconfig.files).toEqual(["index.ts"]);
    }
    expect(readJson<PackageJson>(path.join(examplesDir, "ecs-bridge", "package.json")).dependencies).toMatchObject({ "@pulumi/aws": "^7" });
  });
});

describe("bridgelab installed from the tarball", () => {
  it("npm install runs no dependency's install script: the examples' allowScripts covers ssh2, cpu-features and protobufjs", () => {
    // bridgelab itself has none (it is built by `prepack`, before the tarball is made).
    expect(uncoveredInstallScripts(install)).toEqual([]);
    expect(fs.existsSync(path.join(ws, "node_modules", "ssh2"))).toBe(true);
  });

  it("loads in plain node: require(\"bridgelab\") with no TypeScript and no Pulumi run", async () => {
    const r = await run(
      process.execPath,
      ["-e", `const b = require("bridgelab"); console.log(JSON.stringify(Object.keys(b).sort())); console.log(Object.keys(require.cache).some((k) => k.includes("@pulumi/aws")))`],
      { cwd: ws, env: userEnv() },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [keys, loadedAws] = r.stdout.trim().split("\n");
    expect(JSON.parse(keys)).toEqual(expect.arrayContaining(["Bridge", "Container", "Egress", "LabProbe", "NetNamespace", "Network", "PortPublish", "Process", "VethPair", "connectionFromConfig", "helloServerCommand"]));
    expect(loadedAws).toBe("false");
  });

  it("bridgelab/ecs without @pulumi/aws: loading it works (its pure parts), and EcsBridgeService fails naming the missing @pulumi/aws", async () => {
    expect(fs.existsSync(path.join(ws, "node_modules", "@pulumi", "aws"))).toBe(false);
    const script = `
      let ecs;
      try { ecs = require("bridgelab/ecs"); } catch (e) { console.log("REQUIRE " + e.message.split("\\n")[0]); process.exit(0); }
      console.log("LOADED " + Object.keys(ecs).length);
      try {
        new ecs.EcsBridgeService("web", { vpcId: "vpc-1", subnetIds: ["subnet-1"], containers: [{ name: "nginx", image: "nginx:alpine", portMappings: [{ containerPort: 80, hostPort: 8080 }] }] });
        console.log("CONSTRUCTED");
      } catch (e) { console.log("CONSTRUCT " + e.message.split("\\n")[0]); }`;
    const r = await run(process.execPath, ["-e", script], { cwd: ws, env: userEnv() });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^LOADED [1-9]/);
    expect(lines[1]).toBe("CONSTRUCT EcsBridgeService [web] needs @pulumi/aws, an optional peer dependency of bridgelab: install it in the project (`npm install @pulumi/aws@^7`)");
  });

  it("npx bridgelab new makes a project from each example: renamed after DIR, depending on the given bridgelab, config namespace renamed", async () => {
    const list = await bridgelab(["new", "--list"], { cwd: ws, env: userEnv() });
    expect(list.code).toBe(0);
    for (const example of exampleNames()) {
      expect(list.stdout).toMatch(new RegExp(`^${example}\\s+\\S`, "m"));
      const { dir, result } = scaffolds[example];
      expect([example, result.code, result.stderr]).toEqual([example, 0, ""]);
      const project = path.basename(dir);
      expect(result.stdout).toContain(`from example "${example}"`);
      const shipped = path.join(ws, "node_modules", "bridgelab", "examples", example);
      const files = fs.readdirSync(shipped).sort();
      expect(fs.readdirSync(dir).sort()).toEqual(files);
      const pkg = readJson<PackageJson>(path.join(dir, "package.json"));
      expect(pkg.name).toBe(project);
      expect(pkg.dependencies!.bridgelab).toBe(`file:${tarball}`);
      expect(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")).toMatch(new RegExp(`^name: ${project}$`, "m"));
      // Keys in the example's own namespace follow the project; bridgelab:, aws: stay.
      const stack = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
      expect(stack).not.toMatch(new RegExp(`^\\s*(#\\s*)?${example}:`, "m"));
      expect(fs.readFileSync(path.join(dir, "index.ts"), "utf8")).toBe(fs.readFileSync(path.join(examplesDir, example, "index.ts"), "utf8"));
    }
    expect(fs.readFileSync(path.join(scaffolds["docker-lab-ssh"].dir, "Pulumi.dev.yaml"), "utf8")).toMatch(/^ {2}my-docker-lab-ssh:host: /m);
    expect(fs.readFileSync(path.join(scaffolds["netns-lab"].dir, "Pulumi.dev.yaml"), "utf8")).toMatch(/^ {2}bridgelab:sandbox: /m);
    expect(scaffolds["netns-lab"].result.stdout).toContain("npx bridgelab sandbox create bridgelab");
    // The default example, and a misspelt one.
    const dflt = await bridgelab(["new", path.join(ws, "default-project")], { cwd: ws, env: userEnv() });
    expect(dflt.code).toBe(0);
    expect(dflt.stdout).toContain('from example "netns-lab"');
    const typo = await bridgelab(["new", path.join(ws, "typo-project"), "--example", "netns-lba"], { cwd: ws, env: userEnv() });
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("did you mean netns-lab?");
  });

  it.each(["netns-lab", "docker-lab-ssh"])(
    "%s type-checks with its own strict tsconfig against the shipped .d.ts (no skipLibCheck)",
    async (example) => {
      const r = await typeCheck(scaffolds[example].dir, userEnv());
      timings.push(`tsc ${example} ${secs(r.ms)}`);
      expect(r.diagnostics).toBe("");
    },
    SLOW,
  );
});

interface Summary {
  ok: boolean;
  error?: string;
  resources: Array<{ type: string; name: string; op: string; changes?: string[] }>;
  outputs: Record<string, unknown>;
  logs: string[];
}

/** `npx bridgelab engine OP --json` in a project directory; the parsed summary. */
async function engine(dir: string, op: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Summary & { ms: number }> {
  const r = await bridgelab(["engine", op, "--json", ...extra], { cwd: dir, env: userEnv(env), timeoutMs: 300_000 });
  let s: Summary;
  try {
    s = JSON.parse(r.stdout) as Summary;
  } catch {
    throw new Error(`engine ${op} in ${dir} printed no summary (exit ${r.code}):\n${tail(r.stdout, 40)}\n${tail(r.stderr, 40)}`);
  }
  if (!s.ok || r.code !== 0) throw new Error(`engine ${op} in ${dir} failed (exit ${r.code}): ${s.error}\n${tail(r.stderr, 40)}`);
  return { ...s, ms: r.ms };
}

const custom = (s: Summary) => s.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"));

/** Nothing of a lab left on the sandbox host: no namespace, no link but its own, no bridgelab rule, no workload. */
async function expectHostClean(box: Awaited<ReturnType<typeof makeSandbox>>): Promise<void> {
  expect((await box.sh("ip netns list")).trim()).toBe("");
  expect(
    (JSON.parse(await box.sh("ip -j link")) as Array<{ ifname: string }>)
      .map((l) => l.ifname)
      .sort(),
  ).toEqual(["eth0", "lo"]);
  expect((await box.sh("iptables-save")).split("\n").filter((l) => /bridgelab/i.test(l))).toEqual([]);
  expect((await box.sh("ls /run/bridgelab/proc 2>/dev/null || true")).trim()).toBe("");
}

/**
 * The lifecycle every run example goes through, in its project directory: up (builds and
 * verifies), an unchanged up with zero remote calls, refresh (at most one call per resource),
 * then the project copied elsewhere, the original deleted, and destroy from the copy.
 */
function lifecycle(
  label: string,
  project: () => string,
  box: () => Awaited<ReturnType<typeof makeSandbox>>,
  o: { upArgs: () => string[]; expectTrace: RegExp; secretsNotIn?: () => string[]; afterUp: (s: Summary) => Promise<void> },
) {
  const traces = () => path.join(tmp.dir, `${label}-trace`);
  let moved = "";
  it("up builds the lab and its LabProbe verifies it", async () => {
    const trace = `${traces()}-up.jsonl`;
    const s = await engine(project(), "up", o.upArgs(), { BRIDGELAB_TRACE_FILE: trace });
    timings.push(`${label} up ${secs(s.ms)}`);
    expect(custom(s).length).toBeGreaterThan(5);
    expect(custom(s).filter((r) => r.op !== "create")).toEqual([]);
    expect(s.outputs.verified).toMatch(/^(\d+)\/\1 paths as expected$/);
    expect(traceLines(trace).length).toBeGreaterThan(0);
    expect(traceLines(trace).filter((l) => !o.expectTrace.test(l))).toEqual([]);
    const state = fs.readFileSync(path.join(project(), ".bridgelab", "dev.json"), "utf8");
    for (const secret of o.secretsNotIn?.() ?? []) expect(state).not.toContain(secret);
    await o.afterUp(s);
  }, SLOW);

  it("an unchanged up makes zero remote calls", async () => {
    const trace = `${traces()}-up2.jsonl`;
    const s = await engine(project(), "up", o.upArgs(), { BRIDGELAB_TRACE_FILE: trace });
    timings.push(`${label} unchanged up ${secs(s.ms)}`);
    expect(custom(s).filter((r) => r.op !== "same")).toEqual([]);
    expect(traceLines(trace)).toEqual([]);
  }, SLOW);

  it("refresh reads every resource, at most one remote call each on the host (a LabProbe's outside probes are one more, local)", async () => {
    const trace = `${traces()}-refresh.jsonl`;
    const s = await engine(project(), "refresh", [], { BRIDGELAB_TRACE_FILE: trace });
    timings.push(`${label} refresh ${secs(s.ms)}`);
    expect(custom(s).length).toBeGreaterThan(5);
    expect(custom(s).filter((r) => r.op === "delete" || r.op === "refresh-gone")).toEqual([]);
    expect(traceLines(trace).filter((l) => !/"host":"outside:/.test(l)).length).toBeLessThanOrEqual(custom(s).length);
    const drift = custom(s).filter((r) => (r.changes ?? []).length > 0);
    if (drift.length) note(`${label}: refresh right after up recorded output changes: ${drift.map((r) => `${r.name} ${r.changes!.join(",")}`).join("; ")}`);
  }, SLOW);

  it("destroy from a copy of the project at another path (the original deleted) leaves nothing on the host", async () => {
    moved = path.join(tmp.dir, "ws", "elsewhere", `${label}-clone`);
    copyProject(project(), moved);
    fs.rmSync(project(), { recursive: true, force: true });
    const s = await engine(moved, "destroy");
    timings.push(`${label} destroy ${secs(s.ms)}`);
    expect(custom(s).length).toBeGreaterThan(5);
    expect(custom(s).filter((r) => r.op !== "delete")).toEqual([]);
    await expectHostClean(box());
    const state = readJson<{ resources: Array<{ custom: boolean }> }>(path.join(moved, ".bridgelab", "dev.json"));
    expect(state.resources.filter((r) => r.custom)).toEqual([]);
  }, SLOW);
}

describe("netns-lab through `npx bridgelab engine` on a sandbox host", () => {
  let box: Awaited<ReturnType<typeof makeSandbox>>;
  const project = () => scaffolds["netns-lab"].dir;
  beforeAll(async () => {
    box = await makeSandbox("pkg-netns");
    setStackConfig(path.join(project(), "Pulumi.dev.yaml"), "bridgelab:sandbox", box.name);
  }, SLOW);
  afterAll(async () => {
    await box?.dispose();
  });
  lifecycle("netns-lab", project, () => box, {
    upArgs: () => [],
    expectTrace: /"host":"(sandbox|outside):/,
    afterUp: async (s) => {
      expect(s.outputs.containers).toMatchObject({
        netns0: { networks: { br0: { address: "172.18.0.10", hostIfname: "veth0", ifname: "ceth0", gateway: "172.18.0.1" } }, published: ["0.0.0.0:5000->5000/tcp"] },
        netns1: { networks: { br0: { address: "172.18.0.20", hostIfname: "veth1", ifname: "ceth1" } } },
      });
      // Seed 004's last check, from the sandbox's stand-in internet: the server in netns0 on the host's port.
      expect((await box.outside("curl -s --max-time 3 http://198.51.100.2:5000/ || echo FAILED")).trim()).toBe("hello from netns0");
    },
  });
});

describe("docker-lab-ssh through `npx bridgelab engine` over SSH to a sandbox host running sshd", () => {
  let box: Awaited<ReturnType<typeof makeSandbox>>;
  let sshd: SshdHost;
  const project = () => scaffolds["docker-lab-ssh"].dir;
  const keyLines = () => sshd.keys.privateKey.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
  beforeAll(async () => {
    box = await makeSandbox("pkg-ssh");
    sshd = await startSshd(box.name);
    const c = sshd.connection();
    // As `pulumi config set KEY VALUE` would write them; the private key goes in as a secret per run.
    const file = path.join(project(), "Pulumi.dev.yaml");
    setStackConfig(file, "my-docker-lab-ssh:host", c.host);
    setStackConfig(file, "my-docker-lab-ssh:hostKey", c.hostKey!);
    setStackConfig(file, "my-docker-lab-ssh:proxyCommand", c.proxyCommand!);
  }, SLOW);
  afterAll(async () => {
    await sshd?.stop();
    await box?.dispose();
  });
  lifecycle("docker-lab-ssh", project, () => box, {
    upArgs: () => ["--secret", `privateKey=${sshd.keys.privateKey}`],
    expectTrace: /"host":"ssh:root@/,
    secretsNotIn: keyLines,
    afterUp: async (s) => {
      // The static port as declared, the dynamic one allocated from the host's ip_local_port_range.
      const [low, high] = (await box.sh("cat /proc/sys/net/ipv4/ip_local_port_range")).trim().split(/\s+/).map(Number);
      const apiPort = s.outputs.apiHostPort as number;
      expect(apiPort).toBeGreaterThanOrEqual(low);
      expect(apiPort).toBeLessThanOrEqual(high);
      expect(s.outputs.published).toEqual({ web: ["0.0.0.0:8080->80/tcp"], api: [`0.0.0.0:${apiPort}->80/tcp`] });
      expect((await box.sh("iptables-save -t nat")).split("\n").filter((l) => / -j DNAT /.test(l)).length).toBe(2);
    },
  });
});
