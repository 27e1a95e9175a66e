import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dockerMissing } from "../../provider/sandbox/sandboxDocker";

// `npm run bench` end to end at a toy size, so the benchmark cannot rot between the runs that
// matter: bench/lab through the engine over SSH, the floor, the naive baseline and real Docker
// (about 10 s more at N = 2, mostly starting and stopping dockerd: cheap enough to keep the
// column from rotting; skipped, saying why, without Docker), the table,
// the JSON and the chart; then bench/fixedCost.ts at N = 2, one round (before — a worktree of
// df41cd1 when the history has it —, after, the empty programs). Counts are asserted (they are
// properties of bridgelab and the engine, not of the machine); times only exist.
jest.setTimeout(600_000);

const repo = path.join(__dirname, "..", "..");
const hasBaseline = spawnSync("git", ["cat-file", "-e", "df41cd1^{commit}"], { cwd: repo }).status === 0;
const worktrees = () => spawnSync("git", ["worktree", "list", "--porcelain"], { cwd: repo, encoding: "utf8" }).stdout.split("\n").filter((l) => l.includes("bridgelab-fixedcost-"));

describe("npm run bench at N = 2", () => {
  it("prints the table and writes json, md and svg; an unchanged up makes no remote call, refresh one per resource; the fixed-cost comparison", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-bench-smoke-"));
    try {
      const root = path.join(process.env.BRIDGELAB_SANDBOX_ROOT!, "bench-smoke");
      const variants = [...(hasBaseline ? ["before"] : []), "after", "empty-ts", "empty-js"];
      const fixedCostFlags = ["--fixed-cost-n", "2", "--fixed-cost-runs", "1", "--fixed-cost-warmup", "0", "--fixed-cost-variants", variants.join(",")];
      const r = spawnSync("npx", ["ts-node", "--transpile-only", "bench/run.ts", "--sizes", "2", "--runs", "1", "--naive-runs", "1", ...fixedCostFlags, "--out", out], {
        cwd: repo,
        env: { ...process.env, BRIDGELAB_SANDBOX_ROOT: root },
        encoding: "utf8",
      });
      expect({ status: r.status, stderr: r.status === 0 ? "" : r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(r.stdout).toMatch(/^\| 2 \| [\d.]+ s \| [\d.]+ s \| [\d.]+ s \|/m);
      const { rows } = JSON.parse(fs.readFileSync(path.join(out, "latest.json"), "utf8"));
      expect(rows).toHaveLength(1);
      const b = rows[0].bridgelab;
      // bench/lab at N = 2: bridge, egress, and per container a namespace, a veth, a port mapping.
      expect(b.resources).toBe(8);
      expect(b.unchangedUpCalls).toBe(0);
      expect(b.refreshCalls).toBe(b.resources);
      // At most one call per resource, plus the one check of the host before its first change.
      expect(b.upCalls).toBeLessThanOrEqual(b.resources + 1);
      expect(rows[0].naive.upCommands).toBeGreaterThan(b.upCalls);
      expect(fs.readFileSync(path.join(out, "latest.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
      // Docker side by side: the column and its ratios, or the reason it was skipped.
      const why = dockerMissing();
      if (why) {
        expect(rows[0].docker).toEqual({ skipped: why });
        expect(r.stdout).toContain(`Docker: skipped (${why}).`);
      } else {
        expect(rows[0].docker).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+/), storageDriver: "vfs", parallel: 8, runs: 1 });
        for (const k of ["upSerialMs", "upParallelMs", "downMs"]) expect(rows[0].docker[k]).toBeGreaterThan(0);
        expect(rows[0].samples.dockerDown).toHaveLength(2);
        expect(Object.keys(rows[0].ratios)).toEqual(expect.arrayContaining(["dockerSerialVsUp", "dockerParallelVsUp", "dockerVsDown"]));
        expect(r.stdout).toMatch(/^\| 2 \| [\d.]+ s \| [\d.]+ s \| [\d.]+ s \| [\d.]+× \/ [\d.]+× \|/m);
      }

      // Fixed cost: every variant measured once per operation; an up with skipPreview runs the
      // program once; program start is known for every variant (their first declaration arrived).
      expect(r.stdout).toMatch(/^\*\*Goal\*\* \(issue 11\)/m);
      const fc = JSON.parse(fs.readFileSync(path.join(out, "fixed-cost.json"), "utf8"));
      expect(Object.keys(fc.samples).sort()).toEqual([...variants].sort());
      for (const v of variants) {
        const s = fc.samples[v];
        expect({ v, preview: s.preview.length, upSkip: s.upSkip.length, upDefault: s.upDefault.length, destroy: s.destroy.length }).toEqual({ v, preview: 1, upSkip: 1, upDefault: 1, destroy: 2 });
        expect({ v, runners: s.upSkip[0].runners }).toEqual({ v, runners: 1 });
        expect(s.upSkip[0].programStartMs).toBeGreaterThan(0);
        expect(s.upSkip[0].runner.modules).toBeGreaterThan(0); // bench/probe.js reported from the runner
      }
      expect(fs.existsSync(path.join(out, "fixed-cost.md"))).toBe(true);
      expect(worktrees()).toEqual([]);
      expect(fs.existsSync(root)).toBe(false);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
