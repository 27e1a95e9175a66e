import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { programPulumiRoot, twoPulumiProblem } from "../../provider/config/onePulumi";

// Two copies of @pulumi/pulumi in one program (a linked or directory install of bridgelab) are
// refused at import, naming both copies; one copy, or a symlink to the same copy, is fine.
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-onepulumi-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fakeSdk(dir: string, version: string): string {
  const root = path.join(tmp, dir, "node_modules", "@pulumi", "pulumi");
  fs.mkdirSync(path.join(root, "cmd", "run"), { recursive: true });
  fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "@pulumi/pulumi", version }));
  return root;
}

describe("one @pulumi/pulumi per program", () => {
  it("knows the program's copy from the runner that is the main module, and nothing outside a program", () => {
    expect(programPulumiRoot("/p/node_modules/@pulumi/pulumi/cmd/run/index.js")).toBe("/p/node_modules/@pulumi/pulumi");
    expect(programPulumiRoot("/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js")).toBeUndefined();
    expect(programPulumiRoot("/usr/lib/node_modules/jest/bin/jest.js")).toBeUndefined();
    expect(programPulumiRoot(undefined)).toBeUndefined();
  });

  it("names both copies and their versions, and the way out", () => {
    const program = fakeSdk("project", "3.150.0");
    const ours = fakeSdk("bridgelab-checkout", "3.248.0");
    const problem = twoPulumiProblem(program, ours);
    expect(problem).toContain(`the program runs ${program} (3.150.0) and bridgelab loads ${ours} (3.248.0)`);
    expect(problem).toContain("npm pack");
    expect(problem).toContain("BRIDGELAB_ALLOW_TWO_PULUMI=1");
  });

  it("the same copy, also through a symlink, is no problem", () => {
    const program = fakeSdk("one", "3.248.0");
    const link = path.join(tmp, "linked");
    fs.symlinkSync(program, link);
    expect(twoPulumiProblem(program, program)).toBeUndefined();
    expect(twoPulumiProblem(program, link)).toBeUndefined();
    expect(twoPulumiProblem(undefined, program)).toBeUndefined();
  });
});
