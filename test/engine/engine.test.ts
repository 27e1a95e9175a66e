/**
 * End-to-end tests of the test engine: the real program runner runs fixtures/files-program, whose
 * dynamic `File` resources are served by the real dynamic-provider plugin and manage files in a
 * temporary directory. The provider appends each create/update/delete to provider.log, which is how
 * the tests see the real order of operations.
 *
 * The tests in the first block build on each other (one stack taken through its life cycle).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runEngine, type EngineOptions, type EngineSummary, type Operation, type ResourceSummary, type StateFile } from "../../engine/engine";
import { DynamicPlugin } from "../../engine/plugin";

const fixture = path.join(__dirname, "fixtures", "files-program");
const repoRoot = path.resolve(__dirname, "..", "..");
const SECRET = "tok-3f9c1a-very-secret";
// Type checking is the real CLI's default, but it costs seconds per run; the engine is under test here.
const env = { PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
const typePrefix = "urn:pulumi:dev::files-program::pulumi-nodejs:dynamic/files:File::";

interface Sandbox {
  root: string;
  files: string;
  state: string;
}

const sandboxes: string[] = [];
function sandbox(): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-engine-"));
  sandboxes.push(root);
  const files = path.join(root, "files");
  fs.mkdirSync(files);
  return { root, files, state: path.join(root, "state.json") };
}

afterAll(() => {
  for (const root of sandboxes) fs.rmSync(root, { recursive: true, force: true });
});

/** Every summary any test produced: the secret must appear in none of them. */
const summaries: EngineSummary[] = [];

async function run(sb: Sandbox, op: Operation, config: Record<string, string> = {}, more: Partial<EngineOptions> = {}): Promise<EngineSummary> {
  const summary = await runEngine({
    op,
    dir: fixture,
    stack: "dev",
    stateFile: sb.state,
    config: { dir: sb.files, ...config },
    secretConfig: { token: SECRET },
    env,
    ...more,
  });
  summaries.push(summary);
  return summary;
}

function byName(s: EngineSummary, name: string): ResourceSummary {
  const r = s.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name} in summary: ${JSON.stringify(s.resources.map((x) => x.name))}`);
  return r;
}

function customOnly(s: EngineSummary): ResourceSummary[] {
  return s.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"));
}

function readState(sb: Sandbox): StateFile {
  return JSON.parse(fs.readFileSync(sb.state, "utf8")) as StateFile;
}

function providerLog(sb: Sandbox): string[] {
  const file = path.join(sb.files, "provider.log");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
}

function expectOk(s: EngineSummary): void {
  if (!s.ok) throw new Error(`engine run failed: ${s.error}\n${s.logs.join("\n")}`);
}

/** One summary line per resource: the update pass of an up is reported, never merged with its preview. */
function expectOneLineEach(s: EngineSummary): void {
  const urns = s.resources.map((r) => r.urn);
  expect(urns.filter((u, i) => urns.indexOf(u) !== i)).toEqual([]);
}

describe("one stack through its life cycle", () => {
  const sb = sandbox();
  // Config that stays in effect once a test changed it.
  const cfg: Record<string, string> = { aContent: "alpha" };

  test("up creates every resource and records it in the state", async () => {
    const s = await run(sb, "up", cfg);
    expectOk(s);
    for (const r of customOnly(s)) {
      expect(r.op).toBe("create");
      expect(r.providerCalls).toEqual(["Check", "Create"]);
    }
    expect(customOnly(s).map((r) => r.name).sort()).toEqual(["a", "b", "fixed", "folder-child", "secret"]);
    expect(byName(s, "folder")).toMatchObject({ op: "create", providerCalls: [] });
    expect(byName(s, "files-program-dev")).toMatchObject({ type: "pulumi:pulumi:Stack", op: "create" });

    expect(fs.readFileSync(path.join(sb.files, "a.txt"), "utf8")).toBe("plain:alpha");
    expect(fs.readFileSync(path.join(sb.files, "b.txt"), "utf8")).toBe(`plain:ref:${path.join(sb.files, "a.txt")}`);
    expect(s.outputs).toMatchObject({ aPath: path.join(sb.files, "a.txt"), secretContent: "[secret]", secretDigest: "[secret]" });

    const state = readState(sb);
    expect(state).toMatchObject({ version: 1, stack: "dev", project: "files-program" });
    const a = state.resources.find((r) => r.urn === `${typePrefix}a`)!;
    const b = state.resources.find((r) => r.urn === `${typePrefix}b`)!;
    const child = state.resources.find((r) => r.urn.endsWith("::folder-child"))!;
    expect(a).toMatchObject({ custom: true, id: path.join(sb.files, "a.txt") });
    expect(b.dependencies).toContain(a.urn);
    expect(b.propertyDependencies?.content).toEqual([a.urn]);
    expect(child.urn).toBe("urn:pulumi:dev::files-program::files:index:Folder$pulumi-nodejs:dynamic/files:File::folder-child");
    expect(child.parent).toBe("urn:pulumi:dev::files-program::files:index:Folder::folder");
    // Dependencies come first in the file.
    const order = state.resources.map((r) => r.urn);
    expect(order.indexOf(a.urn)).toBeLessThan(order.indexOf(b.urn));
    expect(order.indexOf(child.parent)).toBeLessThan(order.indexOf(child.urn));
  });

  test("a second up changes nothing and calls only Check and Diff", async () => {
    const logBefore = providerLog(sb);
    const s = await run(sb, "up", cfg);
    expectOk(s);
    for (const r of s.resources) expect(r.op).toBe("same");
    for (const r of customOnly(s)) expect(r.providerCalls).toEqual(["Check", "Diff"]);
    expect(providerLog(sb)).toEqual(logBefore);
  });

  test("a changed input is updated in place", async () => {
    cfg.aContent = "beta";
    const s = await run(sb, "up", cfg);
    expectOk(s);
    expect(byName(s, "a")).toMatchObject({ op: "update", changes: ["content"], providerCalls: ["Check", "Diff", "Update"] });
    expect(byName(s, "b").op).toBe("same");
    expect(fs.readFileSync(path.join(sb.files, "a.txt"), "utf8")).toBe("plain:beta");
    expect(providerLog(sb).slice(-1)).toEqual(["update a.txt"]);
  });

  test("a replacement creates the new object before deleting the old one", async () => {
    cfg.bName = "b2.txt";
    const s = await run(sb, "up", cfg);
    expectOk(s);
    expect(byName(s, "b")).toMatchObject({ op: "replace", changes: ["name"], providerCalls: ["Check", "Diff", "Create", "Delete"] });
    const log = providerLog(sb);
    expect(log.indexOf("create b2.txt")).toBeGreaterThanOrEqual(0);
    expect(log.indexOf("create b2.txt")).toBeLessThan(log.indexOf("delete b.txt"));
    expect(fs.existsSync(path.join(sb.files, "b.txt"))).toBe(false);
    expect(fs.existsSync(path.join(sb.files, "b2.txt"))).toBe(true);
    const bs = readState(sb).resources.filter((r) => r.urn === `${typePrefix}b`);
    expect(bs).toHaveLength(1);
    expect(bs[0]).toMatchObject({ id: path.join(sb.files, "b2.txt") });
    expect(bs[0].delete).toBeUndefined();
  });

  test("deleteBeforeReplace deletes the old object before creating its replacement", async () => {
    cfg.fixedKind = "fancy";
    const s = await run(sb, "up", cfg);
    expectOk(s);
    expect(byName(s, "fixed")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Check", "Diff", "Delete", "Create"] });
    // The provider creates with O_EXCL, so the reverse order would have failed outright.
    expect(providerLog(sb).slice(-2)).toEqual(["delete fixed.txt", "create fixed.txt"]);
    expect(fs.readFileSync(path.join(sb.files, "fixed.txt"), "utf8")).toBe("fancy:fixed");
  });

  test("preview reports what would change without touching files or state", async () => {
    const stateBefore = fs.readFileSync(sb.state, "utf8");
    const logBefore = providerLog(sb);
    const filesBefore = fs.readdirSync(sb.files).sort();
    const s = await run(sb, "preview", { ...cfg, aContent: "gamma", fixedKind: "plain", withExtra: "true" });
    expectOk(s);
    expect(byName(s, "a")).toMatchObject({ op: "update", changes: ["content"], providerCalls: ["Check", "Diff"] });
    expect(byName(s, "fixed")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Check", "Diff"] });
    expect(byName(s, "extra")).toMatchObject({ op: "create", providerCalls: ["Check"] });
    expect(byName(s, "secret")).toMatchObject({ op: "same", providerCalls: ["Check", "Diff"] });
    for (const r of s.resources) expect(r.providerCalls.filter((c) => c !== "Check" && c !== "Diff")).toEqual([]);
    // As with the real engine for a provider without preview support: outputs that are not inputs are unknown.
    expect(s.outputs.aPath).toBe("[unknown]");
    expect(s.outputs.childPath).toBe(path.join(sb.files, "child.txt"));
    expect(fs.readFileSync(sb.state, "utf8")).toBe(stateBefore);
    expect(providerLog(sb)).toEqual(logBefore);
    expect(fs.readdirSync(sb.files).sort()).toEqual(filesBefore);
  });

  test("a resource the program no longer declares is deleted after the program", async () => {
    const added = await run(sb, "up", { ...cfg, withExtra: "true" });
    expectOk(added);
    expect(byName(added, "extra")).toMatchObject({ op: "create" });
    const removed = await run(sb, "up", cfg);
    expectOk(removed);
    expect(byName(removed, "extra")).toMatchObject({ op: "delete", providerCalls: ["Delete"] });
    expect(fs.existsSync(path.join(sb.files, "extra.txt"))).toBe(false);
    expect(readState(sb).resources.some((r) => r.urn.endsWith("::extra"))).toBe(false);
  });

  test("refresh drops what is gone and records drift; the next up converges", async () => {
    fs.rmSync(path.join(sb.files, "a.txt"));
    fs.writeFileSync(path.join(sb.files, "b2.txt"), "plain:tampered");
    const s = await run(sb, "refresh");
    expectOk(s);
    expect(byName(s, "a")).toMatchObject({ op: "gone", providerCalls: ["Read"] });
    expect(byName(s, "b")).toMatchObject({ op: "refresh", changes: ["content"], providerCalls: ["Read"] });
    expect(byName(s, "fixed")).toMatchObject({ op: "refresh", changes: [] });
    const state = readState(sb);
    expect(state.resources.some((r) => r.urn === `${typePrefix}a`)).toBe(false);
    expect(state.resources.find((r) => r.urn === `${typePrefix}b`)?.outputs.content).toBe("tampered");

    const again = await run(sb, "up", cfg);
    expectOk(again);
    expect(byName(again, "a")).toMatchObject({ op: "create" });
    expect(byName(again, "b")).toMatchObject({ op: "update", changes: ["content"] });
    expect(fs.readFileSync(path.join(sb.files, "b2.txt"), "utf8")).toBe(`plain:ref:${path.join(sb.files, "a.txt")}`);
  });

  test("secrets are encrypted in the state file and hidden in every summary", () => {
    const text = fs.readFileSync(sb.state, "utf8");
    expect(text).not.toContain(SECRET);
    const state = readState(sb);
    const secret = state.resources.find((r) => r.urn === `${typePrefix}secret`)!;
    const sealed = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) };
    expect(secret.inputs.content).toEqual(sealed);
    expect(secret.outputs.content).toEqual(sealed); // output with a secret input's key
    expect(secret.outputs.digest).toEqual(sealed); // additionalSecretOutputs
    expect(state.outputs.secretContent).toEqual(sealed);
    expect(fs.statSync(`${sb.state}.key`).mode & 0o777).toBe(0o600);
    // The provider itself got the plaintext.
    expect(fs.readFileSync(path.join(sb.files, "secret.txt"), "utf8")).toBe(`plain:${SECRET}`);
    expect(summaries.length).toBeGreaterThan(5);
    for (const s of summaries) expect(JSON.stringify(s)).not.toContain(SECRET);
  });

  test("destroy deletes dependents before their dependencies and empties the state", async () => {
    const before = providerLog(sb).length;
    const s = await run(sb, "destroy", cfg);
    expectOk(s);
    for (const r of s.resources) expect(r.op).toBe("delete");
    for (const r of customOnly(s)) expect(r.providerCalls).toEqual(["Delete"]);
    const log = providerLog(sb).slice(before);
    expect(log.sort()).toEqual(["delete a.txt", "delete b2.txt", "delete child.txt", "delete fixed.txt", "delete secret.txt"]);
    const ordered = providerLog(sb).slice(before);
    expect(ordered.indexOf("delete b2.txt")).toBeLessThan(ordered.indexOf("delete a.txt"));
    const names = s.resources.map((r) => r.name);
    expect(names.indexOf("folder-child")).toBeLessThan(names.indexOf("folder"));
    expect(names[names.length - 1]).toBe("files-program-dev");
    expect(readState(sb)).toMatchObject({ resources: [], outputs: {} });
    expect(fs.readdirSync(sb.files)).toEqual(["provider.log"]);
  });
});

describe("failures", () => {
  test("a failed create fails the run, names the resource, and keeps what succeeded", async () => {
    const sb = sandbox();
    fs.writeFileSync(path.join(sb.files, ".fail-b.txt"), "");
    const s = await run(sb, "up", { aContent: "alpha" });
    expect(s.ok).toBe(false);
    expect(s.error).toContain(`${typePrefix}b`);
    expect(s.error).toContain("refusing to create b.txt");
    expect(byName(s, "b").error).toContain("refusing to create b.txt");
    const urns = readState(sb).resources.map((r) => r.urn);
    expect(urns).toContain(`${typePrefix}a`); // b depends on a, so a was created first
    expect(urns).not.toContain(`${typePrefix}b`);

    fs.rmSync(path.join(sb.files, ".fail-b.txt"));
    const again = await run(sb, "up", { aContent: "alpha" });
    expectOk(again);
    expect(byName(again, "a").op).toBe("same");
    expect(byName(again, "b").op).toBe("create");
  });

  test("check failures fail the resource with the provider's reasons", async () => {
    const sb = sandbox();
    const s = await run(sb, "up", { aContent: "alpha", aName: "Bad Name" });
    expect(s.ok).toBe(false);
    expect(s.error).toContain(`${typePrefix}a`);
    expect(s.error).toContain('name "Bad Name" must match ^[a-z0-9.-]+$');
    expect(byName(s, "a")).toMatchObject({ providerCalls: ["Check"] });
    expect(fs.existsSync(path.join(sb.files, "a.txt"))).toBe(false);
  });
});

describe("other resources", () => {
  test("a resource read by id is recorded as external and never deleted", async () => {
    const sb = sandbox();
    const manual = path.join(sb.files, "manual.txt");
    fs.writeFileSync(manual, "plain:hand made");
    const s = await run(sb, "up", { aContent: "alpha", adopt: manual });
    expectOk(s);
    expect(byName(s, "adopted")).toMatchObject({ op: "read", providerCalls: ["Read"] });
    expect(s.outputs.adoptedContent).toBe("hand made");
    expect(readState(sb).resources.find((r) => r.urn === `${typePrefix}adopted`)).toMatchObject({ id: manual, external: true });

    const d = await run(sb, "destroy");
    expectOk(d);
    expect(byName(d, "adopted")).toMatchObject({ op: "delete", providerCalls: [] });
    expect(fs.readFileSync(manual, "utf8")).toBe("plain:hand made");
    expect(providerLog(sb)).not.toContain("delete adopted");
  });

  test("a resource of any other provider fails with a clear message", async () => {
    const sb = sandbox();
    const s = await run(sb, "up", { aContent: "alpha", withForeign: "true" });
    expect(s.ok).toBe(false);
    expect(s.error).toContain('aws:s3/bucket:Bucket is a resource of the Pulumi package "aws"');
    expect(s.error).toContain("`bridgelab engine` runs only dynamic providers");
    expect(s.error).toContain("urn:pulumi:dev::files-program::aws:s3/bucket:Bucket::foreign");
  });

  test("a @pulumi/command resource fails at preview, naming its type, package and plugin, and what to run instead; nothing changes", async () => {
    const sb = sandbox();
    const s = await run(sb, "up", { aContent: "alpha", withCommand: "true" });
    expect(s).toMatchObject({ ok: false, previewFailed: true });
    expect(s.error).toMatch(
      new RegExp(
        "create of urn:pulumi:dev::files-program::command:remote:Command::prepare failed: command:remote:Command is a resource of the Pulumi package \"command\" \\(npm @pulumi/command 1\\.2\\.1\\): it needs that package's provider plugin, " +
          "pulumi-resource-command v1\\.2\\.1, which (is not installed on this machine, and which the bundled engine would not run anyway|is on this machine \\(.*\\) but which the bundled engine does not run): " +
          "`bridgelab engine` runs only dynamic providers \\(pulumi\\.dynamic\\.Resource, as bridgelab's resources are\\)\\. " +
          "Run this program with the Pulumi CLI \\(`pulumi up`\\): it installs the plugin \\(`pulumi plugin install resource command 1\\.2\\.1`\\) and runs it$",
      ),
    );
    expect(byName(s, "prepare")).toMatchObject({ type: "command:remote:Command", error: expect.stringContaining("pulumi-resource-command") });
    expect(providerLog(sb)).toEqual([]);
    expect(fs.existsSync(sb.state)).toBe(false);
  });

  test("a function of @pulumi/aws (aws.ssm.getParameter) fails the same way, naming the function", async () => {
    const sb = sandbox();
    const s = await run(sb, "preview", { aContent: "alpha", withInvoke: "true" });
    expect(s.ok).toBe(false);
    expect(s.error).toMatch(/invoke of aws:ssm\/getParameter:getParameter failed: aws:ssm\/getParameter:getParameter is a function \(data source\) of the Pulumi package "aws" \(npm @pulumi\/aws 7\.48\.0\): it needs that package's provider plugin, pulumi-resource-aws v7\.48\.0, /);
    expect(s.error).toContain("`pulumi plugin install resource aws 7.48.0`");
    expect(s.resources.find((r) => r.name === "ami")).toBeUndefined();
  });
});

describe("foreign providers: the message's parts", () => {
  const { foreignProviderInfo, foreignProviderMessage, pluginBinaryOf } = require("../../engine/foreignProviders") as typeof import("../../engine/foreignProviders");
  test("a plugin installed where the Pulumi CLI puts it is named, and still not run", () => {
    const home = sandbox().root;
    const bin = path.join(home, "plugins", "resource-command-v1.2.1", "pulumi-resource-command");
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    fs.writeFileSync(bin, "");
    const env = { PULUMI_HOME: home, PATH: "" };
    expect(pluginBinaryOf("command", "1.2.1", env)).toBe(bin);
    expect(pluginBinaryOf("command", "1.2.0", env)).toBeUndefined();
    const info = foreignProviderInfo("pulumi:providers:command", "1.2.1", repoRoot, env);
    expect(info).toEqual({ pkg: "command", version: "1.2.1", npm: { name: "@pulumi/command", version: "1.2.1" }, plugin: bin });
    expect(foreignProviderMessage("provider", "pulumi:providers:command", info)).toContain(
      `pulumi:providers:command is the provider resource of the Pulumi package "command" (npm @pulumi/command 1.2.1): it needs that package's provider plugin, pulumi-resource-command v1.2.1, which is on this machine (${bin}) but which the bundled engine does not run`,
    );
  });

  test("a package that is not installed is named by its plugin only", () => {
    const info = foreignProviderInfo("random:index/randomId:RandomId", "", repoRoot, { PATH: "" , PULUMI_HOME: sandbox().root });
    expect(info).toEqual({ pkg: "random" });
    expect(foreignProviderMessage("resource", "random:index/randomId:RandomId", info)).toMatch(
      /^random:index\/randomId:RandomId is a resource of the Pulumi package "random": it needs that package's provider plugin, pulumi-resource-random, which is not installed on this machine.*\(`pulumi plugin install resource random`\) and runs it$/,
    );
  });
});

describe("up previews first, as `pulumi up` does", () => {
  test("a failed preview stops the up before any change: a good resource declared before a bad one is not created", async () => {
    const sb = sandbox();
    const started = DynamicPlugin.started;
    const s = await run(sb, "up", { aContent: "alpha", withBad: "true" });
    expect(s).toMatchObject({ op: "up", ok: false, previewFailed: true });
    expect(s.error).toContain(`${typePrefix}bad`);
    expect(s.error).toContain('name "Bad Name" must match ^[a-z0-9.-]+$');
    expect(byName(s, "bad")).toMatchObject({ providerCalls: ["Check"], error: expect.stringContaining("must match") });
    // The summary is the preview's: Check and Diff only, and nothing happened.
    for (const r of s.resources) expect(r.providerCalls.filter((c) => c !== "Check" && c !== "Diff")).toEqual([]);
    expect(providerLog(sb)).toEqual([]);
    expect(fs.existsSync(path.join(sb.files, "a.txt"))).toBe(false);
    expect(fs.existsSync(sb.state)).toBe(false);
    expect(DynamicPlugin.started - started).toBe(1);
  });

  test("on an existing stack a failed preview leaves state, files and provider untouched", async () => {
    const sb = sandbox();
    expectOk(await run(sb, "up", { aContent: "alpha" }));
    const stateBefore = fs.readFileSync(sb.state, "utf8");
    const logBefore = providerLog(sb);
    const s = await run(sb, "up", { aContent: "beta", withExtra: "true", withBad: "true" });
    expect(s).toMatchObject({ ok: false, previewFailed: true });
    expect(s.error).toContain(`${typePrefix}bad`);
    expect(byName(s, "a")).toMatchObject({ op: "update", providerCalls: ["Check", "Diff"] });
    expect(fs.readFileSync(sb.state, "utf8")).toBe(stateBefore);
    expect(providerLog(sb)).toEqual(logBefore);
    expect(fs.readFileSync(path.join(sb.files, "a.txt"), "utf8")).toBe("plain:alpha");
    expect(s.outputs.aPath).toBe(path.join(sb.files, "a.txt")); // the recorded outputs, not the preview's unknowns
  });

  test("skipPreview goes straight to the update, like --skip-preview", async () => {
    const sb = sandbox();
    const s = await run(sb, "up", { aContent: "alpha", withBad: "true" }, { skipPreview: true });
    expect(s.ok).toBe(false);
    expect(s.previewFailed).toBeUndefined();
    expect(s.error).toContain(`${typePrefix}bad`);
    expect(byName(s, "a")).toMatchObject({ op: "create", providerCalls: ["Check", "Create"] });
    expect(providerLog(sb)).toContain("create a.txt");
    expect(readState(sb).resources.map((r) => r.urn)).toContain(`${typePrefix}a`);
  });

  test("a successful up reports its update pass once per resource, with one plugin process for both passes", async () => {
    const sb = sandbox();
    const started = DynamicPlugin.started;
    const s = await run(sb, "up", { aContent: "alpha" });
    expectOk(s);
    expect(DynamicPlugin.started - started).toBe(1);
    expectOneLineEach(s);
    for (const r of customOnly(s)) expect(r).toMatchObject({ op: "create", providerCalls: ["Check", "Create"] });
    expect(s.logs).toEqual(expect.arrayContaining([expect.stringMatching(/previewing the update.*pass 1 of 2/), expect.stringMatching(/updating .*pass 2 of 2/)]));
    const again = await run(sb, "up", { aContent: "alpha" });
    expectOk(again);
    expectOneLineEach(again);
    for (const r of customOnly(again)) expect(r).toMatchObject({ op: "same", providerCalls: ["Check", "Diff"] });
  });
});

describe("up --refresh reads every resource first, as `pulumi up --refresh` does", () => {
  test("a file deleted by hand: up trusts the state (same), up --refresh sees it gone and recreates it, in one run and one plugin process", async () => {
    const sb = sandbox();
    expectOk(await run(sb, "up", { aContent: "alpha" }));
    const a = path.join(sb.files, "a.txt");
    fs.rmSync(a);

    const trusting = await run(sb, "up", { aContent: "alpha" });
    expectOk(trusting);
    expect(byName(trusting, "a")).toMatchObject({ op: "same", providerCalls: ["Check", "Diff"] });
    expect(trusting.refreshed).toBeUndefined();
    expect(fs.existsSync(a)).toBe(false);

    const started = DynamicPlugin.started;
    const s = await run(sb, "up", { aContent: "alpha" }, { refresh: true });
    expectOk(s);
    expect(DynamicPlugin.started - started).toBe(1);
    expect(s.logs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/refreshing stack dev \(pass 1 of 3\)/),
        expect.stringMatching(/previewing the update of stack dev \(pass 2 of 3\)/),
        expect.stringMatching(/updating stack dev \(pass 3 of 3\)/),
      ]),
    );
    // The refresh pass: every custom resource Read once; a gone, the rest as recorded.
    const refreshed = s.refreshed!;
    expect(refreshed.map((r) => r.name).sort()).toEqual(["a", "b", "fixed", "folder-child", "secret"]);
    for (const r of refreshed) expect(r.providerCalls).toEqual(["Read"]);
    expect(refreshed.find((r) => r.name === "a")).toMatchObject({ op: "gone" });
    for (const r of refreshed.filter((x) => x.name !== "a")) expect(r).toMatchObject({ op: "refresh", changes: [] });
    // The update pass: a recreated (no Diff: it is not in the state any more), the rest unchanged.
    expectOneLineEach(s);
    expect(byName(s, "a")).toMatchObject({ op: "create", providerCalls: ["Check", "Create"] });
    expect(byName(s, "b")).toMatchObject({ op: "same" });
    expect(fs.readFileSync(a, "utf8")).toBe("plain:alpha");
    expect(providerLog(sb).slice(-1)).toEqual(["create a.txt"]);

    // Nothing drifted: an up --refresh changes nothing.
    const again = await run(sb, "up", { aContent: "alpha" }, { refresh: true });
    expectOk(again);
    for (const r of customOnly(again)) expect(r).toMatchObject({ op: "same" });
    for (const r of again.refreshed!) expect(r).toMatchObject({ op: "refresh", changes: [] });
  });

  test("drift in an output (a file's mode) is repaired by the same up that found it", async () => {
    const sb = sandbox();
    expectOk(await run(sb, "up", { aContent: "alpha" }));
    const b = path.join(sb.files, "b.txt");
    fs.chmodSync(b, 0o600);
    const s = await run(sb, "up", { aContent: "alpha" }, { refresh: true });
    expectOk(s);
    expect(s.refreshed!.find((r) => r.name === "b")).toMatchObject({ op: "refresh", changes: ["mode"] });
    expect(byName(s, "b")).toMatchObject({ op: "update", changes: ["mode"], providerCalls: ["Check", "Diff", "Update"] });
    expect(fs.statSync(b).mode & 0o777).toBe(0o644);
    expect(readState(sb).resources.find((r) => r.urn === `${typePrefix}b`)?.drift).toBeUndefined();
  });

  test("preview --refresh shows what up would do against the host as it is, writing nothing", async () => {
    const sb = sandbox();
    expectOk(await run(sb, "up", { aContent: "alpha" }));
    fs.rmSync(path.join(sb.files, "fixed.txt"));
    const stateBefore = fs.readFileSync(sb.state, "utf8");
    const logBefore = providerLog(sb);
    const p = await run(sb, "preview", { aContent: "alpha" }, { refresh: true });
    expectOk(p);
    expect(p.refreshed!.find((r) => r.name === "fixed")).toMatchObject({ op: "gone" });
    expect(byName(p, "fixed")).toMatchObject({ op: "create", providerCalls: ["Check"] });
    expect(byName(p, "a")).toMatchObject({ op: "same" });
    expect(fs.readFileSync(sb.state, "utf8")).toBe(stateBefore);
    expect(providerLog(sb)).toEqual(logBefore);
    expect(fs.existsSync(path.join(sb.files, "fixed.txt"))).toBe(false);
  });

  test("a Read that fails stops the run before the preview: nothing is changed, and the summary says so", async () => {
    const sb = sandbox();
    expectOk(await run(sb, "up", { aContent: "alpha" }));
    // A directory where a.txt was: read's readFileSync throws (EISDIR).
    fs.rmSync(path.join(sb.files, "a.txt"));
    fs.mkdirSync(path.join(sb.files, "a.txt"));
    fs.chmodSync(path.join(sb.files, "b.txt"), 0o600);
    const logBefore = providerLog(sb);
    const s = await run(sb, "up", { aContent: "beta" }, { refresh: true });
    expect(s).toMatchObject({ ok: false, refreshFailed: true });
    expect(s.previewFailed).toBeUndefined();
    expect(s.error).toMatch(/^the refresh failed, so nothing was changed:\nrefresh of urn:pulumi:dev::files-program::pulumi-nodejs:dynamic\/files:File::a failed: .*EISDIR/);
    expect(byName(s, "a")).toMatchObject({ op: "refresh", providerCalls: ["Read"], error: expect.stringContaining("EISDIR") });
    for (const r of s.resources) expect(r.providerCalls).toEqual(["Read"]);
    expect(providerLog(sb)).toEqual(logBefore);
    expect(fs.statSync(path.join(sb.files, "b.txt")).mode & 0o777).toBe(0o600);
    // What the refresh did read is recorded (b's drift), as a `refresh` would.
    expect(readState(sb).resources.find((r) => r.urn === `${typePrefix}b`)?.outputs.mode).toBe("600");
  });
});

describe("a program that fails", () => {
  const sb = sandbox();
  beforeAll(async () => expectOk(await run(sb, "up", { aContent: "alpha" })));

  async function expectNothingDeleted(s: EngineSummary): Promise<void> {
    expect(s.ok).toBe(false);
    expect(s.error).toContain("the program failed on purpose after declaring a");
    expect(s.resources.filter((r) => r.op === "delete").map((r) => r.name)).toEqual([]);
    expect(providerLog(sb).filter((l) => l.startsWith("delete"))).toEqual([]);
    expect(readState(sb).resources.map((r) => r.urn).sort()).toEqual(urnsBefore);
  }
  let urnsBefore: string[] = [];
  beforeAll(() => {
    urnsBefore = readState(sb).resources.map((r) => r.urn).sort();
  });

  test("preview does not report what it did not register as deleted", async () => {
    await expectNothingDeleted(await run(sb, "preview", { aContent: "alpha", failProgram: "true" }));
  });

  test("up (its preview fails) deletes nothing", async () => {
    const s = await run(sb, "up", { aContent: "alpha", failProgram: "true" });
    expect(s.previewFailed).toBe(true);
    await expectNothingDeleted(s);
  });

  test("up without a preview deletes nothing either", async () => {
    await expectNothingDeleted(await run(sb, "up", { aContent: "alpha", failProgram: "true" }, { skipPreview: true }));
  });
});

describe("delete-before-replace replaces the dependents that would be replaced, first (a stack through four changes)", () => {
  const sb = sandbox();
  const cfg: Record<string, string> = { aContent: "alpha", dbrChain: "true" };
  const chain = ["base", "dep", "depdep", "reader", "after"];
  const file = (name: string) => fs.readFileSync(path.join(sb.files, name), "utf8");

  test("setup: base, dep and depdep (kind from base's, dep's output), reader (content from dep's path), after (dependsOn base)", async () => {
    const s = await run(sb, "up", cfg);
    expectOk(s);
    for (const n of chain) expect(byName(s, n).op).toBe("create");
    const dep = readState(sb).resources.find((r) => r.urn === `${typePrefix}dep`)!;
    expect(dep.propertyDependencies?.kind).toEqual([`${typePrefix}base`]);
    const after = readState(sb).resources.find((r) => r.urn === `${typePrefix}after`)!;
    expect(after.dependencies).toEqual([`${typePrefix}base`]);
    expect(after.propertyDependencies).toBeUndefined();
  });

  test("preview: the same decisions (Diff with unknowns), nothing deleted", async () => {
    const stateBefore = fs.readFileSync(sb.state, "utf8");
    const logBefore = providerLog(sb);
    const s = await run(sb, "preview", { ...cfg, dbrKind: "fancy" });
    expectOk(s);
    expectOneLineEach(s);
    expect(byName(s, "base")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Check", "Diff"] });
    // Deleted ahead of base, then registered again: recreated with a Check of the new inputs, no Diff.
    expect(byName(s, "dep")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Diff", "Check"] });
    expect(byName(s, "depdep")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Diff", "Check"] });
    expect(byName(s, "reader").providerCalls).toEqual(["Diff", "Check", "Diff"]);
    expect(byName(s, "after")).toMatchObject({ op: "same", providerCalls: ["Check", "Diff"] });
    // The preview says which replacements leave a gap: base and the dependents deleted ahead of it.
    expect(chain.map((n) => !!byName(s, n).deleteFirst)).toEqual([true, true, true, false, false]);
    expect(fs.readFileSync(sb.state, "utf8")).toBe(stateBefore);
    expect(providerLog(sb)).toEqual(logBefore);
  });

  test("up: delete depdep, delete dep, delete base, create base, create dep, create depdep; reader and after stay", async () => {
    const before = providerLog(sb).length;
    const s = await run(sb, "up", { ...cfg, dbrKind: "fancy" });
    expectOk(s);
    expectOneLineEach(s);
    expect(providerLog(sb).slice(before)).toEqual([
      "delete depdep.txt",
      "delete dep.txt",
      "delete base.txt",
      "create base.txt",
      "create dep.txt",
      "create depdep.txt",
    ]);
    expect(byName(s, "base")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Check", "Diff", "Delete", "Create"] });
    expect(byName(s, "dep")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Diff", "Delete", "Check", "Create"] });
    expect(byName(s, "depdep")).toMatchObject({ op: "replace", changes: ["kind"], providerCalls: ["Diff", "Delete", "Check", "Create"] });
    // reader's content depends on dep, but its Diff (content unknown) asks for no replacement.
    expect(byName(s, "reader")).toMatchObject({ op: "same", providerCalls: ["Diff", "Check", "Diff"] });
    // after depends on base through dependsOn only: never even diffed on base's account.
    expect(byName(s, "after")).toMatchObject({ op: "same", providerCalls: ["Check", "Diff"] });
    expect([file("base.txt"), file("dep.txt"), file("depdep.txt")]).toEqual(["fancy:base", "fancy:dep", "fancy:depdep"]);
    const state = readState(sb);
    expect(state.resources.filter((r) => chain.some((n) => r.urn === `${typePrefix}${n}`))).toHaveLength(5);
    expect(state.resources.some((r) => r.delete)).toBe(false);
  });

  test("a create-before-delete replacement leaves the dependents alone", async () => {
    cfg.dbrKind = "fancy";
    const before = providerLog(sb).length;
    const s = await run(sb, "up", { ...cfg, dbrBaseName: "base2.txt", dbrBaseFixed: "false" });
    expectOk(s);
    expect(byName(s, "base")).toMatchObject({ op: "replace", changes: ["fixedName", "name"], providerCalls: ["Check", "Diff", "Create", "Delete"] });
    expect(byName(s, "base").deleteFirst).toBeUndefined();
    for (const n of ["dep", "depdep", "reader", "after"]) expect(byName(s, n)).toMatchObject({ op: "same", providerCalls: ["Check", "Diff"] });
    expect(providerLog(sb).slice(before)).toEqual(["create base2.txt", "delete base.txt"]);
  });

  test("a deleted dependent the program no longer declares is deleted once and dropped from the state", async () => {
    const before = providerLog(sb).length;
    const s = await run(sb, "up", { ...cfg, dbrBaseName: "base2.txt", dbrKind: "plain", dbrDropDepdep: "true" });
    expectOk(s);
    expectOneLineEach(s);
    expect(providerLog(sb).slice(before)).toEqual(["delete depdep.txt", "delete dep.txt", "delete base2.txt", "create base2.txt", "create dep.txt"]);
    expect(byName(s, "depdep")).toMatchObject({ op: "delete", changes: ["kind"], providerCalls: ["Diff", "Delete"] });
    expect(byName(s, "dep")).toMatchObject({ op: "replace", providerCalls: ["Diff", "Delete", "Check", "Create"] });
    expect(readState(sb).resources.some((r) => r.urn === `${typePrefix}depdep`)).toBe(false);
    expect(fs.existsSync(path.join(sb.files, "depdep.txt"))).toBe(false);
  });
});

describe("delete-before-replace: a protected dependent, and replaceOnChanges", () => {
  const sb = sandbox();
  const cfg: Record<string, string> = { aContent: "alpha", dbrChain: "true", dbrProtectDep: "true", dbrReaderReplace: "true" };

  test("a protected dependent stops the replacement before anything is deleted", async () => {
    expectOk(await run(sb, "up", cfg));
    const logBefore = providerLog(sb);
    const stateBefore = fs.readFileSync(sb.state, "utf8");
    const s = await run(sb, "up", { ...cfg, dbrKind: "fancy" });
    expect(s).toMatchObject({ ok: false, previewFailed: true });
    expect(s.error).toContain(`${typePrefix}base`);
    expect(s.error).toContain(`so must ${typePrefix}dep, which depends on it, but it is protected`);
    expect(providerLog(sb)).toEqual(logBefore);
    expect(fs.readFileSync(sb.state, "utf8")).toBe(stateBefore);
  });

  test("replaceOnChanges counts in the dependents' Diff: reader goes too", async () => {
    delete cfg.dbrProtectDep;
    expectOk(await run(sb, "up", cfg)); // protect is lifted in the state first: it is the old state's that counts
    const before = providerLog(sb).length;
    const s = await run(sb, "up", { ...cfg, dbrKind: "fancy" });
    expectOk(s);
    const log = providerLog(sb).slice(before);
    expect(log.slice(0, 5).sort()).toEqual(["delete base.txt", "delete dep.txt", "delete depdep.txt", "delete reader.txt", "create base.txt"].sort());
    expect(log.slice(2, 5)).toEqual(["delete dep.txt", "delete base.txt", "create base.txt"]);
    expect(log.slice(5, 6)).toEqual(["create dep.txt"]);
    expect(log.slice(6).sort()).toEqual(["create depdep.txt", "create reader.txt"]);
    // reader's provider asks for no replacement (content changes in place): its replaceOnChanges does.
    expect(byName(s, "reader")).toMatchObject({ op: "replace", changes: ["content"], providerCalls: ["Diff", "Delete", "Check", "Create"] });
    expect(byName(s, "after")).toMatchObject({ op: "same", providerCalls: ["Check", "Diff"] });
  });
});

describe("changes name what differs", () => {
  test("drift in an output-only property, recorded by refresh, is named by the update that repairs it (preview and up)", async () => {
    const sb = sandbox();
    expectOk(await run(sb, "up", { aContent: "alpha" }));
    const a = path.join(sb.files, "a.txt");
    fs.chmodSync(a, 0o600);
    const r = await run(sb, "refresh");
    expectOk(r);
    expect(byName(r, "a")).toMatchObject({ op: "refresh", changes: ["mode"] });
    expect(byName(r, "b").changes).toEqual([]);

    const p = await run(sb, "preview", { aContent: "alpha" });
    expectOk(p);
    expect(byName(p, "a")).toMatchObject({ op: "update", changes: ["mode"] });

    // With an input change too, both are named.
    const u = await run(sb, "up", { aContent: "beta" });
    expectOk(u);
    expect(byName(u, "a")).toMatchObject({ op: "update", changes: ["content", "mode"], providerCalls: ["Check", "Diff", "Update"] });
    expect(fs.statSync(a).mode & 0o777).toBe(0o644);
    expect(readState(sb).resources.find((x) => x.urn === `${typePrefix}a`)?.drift).toBeUndefined();

    const again = await run(sb, "up", { aContent: "beta" });
    expectOk(again);
    expect(byName(again, "a").op).toBe("same");
  });

  test("drift in an input, with an unrelated input change, names both", async () => {
    const sb = sandbox();
    expectOk(await run(sb, "up", { aContent: "alpha" }));
    fs.writeFileSync(path.join(sb.files, "fixed.txt"), "plain:tampered");
    expectOk(await run(sb, "refresh"));
    // fixed's content drifted (input key); its kind changes in the program: a replacement naming both.
    const p = await run(sb, "preview", { aContent: "alpha", fixedKind: "fancy" });
    expectOk(p);
    expect(byName(p, "fixed")).toMatchObject({ op: "replace", changes: ["content", "kind"] });
  });
});

describe("command line", () => {
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [path.join(repoRoot, "bin", "bridgelab.js"), "engine", ...args],
        { cwd: repoRoot, env: { ...process.env, ...env } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  test("`bridgelab engine` prints the JSON summary (--json) or the report, and exits non-zero when the operation failed", async () => {
    const sb = sandbox();
    const base = ["--dir", fixture, "--stack", "dev", "--state", sb.state, "--config", `dir=${sb.files}`, "--secret", `token=${SECRET}`];
    const ok = await cli(["up", ...base, "--json"]);
    expect(ok.code).toBe(0);
    const summary = JSON.parse(ok.stdout) as EngineSummary;
    expect(summary).toMatchObject({ op: "up", ok: true, outputs: { secretContent: "[secret]" } });
    expect(customOnly(summary)).toHaveLength(5);
    expect(ok.stdout + ok.stderr).not.toContain(SECRET);

    const same = await cli(["up", ...base]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^Resources:\n {2}\d+ unchanged\n/);
    expect(same.stdout).toContain('secretContent: "[secret]"');

    const bad = await cli(["up", ...base, "--config", "aName=Bad Name", "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: expect.stringContaining("must match") });

    fs.rmSync(path.join(sb.files, "a.txt"));
    const refreshed = await cli(["up", ...base, "--refresh"]);
    expect(refreshed.code).toBe(0);
    expect(refreshed.stdout).toMatch(/^Refreshed:\n {2}- {2}gone {5}files:File {2}a\n {2}4 as recorded\nResources:\n {2}\+ {2}create {3}files:File {2}a\n/);
    expect(fs.existsSync(path.join(sb.files, "a.txt"))).toBe(true);
    expect((await cli(["destroy", ...base, "--refresh"])).stderr).toContain("--refresh goes with up or preview");

    const usage = await cli(["sideways", "--dir", fixture]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('bridgelab engine: unknown operation "sideways": choose up, preview, refresh or destroy (see `bridgelab engine --help`)');
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: bridgelab engine up|preview|refresh|destroy");
  });
});
