import * as fs from "node:fs";
import * as path from "node:path";
import { note } from "../support/notes";
import { CodeBlock, checkBlocks, optionsOf, tsBlocks } from "./readmeBlocks";
import {
  PackageJson,
  bridgelab,
  exampleNames,
  examplesDir,
  npmInstall,
  packTarball,
  readJson,
  repo,
  run,
  secs,
  tempDir,
  typeCheck,
  unionOfExamples,
} from "./packageSupport";

// The examples that need @pulumi/aws (ecs-bridge), and README.md's TypeScript, against bridgelab
// installed from its tarball with @pulumi/aws (and @pulumi/command) beside it, as a user of
// `bridgelab/ecs` (and of sshFromCommandConnection) has it:
// the example (scaffolded by `npx bridgelab new`) type-checked with its own strict tsconfig, the
// ECS entry point loaded in plain node, and every ```ts block of README.md type-checked strict
// (readmeBlocks.ts: fragments get their free names from the package or a few declarations).
const SLOW = 10 * 60_000;
const timings: string[] = [];
let tmp: ReturnType<typeof tempDir>;
let ws = "";
const awsExamples = exampleNames().filter((n) => Object.keys(readJson<PackageJson>(path.join(examplesDir, n, "package.json")).dependencies ?? {}).includes("@pulumi/aws"));

function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["NODE_ENV", "JEST_WORKER_ID", "NODE_OPTIONS"]) delete env[k];
  return env;
}

beforeAll(async () => {
  tmp = tempDir("package-aws");
  const tarball = await packTarball(tmp.dir);
  ws = path.join(tmp.dir, "ws");
  fs.mkdirSync(ws);
  // @pulumi/command beside them, as the README's cloud-lab and interop blocks use it (its install
  // script only runs `pulumi plugin install`: not allowed, as a user answers npm 11).
  const command = readJson<PackageJson>(path.join(repo, "package.json")).devDependencies!["@pulumi/command"];
  const pkg = unionOfExamples(awsExamples, tarball, { dependencies: { "@pulumi/command": command }, allowScripts: { "@pulumi/command": false } });
  const i = await npmInstall(ws, pkg, { env: userEnv() });
  timings.push(`npm install (${awsExamples.join(", ")}, @pulumi/command) ${secs(i.ms)}`);
  for (const example of awsExamples) {
    const r = await bridgelab(["new", path.join(ws, `my-${example}`), "--example", example, "--bridgelab", `file:${tarball}`], { cwd: ws, env: userEnv() });
    if (r.code !== 0) throw new Error(`bridgelab new --example ${example} failed: ${r.stderr}`);
  }
}, SLOW);

afterAll(() => {
  tmp?.dispose();
  note(`timings: ${timings.join(" · ")}`);
});

describe("the examples on @pulumi/aws", () => {
  it("there is at least one: ecs-bridge", () => {
    expect(awsExamples).toContain("ecs-bridge");
  });

  it.each(awsExamples)(
    "%s type-checks with its own strict tsconfig against the shipped .d.ts and @pulumi/aws (no skipLibCheck)",
    async (example) => {
      const r = await typeCheck(path.join(ws, `my-${example}`), userEnv());
      timings.push(`tsc ${example} ${secs(r.ms)}`);
      expect(r.diagnostics).toBe("");
    },
    SLOW,
  );

  it("plain node loads bridgelab/ecs with EcsBridgeService, and bridgelab's root without loading @pulumi/aws", async () => {
    const script = `
      const root = require("bridgelab");
      const awsLoaded = Object.keys(require.cache).some((k) => k.includes("/@pulumi/aws/"));
      const ecs = require("bridgelab/ecs");
      console.log(JSON.stringify({ awsLoaded, service: typeof ecs.EcsBridgeService, network: typeof root.Network }));`;
    const r = await run(process.execPath, ["-e", script], { cwd: ws, env: userEnv() });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ awsLoaded: false, service: "function", network: "function" });
  });
});

describe("README.md's TypeScript blocks", () => {
  const options = () => optionsOf(path.join(examplesDir, "netns-lab", "tsconfig.json"));

  it("the checker itself: it passes good fragments and fails bad ones at the right line (fixtures/readme-sample.md)", () => {
    const blocks = tsBlocks(fs.readFileSync(path.join(__dirname, "fixtures", "readme-sample.md"), "utf8"));
    expect(blocks.map((b: CodeBlock) => b.line)).toEqual([6, 13, 22, 35, 42, 51, 58, 65, 71]);
    const results = checkBlocks(blocks, ws, options(), "sample.md");
    const byLine = Object.fromEntries(results.map((r) => [r.line, r]));
    for (const good of [6, 13, 22, 65]) expect([good, byLine[good].errors]).toEqual([good, []]);
    expect(byLine[22].shape).toBe("values");
    expect(byLine[65].assumed).toEqual(["someBridge"]);
    expect(byLine[35].errors).toEqual([expect.stringMatching(/^sample\.md:35: error TS2307: Cannot find module 'bridgelab\/provider'/)]);
    expect(byLine[42].errors).toEqual([expect.stringMatching(/^sample\.md:44: error TS2322: /)]);
    expect(byLine[51].errors).toEqual([expect.stringMatching(/^sample\.md:52: error TS2322: .*"telnet"/)]);
    expect(byLine[58].errors).toEqual([
      expect.stringMatching(/^sample\.md:58: error TS2304: Cannot find name 'makeConnection'/),
      expect.stringMatching(/^sample\.md:59: error TS2304: Cannot find name 'Switch'/),
    ]);
    expect(byLine[71].errors.length).toBeGreaterThan(0);
    expect(byLine[71].errors.every((e) => e.startsWith("sample.md:71: error TS"))).toBe(true);
  }, SLOW);

  it("every ```ts block of README.md type-checks (strict) against the installed package", () => {
    const blocks = tsBlocks(fs.readFileSync(path.join(repo, "README.md"), "utf8"));
    const started = Date.now();
    const results = checkBlocks(blocks, ws, options());
    timings.push(`README ${blocks.length} blocks ${secs(Date.now() - started)}`);
    const assumed = results.filter((r) => r.assumed.length > 0);
    if (assumed.length) note(`README: free variables taken as any: ${assumed.map((r) => `README.md:${r.line} ${r.assumed.join(", ")}`).join("; ")}`);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
  }, SLOW);
});
