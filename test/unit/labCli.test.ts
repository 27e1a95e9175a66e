import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { automationPlan } from "../../cli/automation";
import { chooseEngine, findPulumi } from "../../cli/engineChoice";
import { defaultStack, downCommand, labsDir, parseLabArgs } from "../../cli/labCommand";
import { findVerifications, formatVerification } from "../../cli/labReport";

const repo = path.resolve(__dirname, "..", "..");
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-labcli-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("findPulumi", () => {
  it("finds the first executable `pulumi` on PATH, skipping non-executables and directories", () => {
    const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => path.join(tmp, x));
    for (const dir of [a, b, c, d]) fs.mkdirSync(dir);
    fs.writeFileSync(path.join(a, "pulumi"), "not executable", { mode: 0o644 });
    fs.mkdirSync(path.join(b, "pulumi"));
    fs.writeFileSync(path.join(c, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(d, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
    expect(findPulumi([a, b, "", c, d].join(path.delimiter))).toBe(path.join(c, "pulumi"));
    expect(findPulumi([a, b].join(path.delimiter))).toBeUndefined();
    expect(findPulumi(undefined)).toBeUndefined();
  });
});

describe("chooseEngine", () => {
  const cli = "/opt/pulumi/bin/pulumi";
  it("uses the Pulumi CLI when it is on PATH and nothing is asked", () => {
    expect(chooseEngine(undefined, cli, "up")).toEqual({ engine: "pulumi", pulumi: cli });
  });
  it("without a Pulumi CLI says so plainly and offers the bundled engine as an explicit choice", () => {
    const c = chooseEngine(undefined, undefined, "up");
    expect("error" in c && c.error).toMatch(/^no Pulumi CLI here: there is no `pulumi` executable on PATH/);
    expect("error" in c && c.error).toContain("`npx bridgelab up --engine bundled` (what `npm run lab` runs)");
    const d = chooseEngine(undefined, undefined, "down");
    expect("error" in d && d.error).toContain("`npx bridgelab down --engine bundled` (what `npm run lab:down` runs)");
  });
  it("--engine bundled runs the bundled engine, noting a Pulumi CLI that is there", () => {
    expect(chooseEngine("bundled", undefined, "up")).toEqual({ engine: "bundled" });
    expect(chooseEngine("bundled", cli, "up")).toMatchObject({ engine: "bundled", note: expect.stringContaining(cli) });
  });
  it("--engine pulumi needs the CLI", () => {
    expect(chooseEngine("pulumi", cli, "down")).toEqual({ engine: "pulumi", pulumi: cli });
    expect(chooseEngine("pulumi", undefined, "down")).toMatchObject({ error: expect.stringMatching(/^--engine pulumi: no `pulumi` executable on PATH/) });
  });
  it("refuses an unknown engine", () => {
    expect(chooseEngine("terraform", cli, "up")).toMatchObject({ error: expect.stringContaining('--engine "terraform"') });
  });
});

describe("parseLabArgs", () => {
  const cwd = "/srv/work";
  it("defaults: the built-in labs, their default lab, sandbox bridgelab, state in .bridgelab/ here", () => {
    expect(parseLabArgs([], "up", cwd)).toEqual({ stack: "netns-lab", dir: labsDir, sandbox: "bridgelab", engine: undefined, stateDir: "/srv/work/.bridgelab", config: {} });
    expect(labsDir).toBe(path.join(repo, "labs"));
  });
  it("netns-lab is the default when the project has it, else its only stack", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "repo-"));
    fs.writeFileSync(path.join(dir, "Pulumi.basic.yaml"), "");
    expect(defaultStack(dir)).toBe("basic");
    fs.writeFileSync(path.join(dir, "Pulumi.netns-lab.yaml"), "");
    expect(defaultStack(dir)).toBe("netns-lab");
  });
  it("reads every flag, in both spellings", () => {
    expect(parseLabArgs(["--stack", "basic", "--sandbox=lab-7", "--engine", "bundled", "--state-dir", "/tmp/x", "--config", "mtu=1400", "--config=bridgeName=br9"], "up", cwd)).toEqual({
      stack: "basic",
      dir: labsDir,
      sandbox: "lab-7",
      engine: "bundled",
      stateDir: "/tmp/x",
      config: { mtu: "1400", bridgeName: "br9" },
    });
  });
  it("--help asks for the usage", () => {
    expect(parseLabArgs(["--stack", "basic", "--help"])).toBeUndefined();
    expect(parseLabArgs(["-h"])).toBeUndefined();
  });
  it("refuses what it does not know, naming it and the nearest known flag", () => {
    expect(() => parseLabArgs(["--sandbx", "x"])).toThrow("unknown option --sandbx: did you mean --sandbox?");
    expect(() => parseLabArgs(["--sandbox", "Bad_Name"])).toThrow(/sandbox name "Bad_Name" is invalid/);
    expect(() => parseLabArgs(["--stack", "netns-lub"])).toThrow(/--stack "netns-lub": no Pulumi.netns-lub.yaml in .*: did you mean netns-lab\? The labs there are: .*basic/);
    expect(() => parseLabArgs(["--config", "novalue"])).toThrow('--config expects key=value, got "novalue"');
    expect(() => parseLabArgs(["--stack"])).toThrow("--stack needs a value");
    expect(() => parseLabArgs(["extra"])).toThrow('unexpected argument "extra"');
    expect(() => parseLabArgs(["--dir", tmp])).toThrow(`--dir ${tmp} holds no Pulumi.yaml`);
  });
});

describe("downCommand", () => {
  it("repeats only the flags that differ from the defaults", () => {
    const opts = parseLabArgs([], "up", repo)!;
    expect(downCommand(opts, "bundled", repo)).toBe("npm run lab:down");
    expect(downCommand(opts, "pulumi", repo)).toBe("npx bridgelab down");
    const custom = parseLabArgs(["--sandbox", "lab-7", "--state-dir", "/tmp/x"], "up", repo)!;
    expect(downCommand(custom, "bundled", repo)).toBe("npm run lab:down -- --sandbox lab-7 --state-dir /tmp/x");
    expect(downCommand(custom, "pulumi", repo)).toBe("npx bridgelab down --sandbox lab-7 --state-dir /tmp/x");
  });
  it("outside a checkout of bridgelab, the bundled engine's down is npx bridgelab down --engine bundled", () => {
    const opts = parseLabArgs(["--stack", "basic"], "up", tmp)!;
    expect(downCommand(opts, "bundled", tmp)).toBe("npx bridgelab down --engine bundled --stack basic");
  });
});

describe("automationPlan", () => {
  it("a local file backend under the state dir, the project in the repository, config namespaced", () => {
    expect(automationPlan({ repo, stack: "netns-lab", stateDir: "/srv/state", config: { sandbox: "lab-7", "other:key": "v" } }, {})).toEqual({
      workDir: repo,
      stack: "netns-lab",
      backendUrl: "file:///srv/state/backend",
      envVars: { PULUMI_BACKEND_URL: "file:///srv/state/backend", PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_CONFIG_PASSPHRASE: "" },
      config: { "bridgelab:sandbox": "lab-7", "other:key": "v" },
    });
  });
  it("an empty passphrase only when the environment gives none", () => {
    const plan = (env: NodeJS.ProcessEnv) => automationPlan({ repo, stack: "basic", stateDir: "/s", config: {} }, env).envVars;
    expect(plan({ PULUMI_CONFIG_PASSPHRASE: "hunter2" })).not.toHaveProperty("PULUMI_CONFIG_PASSPHRASE");
    expect(plan({ PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/p" })).not.toHaveProperty("PULUMI_CONFIG_PASSPHRASE");
    expect(plan({})).toHaveProperty("PULUMI_CONFIG_PASSPHRASE", "");
  });
});

describe("verification report", () => {
  const matrix = [
    { name: "ping:netns0-to-netns1", from: "netns0", kind: "ping", target: "172.18.0.11", expect: "reach", ok: true, detail: "reply" },
    { name: "http:outside-to-netns0:5000", from: "outside", kind: "http", target: "198.51.100.2:5000", expect: "reach", ok: false, detail: "timed out after 2 s" },
  ];
  it("finds LabProbe outputs at the top level and one level down", () => {
    const outputs = { bridge: { name: "br0" }, verification: { summary: "1/2 paths as expected", matrix }, lab: { probe: { summary: "s", matrix: [] } }, list: [1] };
    expect(findVerifications(outputs).map((v) => v.at)).toEqual(["lab.probe", "verification"]);
  });
  it("finds a matrix exported alone, with its summary beside it or counted", () => {
    expect(findVerifications({ verification: matrix, verificationSummary: "1/2 paths as expected; not as expected: x" })).toEqual([
      { at: "verification", summary: "1/2 paths as expected; not as expected: x", matrix },
    ]);
    expect(findVerifications({ paths: matrix })).toEqual([{ at: "paths", summary: "1/2 paths as expected", matrix }]);
    expect(findVerifications({ expectedPaths: [{ name: "a", from: "host", target: "1.2.3.4", expect: "reach" }] })).toEqual([]);
  });
  it("prints one aligned line per path", () => {
    expect(formatVerification({ at: "verification", summary: "1/2 paths as expected", matrix })).toEqual([
      "verification: 1/2 paths as expected",
      "  ok  ping:netns0-to-netns1        netns0 → 172.18.0.11 (ping)         reach    reply",
      "  BAD http:outside-to-netns0:5000  outside → 198.51.100.2:5000 (http)  reach    timed out after 2 s",
    ]);
  });
  it("keeps the ECS lab's matrix within 100 columns: long namespace names shown by what tells them apart, a long detail under its path", () => {
    const ns = (x: string) => `ecs-networking-demo-bridge-${x}-nginx`;
    const ecs = [
      { name: "ping:dyn-1-to-dyn-2-on-docker0", from: ns("dyn-1"), kind: "ping", target: "172.17.0.4", expect: "reach", ok: true, detail: "reply" },
      { name: "ping:stat-1-to-dyn-1-on-docker0", from: ns("stat-1"), kind: "ping", target: "172.17.0.3", expect: "reach", ok: true, detail: "reply" },
      { name: "http:dyn-2-to-published-stat-1:80", from: ns("dyn-2"), kind: "http", target: "198.51.100.2:8080", expect: "reach", ok: true, detail: "HTTP 200" },
      { name: "http:host-to-published-dyn-1:80", from: "host", kind: "http", target: "198.51.100.2:32768", expect: "reach", ok: true, detail: "HTTP 200" },
      { name: "ping:outside-to-stat-1-address", from: "outside", kind: "ping", target: "172.17.0.2", expect: "blocked", ok: true, detail: "connect: Network is unreachable" },
      { name: "http:outside-to-stat-1:80", from: "outside", kind: "http", target: "198.51.100.2:8080", expect: "reach", ok: false, detail: "Failed to connect to 198.51.100.2 port 8080: Couldn't connect to server" },
    ];
    const lines = formatVerification({ at: "verification", summary: "5/6 paths as expected", matrix: ecs });
    expect(lines).toEqual([
      "verification: 5/6 paths as expected",
      "  (a source X stands for namespace ecs-networking-demo-bridge-X-nginx)",
      "  ok  ping:dyn-1-to-dyn-2-on-docker0     dyn-1 → 172.17.0.4 (ping)           reach    reply",
      "  ok  ping:stat-1-to-dyn-1-on-docker0    stat-1 → 172.17.0.3 (ping)          reach    reply",
      "  ok  http:dyn-2-to-published-stat-1:80  dyn-2 → 198.51.100.2:8080 (http)    reach    HTTP 200",
      "  ok  http:host-to-published-dyn-1:80    host → 198.51.100.2:32768 (http)    reach    HTTP 200",
      "  ok  ping:outside-to-stat-1-address     outside → 172.17.0.2 (ping)         blocked",
      "                                         connect: Network is unreachable",
      "  BAD http:outside-to-stat-1:80          outside → 198.51.100.2:8080 (http)  reach",
      "                                         Failed to connect to 198.51.100.2 port 8080: Couldn't",
      "                                         connect to server",
    ]);
    expect(lines.every((l) => l.length <= 100)).toBe(true);
  });
});
