// @ts-check
/**
 * A jest reporter that adds to the run's summary what the default reporter leaves out: every
 * skipped test, named with its title.
 *
 * The default reporter only counts them ("Test Suites: 1 skipped") when it runs more than one
 * file, so a suite skipped for a reason (test/cli/labStacks.cli.test.ts without a `pulumi`
 * binary) would disappear silently. A test skipped on purpose says why in its title
 * ("skipped: no `pulumi` binary on PATH …"), and this reporter prints that title once:
 *
 *   Skipped: 1 test
 *     test/cli/labStacks.cli.test.ts › lab stacks through the real Pulumi CLI › skipped: no `pulumi` binary …
 *
 * Plain JavaScript: jest loads reporters without transforming them.
 */
const path = require("node:path");

class SummaryReporter {
  /** @param {{ rootDir: string }} globalConfig */
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  /** @param {unknown} _contexts @param {{ testResults: Array<{ testFilePath: string; testResults: Array<{ status: string; title: string; ancestorTitles: string[] }> }> }} results */
  onRunComplete(_contexts, results) {
    const lines = [];
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status !== "pending" && t.status !== "skipped" && t.status !== "todo") continue;
        const where = path.relative(this.rootDir, file.testFilePath);
        lines.push(`  ${[where, ...t.ancestorTitles, `${t.status === "todo" ? "todo: " : ""}${t.title}`].join(" › ")}`);
      }
    }
    if (lines.length === 0) return;
    process.stderr.write(`\nSkipped: ${lines.length} test${lines.length === 1 ? "" : "s"}\n${lines.join("\n")}\n`);
  }
}

module.exports = SummaryReporter;
