import { execFile } from "node:child_process";
import * as path from "node:path";

// The command line as users meet it: --help on every command and subcommand prints its usage and
// exits 0; --version; an unknown command or flag exits 2 naming the nearest known one. The
// compiled CLI (bin/bridgelab.js → dist/cli) is what runs, as after `npm install bridgelab`.
const bin = path.resolve(__dirname, "..", "..", "bin", "bridgelab.js");
const version = (require("../../package.json") as { version: string }).version;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const helps: Array<[string[], string]> = [
  [["--help"], "usage: bridgelab COMMAND"],
  [["up", "--help"], "bridgelab up   [--stack NAME]"],
  [["down", "-h"], "bridgelab down [--stack NAME]"],
  [["verify", "--help"], "bridgelab verify [--stack NAME]"],
  [["verify", "--json", "-h"], "Exit 0: every path as expected"],
  [["refresh", "--help"], "bridgelab refresh [--stack NAME]"],
  [["engine", "--help"], "usage: bridgelab engine up|preview|refresh|destroy"],
  [["engine", "up", "--help"], "usage: bridgelab engine up|preview|refresh|destroy"],
  [["new", "--help"], "usage: bridgelab new DIR"],
  [["graph", "--help"], "bridgelab graph [--stack NAME"],
  [["sandbox", "--help"], "bridgelab sandbox create NAME"],
  [["sandbox", "create", "--help"], "bridgelab sandbox create NAME"],
  [["sandbox", "exec", "--help"], "bridgelab sandbox exec NAME"],
  [["sandbox", "docker", "--help"], "bridgelab sandbox docker start|stop NAME"],
  [["state", "--help"], "usage: bridgelab state migrate"],
  [["state", "migrate", "--help"], "usage: bridgelab state migrate"],
];

describe("bridgelab's command line", () => {
  it("the command list names verify and refresh beside up and down", async () => {
    const r = await cli(["--help"]);
    expect(r.stdout).toMatch(/^ {2}verify {4}probe the lab as it is now, changing nothing/m);
    expect(r.stdout).toMatch(/^ {2}refresh {3}record in the lab's state what is really on its host/m);
  });

  it.each(helps)("%j prints its usage and exits 0", async (args, usage) => {
    const r = await cli(args);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain(usage);
  });

  it("--version prints the package's version", async () => {
    expect(await cli(["--version"])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("an unknown command or flag exits 2, naming the nearest known one; a user's error has no stack trace", async () => {
    expect(await cli(["grpah"])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command \"grpah\": did you mean `bridgelab graph`?") });
    expect(await cli(["up", "--sandbx", "x"])).toMatchObject({ code: 2, stderr: "bridgelab up: unknown option --sandbx: did you mean --sandbox? (see `bridgelab up --help`)\n" });
    expect(await cli(["verfy"])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command \"verfy\": did you mean `bridgelab verify`?") });
    expect(await cli(["verify", "--probe-only"])).toMatchObject({ code: 2, stderr: "bridgelab verify: unknown option --probe-only: did you mean --probes-only? (see `bridgelab verify --help`)\n" });
    expect(await cli(["refresh", "--stak", "x"])).toMatchObject({ code: 2, stderr: "bridgelab refresh: unknown option --stak: did you mean --stack? (see `bridgelab refresh --help`)\n" });
    expect(await cli(["engine", "up", "--stak", "dev"])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown option --stak: did you mean --stack?") });
    expect(await cli(["graph", "--live", "--json=yes"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--json takes no value") });
    expect(await cli(["sandbox", "creat", "x"])).toMatchObject({ code: 2, stderr: expect.stringContaining("did you mean `bridgelab sandbox create`?") });
    expect(await cli(["sandbox", "docker", "strat", "x"])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown action "strat": bridgelab sandbox docker start|stop NAME (did you mean start?)') });
    const missing = await cli(["engine", "up", "--dir", "/nonexistent-project"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("/nonexistent-project holds no Pulumi.yaml");
    const failed = await cli(["sandbox", "exec", "no-such-box", "--", "true"]);
    expect(failed).toMatchObject({ code: 1, stderr: 'bridgelab sandbox: sandbox host "no-such-box" does not exist; create it with `bridgelab sandbox create no-such-box`\n' });
  });
});
