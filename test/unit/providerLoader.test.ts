import * as pulumi from "@pulumi/pulumi";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lazyProvider } from "../../provider/resources/lazyProvider";

// How the plugin loads provider code (provider/resources/providerLoader.js): the precompiled
// build of scripts/build.js only while it matches every source, ts-node otherwise. Each load
// runs in a fresh node process, as in the plugin: the serialized lazyProvider shim, evaluated
// the way the plugin does (require-from-string), in the project directory.

const repo = path.join(__dirname, "..", "..");
const { build } = require("../../scripts/build.js") as { build: (root: string) => { out: string; compiled: number } };

let root: string;
let shimText: string;

function write(rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

/** The provider as a new plugin process sees it: which file ran, what it computed, why. */
function load(env: Record<string, string> = {}): { where: string; word: string; decision: { dist: boolean; reason?: string } } {
  const script = `
    const shim = require("require-from-string")(require("fs").readFileSync(process.argv[1], "utf8")).handler();
    shim.check({}, {}).then((r) => {
      const d = require(${JSON.stringify(path.join(root, "provider/resources/providerLoader.js"))}).loadedFrom(${JSON.stringify(path.join(root, "provider/resources/thing.ts"))});
      process.stdout.write(JSON.stringify({ ...r.inputs, decision: { dist: d.dist, reason: d.reason } }));
    });`;
  const shimFile = path.join(root, "shim.js");
  fs.writeFileSync(shimFile, shimText);
  const env2: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete env2.BRIDGELAB_PROVIDER_DIST;
  if (env.BRIDGELAB_PROVIDER_DIST) env2.BRIDGELAB_PROVIDER_DIST = env.BRIDGELAB_PROVIDER_DIST;
  const r = spawnSync(process.execPath, ["-e", script, shimFile], { cwd: root, env: env2, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`load failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const fromTs = (x: { where: string }) => expect(x.where).toBe(path.join(root, "provider/resources/thing.ts"));
const fromDist = (x: { where: string }) => expect(x.where).toMatch(new RegExp(`^${root}/dist/build-[0-9a-f]+/provider/resources/thing\\.js$`));

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-loader-"));
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(root, "node_modules"));
  write("package.json", `{ "name": "loader-test", "private": true }\n`);
  write("tsconfig.json", `{ "compilerOptions": { "target": "ES2022", "module": "commonjs", "strict": true, "esModuleInterop": true } }\n`);
  write("provider/resources/providerLoader.js", fs.readFileSync(path.join(repo, "provider/resources/providerLoader.js"), "utf8"));
  write("provider/host/word.ts", `export const word: string = "one";\n`);
  write(
    "provider/resources/thing.ts",
    `import { word } from "../host/word";\nexport const thingProvider = { check: async () => ({ inputs: { where: __filename, word } }) };\n`,
  );
  const shim = lazyProvider(path.join(root, "provider/resources/thing.ts"), "thingProvider");
  shimText = (await pulumi.runtime.serializeFunction(() => shim, { allowSecrets: true })).text;
}, 60_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("provider loading: precompiled build only when current", () => {
  it("without a build, compiles the sources with ts-node", () => {
    const r = load();
    fromTs(r);
    expect(r.word).toBe("one");
    expect(r.decision).toEqual({ dist: false, reason: expect.stringMatching(/no build/) });
  }, 60_000);

  it("with a current build, runs the build (and a second build compiles nothing)", () => {
    expect(build(root).compiled).toBe(2);
    expect(build(root).compiled).toBe(0);
    const r = load();
    fromDist(r);
    expect(r.word).toBe("one");
    expect(r.decision.dist).toBe(true);
  }, 60_000);

  it("an edited dependency of the entry file (not the entry itself) makes the build stale: ts-node runs the new code", () => {
    write("provider/host/word.ts", `export const word: string = "two";\n`);
    const r = load();
    fromTs(r);
    expect(r.word).toBe("two");
    expect(r.decision.reason).toMatch(/provider\/host\/word\.ts changed since the build/);
    build(root);
    const again = load();
    fromDist(again);
    expect(again.word).toBe("two");
  }, 60_000);

  it("a touched but unchanged source keeps the build (content, not mtime)", () => {
    const f = path.join(root, "provider/host/word.ts");
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(f, later, later);
    fromDist(load());
  }, 60_000);

  it("an added or removed source, a changed tsconfig.json, or a missing build directory means ts-node", () => {
    write("provider/host/extra.ts", `export const extra = 1;\n`);
    expect(load().decision.reason).toMatch(/provider\/host\/extra\.ts is newer than the build/);
    build(root);
    fromDist(load());

    fs.rmSync(path.join(root, "provider/host/extra.ts"));
    expect(load().decision.reason).toMatch(/provider\/host\/extra\.ts was removed/);
    build(root);
    fromDist(load());

    const tsconfig = fs.readFileSync(path.join(root, "tsconfig.json"), "utf8");
    write("tsconfig.json", tsconfig.replace("ES2022", "ES2020"));
    expect(load().decision.reason).toMatch(/tsconfig\.json changed/);
    write("tsconfig.json", tsconfig);
    fromDist(load());

    const manifest = JSON.parse(fs.readFileSync(path.join(root, "dist/bridgelab-build.json"), "utf8"));
    fs.renameSync(path.join(root, "dist", manifest.out), path.join(root, "dist", "moved"));
    const r = load();
    fromTs(r);
    expect(r.decision.reason).toMatch(/is missing/);
    fs.renameSync(path.join(root, "dist", "moved"), path.join(root, "dist", manifest.out));
  }, 120_000);

  it("BRIDGELAB_PROVIDER_DIST=0 forces ts-node", () => {
    fromDist(load());
    const r = load({ BRIDGELAB_PROVIDER_DIST: "0" });
    fromTs(r);
    expect(r.decision.reason).toBe("BRIDGELAB_PROVIDER_DIST=0");
  }, 60_000);

  it("a rebuild keeps the previous build directory (a running plugin may use it) and removes older ones", () => {
    const builds = () => fs.readdirSync(path.join(root, "dist")).filter((e) => e.startsWith("build-")).sort();
    write("provider/host/word.ts", `export const word: string = "three";\n`);
    const before = JSON.parse(fs.readFileSync(path.join(root, "dist/bridgelab-build.json"), "utf8")).out;
    const { out } = build(root);
    expect(builds()).toEqual([before, path.basename(out)].sort());
    expect(load().word).toBe("three");
  }, 60_000);
});

describe("lazyProvider", () => {
  it("returns one shim per provider, so Pulumi serializes each provider's closure once per program, not once per resource", () => {
    const f = path.join(repo, "provider/resources/bridge.ts");
    expect(lazyProvider(f, "bridgeProvider")).toBe(lazyProvider(f, "bridgeProvider"));
    expect(lazyProvider(f, "bridgeProvider")).not.toBe(lazyProvider(path.join(repo, "provider/resources/egress.ts"), "egressProvider"));
  });
});

describe("program-side imports", () => {
  it("importing bridgelab does not load @pulumi/aws (EcsBridgeService requires it when constructed)", () => {
    const r = spawnSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "-e", `require("./provider"); process.stdout.write(String(Object.keys(require.cache).filter((k) => k.includes("/@pulumi/aws/")).length));`],
      { cwd: repo, encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0");
  }, 60_000);
});
