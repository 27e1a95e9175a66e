import * as fs from "node:fs";
import * as path from "node:path";
import { scriptCases } from "./scriptFixtures";

const dir = path.join(__dirname, "..", "fixtures", "scripts");

describe("scripts built by the host layer match their fixtures", () => {
  for (const [file, text] of Object.entries(scriptCases)) {
    it(file, () => {
      const fixture = path.join(dir, file);
      if (process.env.UPDATE_FIXTURES) fs.writeFileSync(fixture, text);
      expect(text).toBe(fs.readFileSync(fixture, "utf8"));
    });
  }
  it("every script parses as POSIX sh", () => {
    const { execFileSync } = require("node:child_process");
    for (const text of Object.values(scriptCases)) execFileSync("sh", ["-n"], { input: text });
  });
});
