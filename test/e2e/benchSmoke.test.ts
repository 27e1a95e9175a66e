import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// `npm run bench` end to end at a toy size, so the benchmark cannot rot between the runs that
// matter: bench/lab through the engine over SSH, the floor and the naive baseline, the table,
// the JSON and the chart. Counts are asserted (they are properties of bridgelab, not of the
// machine); times only exist.
jest.setTimeout(300_000);

describe("npm run bench at N = 2", () => {
  it("prints the table and writes json, md and svg; an unchanged up makes no remote call, refresh one per resource", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-bench-smoke-"));
    try {
      const root = path.join(process.env.BRIDGELAB_SANDBOX_ROOT!, "bench-smoke");
      const r = spawnSync("npx", ["ts-node", "--transpile-only", "bench/run.ts", "--sizes", "2", "--runs", "1", "--naive-runs", "1", "--out", out], {
        cwd: path.join(__dirname, "..", ".."),
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
      expect(b.upCalls).toBeLessThanOrEqual(b.resources);
      expect(rows[0].naive.upCommands).toBeGreaterThan(b.upCalls);
      expect(fs.readFileSync(path.join(out, "latest.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
      expect(fs.existsSync(root)).toBe(false);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
