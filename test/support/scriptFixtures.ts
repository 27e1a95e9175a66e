import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const dir = path.join(__dirname, "..", "fixtures", "scripts");

/**
 * Compare built scripts with test/fixtures/scripts/NAME, one test each, plus a `sh -n`
 * syntax check. `UPDATE_FIXTURES=1 npx jest FILE` rewrites the fixtures: read the diff
 * before committing it.
 */
export function describeScriptFixtures(title: string, cases: Record<string, string>): void {
  describe(title, () => {
    for (const [file, text] of Object.entries(cases)) {
      it(file, () => {
        const fixture = path.join(dir, file);
        if (process.env.UPDATE_FIXTURES) fs.writeFileSync(fixture, text);
        expect(text).toBe(fs.readFileSync(fixture, "utf8"));
      });
    }
    it("every script parses as POSIX sh", () => {
      for (const text of Object.values(cases)) execFileSync("sh", ["-n"], { input: text });
    });
  });
}
