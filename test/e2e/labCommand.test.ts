import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { deleteSandbox, sandboxExists } from "../../provider/sandbox/sandboxHost";
import { SandboxTransport } from "../../provider/transport/sandbox";
import { runChecked } from "../../provider/transport/types";
import { elementsNamed, parseXml } from "../support/xmlCheck";

// The main command as a newcomer runs it: `npm run lab` / `npm run lab:down`, and
// `npx bridgelab up` choosing its engine. Never the machine-wide default sandbox name: every
// run names its own sandbox host and state directory.
const run = promisify(execFile);
const repo = path.resolve(__dirname, "..", "..");
const bin = path.join(repo, "bin", "bridgelab.js");
let tmp: string;
const sandboxes: string[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-labcmd-"));
});
afterAll(async () => {
  for (const s of sandboxes) await deleteSandbox(s);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function sandboxName(tag: string): string {
  const name = `lab-${tag}-${process.pid}`;
  sandboxes.push(name);
  return name;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  try {
    const r = await run(file, args, { cwd: repo, env, encoding: "utf8", maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A PATH with node (for npm and the fake) and the system tools, and no Pulumi CLI. */
function pathWithout(): string {
  return [path.dirname(process.execPath), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    .filter((d) => !fs.existsSync(path.join(d, "pulumi")))
    .join(":");
}

describe("engine choice, as the command line makes it", () => {
  it("without a Pulumi CLI, `bridgelab up` says so, offers --engine bundled and touches nothing", async () => {
    const sandbox = sandboxName("nocli");
    const r = await exec("node", [bin, "up", "--sandbox", sandbox, "--state-dir", path.join(tmp, "nocli")], { ...process.env, PATH: pathWithout() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bridgelab up: no Pulumi CLI here: there is no `pulumi` executable on PATH");
    expect(r.stderr).toContain("`npx bridgelab up --engine bundled` (what `npm run lab` runs)");
    expect(sandboxExists(sandbox)).toBe(false);
    expect(fs.existsSync(path.join(tmp, "nocli"))).toBe(false);
  });

  it("with a `pulumi` on PATH, drives it through the Automation API: stack, local backend, empty passphrase, sandbox config, up", async () => {
    // A stand-in that records how it is called, answers `version`, plays a first run (no
    // stack yet) and refuses to deploy: what the real CLI would be asked, nothing more.
    const fakeBin = path.join(tmp, "fake-bin");
    const log = path.join(tmp, "fake-pulumi.jsonl");
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(
      path.join(fakeBin, "pulumi"),
      [
        "#!/bin/sh",
        `node -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), backend: process.env.PULUMI_BACKEND_URL, passphrase: process.env.PULUMI_CONFIG_PASSPHRASE }) + "\\n")' "$FAKE_PULUMI_LOG" "$@"`,
        'case "$1 $2" in',
        '  "version "*) echo v3.150.0 ;;',
        `  "stack select") echo "error: no stack named '$4' found" >&2; exit 255 ;;`,
        '  "stack init"|"config set") exit 0 ;;',
        `  *) echo "fake pulumi: refusing '$1' (a test stand-in, not the Pulumi CLI)" >&2; exit 1 ;;`,
        "esac",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const sandbox = sandboxName("fake");
    const stateDir = path.join(tmp, "fake-state");
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${fakeBin}:${pathWithout()}`, FAKE_PULUMI_LOG: log };
    delete env.PULUMI_CONFIG_PASSPHRASE;
    delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
    const r = await exec("node", [bin, "up", "--stack", "basic", "--sandbox", sandbox, "--state-dir", stateDir], env);

    expect(r.stderr).toContain(`with the Pulumi CLI (${path.join(fakeBin, "pulumi")})`);
    expect(r.stderr).toContain(`bridgelab up failed (Pulumi CLI, stack "basic", backend file://${stateDir}/backend)`);
    expect(r.stderr).toContain("fake pulumi: refusing 'preview'");
    expect(r.code).toBe(1);
    const calls = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(calls.slice(0, 4).map((c) => c.argv)).toEqual([
      ["version"],
      ["stack", "select", "--stack", "basic", "--non-interactive"],
      ["stack", "init", "basic", "--non-interactive"],
      ["config", "set", "bridgelab:sandbox", "--stack", "basic", "--plaintext", "--non-interactive", "--", sandbox],
    ]);
    // `pulumi up` previews first: the Automation API's up() would skip it, so a preview is asked
    // for, and when it fails nothing is deployed (no `up` follows).
    expect(calls[4].argv.slice(0, 1)).toEqual(["preview"]);
    expect(calls[4].argv).toEqual(expect.arrayContaining(["--stack", "basic", "--non-interactive"]));
    // ... and, as \`pulumi up --refresh\`, it refreshes first: the host as it is, not as recorded.
    expect(calls[4].argv).toContain("--refresh");
    expect(calls).toHaveLength(5);
    for (const c of calls.slice(1)) expect(c).toMatchObject({ cwd: path.join(repo, "labs"), backend: `file://${stateDir}/backend`, passphrase: "" });
    expect(fs.statSync(path.join(stateDir, "backend")).isDirectory()).toBe(true);
  });
});

describe("bridgelab verify with the Pulumi CLI reads the stack through the Automation API", () => {
  it("`pulumi stack export --show-secrets`: secrets revealed, a sealed one reported, every path of a LabProbe on a host that is gone named; nothing written", async () => {
    // A stand-in `pulumi` that knows one stack and exports a canned deployment; anything else
    // (an up, a refresh, an import) is refused, so verify can only have read.
    const fakeBin = path.join(tmp, "fake-export-bin");
    const log = path.join(tmp, "fake-export.jsonl");
    const gone = `gone-box-${process.pid}`;
    const sig = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
    const urn = (t: string, n: string) => `urn:pulumi:netns-lab::bridgelab::${t}::${n}`;
    const deployment = {
      version: 3,
      deployment: {
        resources: [
          { urn: urn("pulumi:pulumi:Stack", "bridgelab-netns-lab"), custom: false, type: "pulumi:pulumi:Stack" },
          {
            urn: urn("pulumi-nodejs:dynamic/bridgelab:Bridge", "br0"),
            custom: true,
            id: "br0",
            type: "pulumi-nodejs:dynamic/bridgelab:Bridge",
            inputs: { name: "br0", connection: { kind: "sandbox", name: gone } },
            outputs: { name: "br0", connection: { kind: "sandbox", name: gone }, mtu: 1500 },
          },
          {
            urn: urn("pulumi-nodejs:dynamic/bridgelab:Egress", "br0"),
            custom: true,
            id: "egress-br0",
            type: "pulumi-nodejs:dynamic/bridgelab:Egress",
            inputs: {},
            outputs: { connection: { ...sig, ciphertext: "v1:sealed" } },
          },
          {
            urn: urn("pulumi-nodejs:dynamic/bridgelab:LabProbe", "verification"),
            custom: true,
            id: "probe-1",
            type: "pulumi-nodejs:dynamic/bridgelab:LabProbe",
            inputs: {},
            outputs: {
              connection: { ...sig, plaintext: JSON.stringify({ kind: "sandbox", name: gone }) },
              probes: [{ name: "ping:netns0-to-egress", from: "netns0", kind: "ping", target: "203.0.113.1", expect: "reach" }],
              matrix: [{ name: "ping:netns0-to-egress", from: "netns0", kind: "ping", target: "203.0.113.1", expect: "reach", result: "reach", ok: true, detail: "reply" }],
              summary: "1/1 paths as expected",
            },
          },
        ],
      },
    };
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(tmp, "deployment.json"), JSON.stringify(deployment));
    fs.writeFileSync(
      path.join(fakeBin, "pulumi"),
      [
        "#!/bin/sh",
        `node -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify({ argv: process.argv.slice(2), backend: process.env.PULUMI_BACKEND_URL }) + "\\n")' "$FAKE_PULUMI_LOG" "$@"`,
        'case "$1 $2" in',
        '  "version "*) echo v3.150.0 ;;',
        '  "stack ls") echo \'[{"name":"netns-lab","current":false}]\' ;;',
        `  "stack export") cat ${JSON.stringify(path.join(tmp, "deployment.json"))} ;;`,
        `  *) echo "fake pulumi: refusing '$1' (a test stand-in, not the Pulumi CLI)" >&2; exit 1 ;;`,
        "esac",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const stateDir = path.join(tmp, "fake-export-state");
    fs.mkdirSync(path.join(stateDir, "backend"), { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${fakeBin}:${pathWithout()}`, FAKE_PULUMI_LOG: log };
    const r = await exec("node", [bin, "verify", "--state-dir", stateDir], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^resources: 0 as recorded, 1 gone, 1 not readable$/m);
    expect(r.stdout).toMatch(new RegExp(`^ {2}- {2}gone {5}bridgelab:Bridge +br0 +sandbox host "${gone}" does not exist$`, "m"));
    expect(r.stdout).toMatch(/^ {2}! {2}error {4}bridgelab:Egress +br0 +a secret in its state cannot be decrypted here$/m);
    // The stored matrix said "ok"; the probe of now cannot even run.
    expect(r.stdout).toMatch(/^verification: 0\/1 paths as expected/m);
    expect(r.stdout).toContain(`  ping:netns0-to-egress: netns0 → 203.0.113.1 (ping) expected reach but: could not probe: sandbox host "${gone}" does not exist`);
    const calls = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { argv: string[]; backend: string });
    expect(calls.map((c) => c.argv.slice(0, 2))).toEqual([["version"], ["stack", "ls"], ["stack", "export"]]);
    expect(calls[2].argv).toEqual(["stack", "export", "--show-secrets", "--stack", "netns-lab", "--non-interactive"]);
    for (const c of calls.slice(1)) expect(c.backend).toBe(`file://${stateDir}/backend`);
    expect(sandboxExists(gone)).toBe(false);
  });
});

describe("npm run lab on a sandbox host of its own (the bundled engine)", () => {
  const sandbox = sandboxName("npm");
  const stateDir = () => path.join(tmp, "npm-state");
  const sh = async (script: string) => (await runChecked(new SandboxTransport(sandbox), script, "test")).stdout;

  it("brings the default lab up, prints its outputs and verification", async () => {
    const r = await exec("npm", ["run", "--silent", "lab", "--", "--sandbox", sandbox, "--state-dir", stateDir()]);
    if (r.code !== 0) throw new Error(`npm run lab exited ${r.code}\n${r.stderr}`);
    const stack = "netns-lab";
    expect(r.stderr).toContain(`bridgelab up: lab "${stack}" on sandbox host "${sandbox}", with the bundled test engine`);
    expect(r.stderr).toContain(`info: refreshing stack ${stack} (pass 1 of 3)`);
    expect(r.stderr).toContain(`Probe it again: npx bridgelab verify --engine bundled --sandbox ${sandbox} --state-dir ${stateDir()}`);
    expect(r.stderr).toContain(`Tear down: npm run lab:down -- --sandbox ${sandbox} --state-dir ${stateDir()}`);
    const outputs = JSON.parse(r.stdout);
    expect(Object.keys(outputs).length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(stateDir(), `${stack}.json`))).toBe(true);
    expect(sandboxExists(sandbox)).toBe(true);
    // The lab is really there: its bridge and namespaces inside the sandbox host.
    expect(await sh("ip -br link show type bridge")).toMatch(/^br0 /m);
    expect(await sh("ip netns list")).toMatch(/^netns0\b/m);
    // Its verification (if the lab has one) passed: up fails otherwise.
    const verified = [...r.stderr.matchAll(/: (\d+)\/(\d+) paths as expected/g)];
    expect(verified.length).toBeGreaterThan(0);
    for (const m of verified) expect(m[1]).toBe(m[2]);
  });

  it("`bridgelab graph` draws it, from the state file and from the live host", async () => {
    const stack = "netns-lab";
    const live = await exec("node", [bin, "graph", "--live", "--sandbox", sandbox]);
    expect(live.code).toBe(0);
    const liveTexts = elementsNamed(parseXml(live.stdout), "text").map((e) => e.text);
    expect(liveTexts).toEqual(expect.arrayContaining(["br0", "netns0"]));
    const fromState = await exec("node", [bin, "graph", "--state", path.join(stateDir(), `${stack}.json`)]);
    expect(fromState.code).toBe(0);
    const texts = elementsNamed(parseXml(fromState.stdout), "text").map((e) => e.text);
    const topology = JSON.parse(fs.readFileSync(path.join(stateDir(), `${stack}.json`), "utf8")).outputs.topology;
    for (const ns of topology.namespaces) expect(texts).toContain(ns.name);
    for (const b of topology.bridges) expect(texts.some((x: string) => x === b.name || x.startsWith(`${b.name} (network `))).toBe(true);
    // The live host shows the same namespaces and bridges the stack declared.
    for (const ns of topology.namespaces) expect(liveTexts).toContain(ns.name);
  });

  it("npm run lab:down destroys it and deletes the sandbox host", async () => {
    const r = await exec("npm", ["run", "--silent", "lab:down", "--", "--sandbox", sandbox, "--state-dir", stateDir()]);
    if (r.code !== 0) throw new Error(`npm run lab:down exited ${r.code}\n${r.stderr}`);
    expect(r.stderr).toContain(`sandbox host "${sandbox}" deleted`);
    expect(sandboxExists(sandbox)).toBe(false);
    const state = JSON.parse(fs.readFileSync(path.join(stateDir(), fs.readdirSync(stateDir()).find((f) => f.endsWith(".json"))!), "utf8"));
    expect(state.resources.filter((x: { custom: boolean }) => x.custom)).toEqual([]);
  });

  it("a second down finds nothing left and says so", async () => {
    const r = await exec("npm", ["run", "--silent", "lab:down", "--", "--sandbox", sandbox, "--state-dir", stateDir()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`sandbox host "${sandbox}" does not exist, so nothing of the lab is left`);
  });
});
