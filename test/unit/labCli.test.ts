import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { automationPlan } from "../../cli/automation";
import { chooseEngine, findPulumi } from "../../cli/engineChoice";
import { defaultStack, downCommand, labCommandLine, labsDir, parseLabArgs, verificationSource } from "../../cli/labCommand";
import { type LiveCheck, brokenPaths, bundledState, formatLiveCheck, liveOk, probeNow, providerNameOf, urnName } from "../../cli/labLive";
import { revealSecrets } from "../../cli/automation";
import { parseVerifyArgs } from "../../cli/verifyCommand";
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

describe("bridgelab verify and refresh: arguments", () => {
  const cwd = "/srv/work";
  it("verify takes up's lab flags (not --config) and its own --probes-only and --json", () => {
    expect(parseVerifyArgs([], cwd)).toEqual({
      stack: "netns-lab",
      dir: labsDir,
      sandbox: "bridgelab",
      engine: undefined,
      stateDir: "/srv/work/.bridgelab",
      config: {},
      probesOnly: false,
      json: false,
    });
    expect(parseVerifyArgs(["--stack=basic", "--sandbox", "lab-7", "--engine", "bundled", "--state-dir", "s", "--probes-only", "--json"], cwd)).toEqual({
      stack: "basic",
      dir: labsDir,
      sandbox: "lab-7",
      engine: "bundled",
      stateDir: "/srv/work/s",
      config: {},
      probesOnly: true,
      json: true,
    });
    expect(parseVerifyArgs(["--json", "-h"])).toBeUndefined();
  });
  it("verify refuses what it does not know, naming the nearest flag", () => {
    expect(() => parseVerifyArgs(["--probe-only"])).toThrow(expect.objectContaining({ command: "bridgelab verify" }));
    expect(() => parseVerifyArgs(["--probe-only"])).toThrow("unknown option --probe-only: did you mean --probes-only?");
    expect(() => parseVerifyArgs(["--config", "a=b"])).toThrow("unknown option --config");
    expect(() => parseVerifyArgs(["--json=yes"])).toThrow("--json takes no value");
    expect(() => parseVerifyArgs(["--stack", "netns-lub"])).toThrow(/no Pulumi.netns-lub.yaml .*did you mean netns-lab\?/);
    expect(() => parseVerifyArgs(["now"])).toThrow('unexpected argument "now"');
  });
  it("refresh takes up's flags, and is named in its errors", () => {
    expect(parseLabArgs(["--sandbox", "lab-7", "--engine", "bundled", "--config", "mtu=1400"], "refresh", cwd)).toMatchObject({ sandbox: "lab-7", engine: "bundled", config: { mtu: "1400" } });
    expect(() => parseLabArgs(["--sandbx", "x"], "refresh", cwd)).toThrow(expect.objectContaining({ command: "bridgelab refresh", message: "unknown option --sandbx: did you mean --sandbox?" }));
    expect(parseLabArgs(["--help"], "refresh", cwd)).toBeUndefined();
  });
  it("without a Pulumi CLI, refresh and verify offer the bundled engine under their own name", () => {
    const c = chooseEngine(undefined, undefined, "verify");
    expect("error" in c && c.error).toContain("`npx bridgelab verify --engine bundled`.");
    const r = chooseEngine(undefined, undefined, "refresh");
    expect("error" in r && r.error).toContain("`npx bridgelab refresh --engine bundled`.");
  });
  it("labCommandLine repeats the flags that differ from the defaults", () => {
    const opts = parseLabArgs(["--sandbox", "lab-7"], "up", repo)!;
    expect(labCommandLine("verify", opts, "bundled", repo)).toBe("npx bridgelab verify --engine bundled --sandbox lab-7");
    expect(labCommandLine("up", opts, "pulumi", repo)).toBe("npx bridgelab up --sandbox lab-7");
  });
});

describe("which verification bridgelab up prints", () => {
  const probe = "pulumi-nodejs:dynamic/bridgelab:LabProbe";
  const bridge = "pulumi-nodejs:dynamic/bridgelab:Bridge";
  it("a LabProbe that ran in the update probed after the changes; nothing changed: the refresh's probe; other changes only: probe again", () => {
    expect(verificationSource([{ type: bridge, op: "create" }, { type: probe, op: "update" }])).toBe("update");
    expect(verificationSource([{ type: bridge, op: "create" }, { type: probe, op: "create" }])).toBe("update");
    expect(verificationSource([{ type: "pulumi:pulumi:Stack", op: "same" }, { type: bridge, op: "same" }, { type: probe, op: "same" }])).toBe("refresh");
    expect(verificationSource([{ type: "pulumi:pulumi:Stack", op: "update" }, { type: probe, op: "same" }])).toBe("refresh");
    expect(verificationSource([{ type: bridge, op: "update" }, { type: probe, op: "same" }])).toBe("stale");
    // The Pulumi CLI's step names.
    expect(verificationSource([{ type: bridge, op: "delete-replaced" }, { type: probe, op: "same" }])).toBe("stale");
    expect(verificationSource([{ type: probe, op: "create-replacement" }])).toBe("update");
  });
});

describe("bridgelab verify: the lab's state and the report", () => {
  it("maps bridgelab's resource types to their providers, and nothing else", () => {
    expect(providerNameOf("pulumi-nodejs:dynamic/bridgelab:Bridge")).toBe("bridgeProvider");
    expect(providerNameOf("pulumi-nodejs:dynamic/bridgelab:NetNamespace")).toBe("netNamespaceProvider");
    expect(providerNameOf("pulumi-nodejs:dynamic/bridgelab:EcsHostCheck")).toBe("ecsHostCheckProvider");
    expect(providerNameOf("pulumi-nodejs:dynamic/bridgelab:Unheard")).toBeUndefined();
    expect(providerNameOf("pulumi-nodejs:dynamic/files:File")).toBeUndefined();
    expect(providerNameOf("aws:ec2/instance:Instance")).toBeUndefined();
  });

  it("reads the bundled engine's state file read-only, secrets decrypted with the key beside it", async () => {
    const file = path.join(tmp, "verify-state.json");
    const { StateStore } = await import("../../engine/state");
    const { makeSecret } = await import("../../engine/properties");
    const store = StateStore.load(file, "lab", "proj", undefined, false);
    const base = { custom: true, parent: "", dependencies: [] };
    store.put({ ...base, urn: "urn:pulumi:lab::proj::pulumi-nodejs:dynamic/bridgelab:LabProbe::verification", type: "pulumi-nodejs:dynamic/bridgelab:LabProbe", id: "probe-1", inputs: { probes: [] }, outputs: { connection: makeSecret({ kind: "sandbox", name: "s1" }), probes: [] } });
    store.put({ ...base, urn: "urn:pulumi:lab::proj::bridgelab:index:Network::br0", type: "bridgelab:index:Network", custom: false, id: "", inputs: {}, outputs: {} });
    store.save();
    store.flush();
    expect(fs.readFileSync(file, "utf8")).not.toContain('"s1"');
    const before = fs.readFileSync(file, "utf8");
    const read = (await bundledState(file))!;
    expect(read.map((r) => [urnName(r.urn), r.custom])).toEqual([["verification", true], ["br0", false]]);
    expect(read[0].outputs.connection).toEqual({ kind: "sandbox", name: "s1" });
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(await bundledState(path.join(tmp, "none.json"))).toBeUndefined();
  });

  it("reveals the secrets of `pulumi stack export --show-secrets`, and says when one is still sealed", () => {
    const sig = "4dabf18193072939515e22adb298388d";
    const secret = "1b47061264138c4ac30d75fd1eb44270";
    const sealed = { found: false };
    expect(revealSecrets({ connection: { [sig]: secret, plaintext: '{"kind":"sandbox","name":"s1"}' }, probes: [1] }, sealed)).toEqual({ connection: { kind: "sandbox", name: "s1" }, probes: [1] });
    expect(sealed.found).toBe(false);
    revealSecrets({ key: { [sig]: secret, ciphertext: "v1:abc" } }, sealed);
    expect(sealed.found).toBe(true);
  });

  it("a LabProbe on a sandbox host that no longer exists: every path is reported, none probed", async () => {
    const v = await probeNow({
      urn: "urn:pulumi:lab::proj::pulumi-nodejs:dynamic/bridgelab:LabProbe::verification",
      type: "pulumi-nodejs:dynamic/bridgelab:LabProbe",
      id: "probe-1",
      custom: true,
      inputs: {},
      outputs: { connection: { kind: "sandbox", name: "no-such-box-9" }, probes: [{ name: "ping:a", from: "netns0", kind: "ping", target: "10.0.0.1", expect: "reach" }] },
    });
    expect(v).toEqual({
      at: "verification",
      summary: "0/1 paths as expected; not as expected: ping:a",
      matrix: [{ name: "ping:a", from: "netns0", kind: "ping", target: "10.0.0.1", expect: "reach", result: "error", ok: false, detail: 'sandbox host "no-such-box-9" does not exist' }],
    });
    expect(brokenPaths([v])).toEqual([
      "verification: 1 of 1 paths not as expected:",
      '  ping:a: netns0 → 10.0.0.1 (ping) expected reach but: could not probe: sandbox host "no-such-box-9" does not exist',
    ]);
  });

  it("prints what is not as recorded, then each matrix; ok only when both are clean", () => {
    const check: LiveCheck = {
      verifications: [{ at: "verification", summary: "1/1 paths as expected", matrix: [{ name: "ping:a", from: "netns0", kind: "ping", target: "10.0.0.1", expect: "reach", ok: true, detail: "reply" }] }],
      findings: [
        { urn: "u1", type: "pulumi-nodejs:dynamic/bridgelab:VethPair", name: "netns0-ceth0", status: "gone" },
        { urn: "u2", type: "pulumi-nodejs:dynamic/bridgelab:Bridge", name: "br0", status: "drift", changes: ["mtu"] },
        { urn: "u3", type: "pulumi-nodejs:dynamic/bridgelab:Egress", name: "br0", status: "error", detail: "exited 1: iptables-save: not found" },
      ],
      asRecorded: 5,
      notRead: 1,
      notes: [],
    };
    expect(formatLiveCheck(check)).toEqual([
      "resources: 5 as recorded, 1 gone, 1 drifted, 1 not readable, 1 not read (not bridgelab's)",
      "  -  gone     bridgelab:VethPair  netns0-ceth0",
      "  ~  drift    bridgelab:Bridge    br0           [mtu]",
      "  !  error    bridgelab:Egress    br0           exited 1: iptables-save: not found",
      "verification: 1/1 paths as expected",
      "  ok  ping:a  netns0 → 10.0.0.1 (ping)  reach    reply",
    ]);
    expect(liveOk(check)).toBe(false);
    expect(liveOk({ ...check, findings: [] })).toBe(true);
    expect(formatLiveCheck({ ...check, findings: [] }, true)[0]).toBe("verification: 1/1 paths as expected");
    expect(formatLiveCheck({ ...check, findings: [], verifications: [] })).toEqual(["resources: 5 as recorded, 1 not read (not bridgelab's)", "verification: the lab has no LabProbe, so no path was probed"]);
  });
});
