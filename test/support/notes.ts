import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..", "..");

/**
 * A figure a test measured (faults injected and recovered, a timing), for the run's summary
 * rather than a console block of its own: test/support/summaryReporter.js prints the run's notes
 * at its end, beside jest's totals, one line each after the test file's name:
 *
 *   Notes:
 *     test/integration/faults.test.ts: SSH cuts injected: 87, all recovered (NetNamespace 10, …)
 *
 * The reporter names the file in BRIDGELAB_TEST_NOTES; without it (another --reporters) the note
 * is printed with console.log as before.
 */
export function note(text: string): void {
  const file = process.env.BRIDGELAB_TEST_NOTES;
  if (!file) {
    console.log(text);
    return;
  }
  const testPath = expect.getState().testPath;
  fs.appendFileSync(file, `${JSON.stringify({ file: testPath ? path.relative(repo, testPath) : "", text })}\n`);
}
