import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { oldShimProviderName } from "../../engine/shimMigration";
import { expectNothingLeft, ops, repo, useLab } from "./labHarness";

/**
 * State written by bridgelab 0.1 still refreshes and destroys. Its `__provider` shims load
 * `provider/resources/*.ts` by a path inside the checkout that ran `up` (test/fixtures/state-v0.1:
 * the shims as 0.1 serialized them, taken from a real 0.1 state file of netns-lab, made in a
 * checkout at /home/alice/src/bridgelab). A lab is
 * brought up, its state rewritten to hold those shims — what 0.1 left — and then refreshed and
 * destroyed: the engine migrates the shims to the package loader, and destroy leaves nothing.
 */
const run = promisify(execFile);
const fixtures = path.join(repo, "test", "fixtures", "state-v0.1");
const oldShims = JSON.parse(fs.readFileSync(path.join(fixtures, "shims.json"), "utf8")) as Record<string, string>;
const lab = useLab("netns-lab", "e2e-migrate");

/** Every resource's __provider (inputs and outputs) replaced by 0.1's shim for the same provider. */
function writeAsV01(file: string): number {
  const state = JSON.parse(fs.readFileSync(file, "utf8"));
  let n = 0;
  for (const r of state.resources) {
    for (const props of [r.inputs, r.outputs]) {
      if (typeof props?.__provider !== "string") continue;
      const name = /name: "(\w+Provider)"/.exec(props.__provider)?.[1];
      expect(name && oldShims[name]).toBeTruthy();
      props.__provider = oldShims[name!];
      n++;
    }
  }
  fs.writeFileSync(file, JSON.stringify(state, null, 2));
  return n;
}

describe("state written by bridgelab 0.1", () => {
  const pids: number[] = [];

  it("its shims cannot load the provider outside the checkout that wrote them", () => {
    // The control: evaluated as the plugin would (require-from-string in the project directory),
    // 0.1's shim looks for provider/resources/*.ts there and at the absolute path of that checkout.
    const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
    const cwd = process.cwd();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-oldshim-"));
    try {
      process.chdir(dir);
      const provider = requireFromString(oldShims.bridgeProvider).handler();
      expect(() => provider.check({}, {})).toThrow(/bridgelab: provider code not found at .*provider\/resources\/bridge\.ts/);
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(Object.values(oldShims).map(oldShimProviderName)).toEqual(Object.keys(oldShims));
    expect(oldShimProviderName("exports.handler = () => ({})")).toBeUndefined();
  });

  it("a lab whose state holds 0.1's shims refreshes (migrating them) and destroys, leaving nothing", async () => {
    const up = await lab.engine("up");
    pids.push((up.outputs.containers as Record<string, { pid: number }>).netns0.pid);
    const custom = JSON.parse(fs.readFileSync(lab.stateFile(), "utf8")).resources.filter((r: { custom: boolean }) => r.custom).length;
    expect(custom).toBeGreaterThanOrEqual(9);
    expect(writeAsV01(lab.stateFile())).toBe(2 * custom); // inputs and outputs
    expect(fs.readFileSync(lab.stateFile(), "utf8")).toContain("providerLoader.js");

    const refreshed = await lab.engine("refresh");
    expect(refreshed.logs.join("\n")).toMatch(/state: \d+ resource\(s\) written by bridgelab 0\.1 now load the installed bridgelab package/);
    expect(Object.values(ops(refreshed)).every((op) => op === "refresh")).toBe(true);
    const text = fs.readFileSync(lab.stateFile(), "utf8");
    expect(text).not.toContain("providerLoader.js");
    expect(text).toContain("bridgelab/internal/providers");

    // And again from 0.1's state straight to destroy, without a refresh first.
    writeAsV01(lab.stateFile());
    const destroyed = await lab.engine("destroy");
    expect(Object.values(ops(destroyed)).every((op) => op === "delete")).toBe(true);
    await expectNothingLeft(lab, pids);
  });

  it("`bridgelab state migrate` rewrites a `pulumi stack export` document for `pulumi stack import`", async () => {
    const v01 = JSON.parse(fs.readFileSync(path.join(fixtures, "netns-lab.json"), "utf8"));
    const exported = { version: 3, deployment: { manifest: {}, resources: v01.resources } };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-migrate-"));
    try {
      fs.writeFileSync(path.join(dir, "old.json"), JSON.stringify(exported));
      const r = await run(process.execPath, [path.join(repo, "bin", "bridgelab.js"), "state", "migrate", "--in", path.join(dir, "old.json"), "--out", path.join(dir, "new.json")]);
      const custom = v01.resources.filter((x: { custom: boolean }) => x.custom).length;
      expect(r.stderr).toContain(`bridgelab state migrate: ${custom} resource(s) migrated`);
      const migrated = JSON.parse(fs.readFileSync(path.join(dir, "new.json"), "utf8"));
      expect(migrated.version).toBe(3);
      const texts = migrated.deployment.resources.flatMap((x: { inputs: Record<string, unknown> }) => (typeof x.inputs.__provider === "string" ? [x.inputs.__provider] : []));
      expect(texts).toHaveLength(custom);
      for (const t of texts) {
        expect(t).not.toContain("providerLoader.js");
        expect(t).toContain("bridgelab/internal/providers");
      }
      // Everything else is as it was.
      const strip = (rs: Array<Record<string, Record<string, unknown>>>) => rs.map((x) => ({ ...x, inputs: { ...x.inputs, __provider: 0 }, outputs: { ...x.outputs, __provider: 0 } }));
      expect(strip(migrated.deployment.resources)).toEqual(strip(v01.resources));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
