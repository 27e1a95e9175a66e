// @ts-check
/**
 * A jest reporter that adds to the run's summary what the default reporter leaves out:
 *
 * - every skipped test, named with its title. The default reporter only counts them ("Test
 *   Suites: 1 skipped") when it runs more than one file, so a suite skipped for a reason
 *   (test/cli/labStacks.cli.test.ts without a `pulumi` binary) would disappear silently. A test
 *   skipped on purpose says why in its title ("skipped: no `pulumi` binary on PATH …");
 * - the notes tests left with test/support/notes.ts (faults injected, timings): one line each,
 *   instead of a console block each with its stack frame.
 *
 *   Skipped: 1 test
 *     test/cli/labStacks.cli.test.ts › lab stacks through the real Pulumi CLI › skipped: no `pulumi` binary …
 *   Notes:
 *     test/integration/concurrency.test.ts: 70 parallel creates: 1636 ms
 *
 * The notes travel through a file named in BRIDGELAB_TEST_NOTES, set here before any test runs
 * (jest builds its reporters after globalSetup and before it starts tests or workers, which
 * inherit the environment). Plain JavaScript: jest loads reporters without transforming them.
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

class SummaryReporter {
  /** @param {{ rootDir: string }} globalConfig */
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.notes = path.join(os.tmpdir(), `bridgelab-test-notes-${process.pid}.jsonl`);
    fs.rmSync(this.notes, { force: true });
    process.env.BRIDGELAB_TEST_NOTES = this.notes;
  }

  /** @param {unknown} _contexts @param {{ testResults: Array<{ testFilePath: string; testResults: Array<{ status: string; title: string; ancestorTitles: string[] }> }> }} results */
  onRunComplete(_contexts, results) {
    const skipped = [];
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status !== "pending" && t.status !== "skipped" && t.status !== "todo") continue;
        const where = path.relative(this.rootDir, file.testFilePath);
        skipped.push(`  ${[where, ...t.ancestorTitles, `${t.status === "todo" ? "todo: " : ""}${t.title}`].join(" › ")}`);
      }
    }
    const notes = [];
    if (fs.existsSync(this.notes)) {
      for (const line of fs.readFileSync(this.notes, "utf8").split("\n").filter(Boolean)) {
        try {
          const n = JSON.parse(line);
          notes.push(`  ${n.file ? `${n.file}: ` : ""}${n.text}`);
        } catch {
          notes.push(`  ${line}`);
        }
      }
      fs.rmSync(this.notes, { force: true });
    }
    let out = "";
    if (skipped.length) out += `\nSkipped: ${skipped.length} test${skipped.length === 1 ? "" : "s"}\n${skipped.join("\n")}\n`;
    if (notes.length) out += `\nNotes:\n${notes.join("\n")}\n`;
    if (out) process.stderr.write(out);
  }
}

module.exports = SummaryReporter;
