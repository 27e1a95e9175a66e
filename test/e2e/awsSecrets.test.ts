import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineSummary } from "../../engine/engine";
import { enterHostArgv, sandboxPaths } from "../../provider/sandbox/sandboxLayout";
import { makeSandbox } from "../support/sandboxFixture";
import { providerTexts } from "../support/stateTexts";

// Issue 7, part 4 (AWS): AWS credentials never appear in plaintext in the state file, the
// serialized provider, logs or error messages.
//
// The test engine's command line runs the fixture test/fixtures/aws-ssm (a Bridge over SSM) with
// canary credentials in the environment, where the AWS SDK's chain finds them, and, wrongly, in
// the connection object itself (plain and secret config), which Check must refuse without echoing
// them. The engine runs in a network namespace of its own inside a sandbox host this test makes:
// it has a loopback interface and nothing else (no route, no DNS server), so the SDK signs its
// SendCommand request with the canaries and then fails locally; nothing leaves it. Every run's
// state file, key file, trace, JSON summary (errors included), stderr (the engine's log) and each
// resource's serialized `__provider` is captured, and none may hold any canary, nor its base64
// (at any alignment) or hex.
const repo = path.resolve(__dirname, "..", "..");
const fixture = path.join(repo, "test", "fixtures", "aws-ssm");
const engineBin = path.join(repo, "bin", "bridgelab.js");
const NETNS = "awsnet";
const SSM = { kind: "ssm", instanceId: "i-0123456789abcdef0", region: "us-east-1" } as const;

let box: Awaited<ReturnType<typeof makeSandbox>>;
let tmp: string;
let netnsId: string;

/** Random characters from [A-Z0-9] or [A-Za-z0-9]: what access keys and secrets look like, minus the / and + that JSON or URLs might escape. */
function canary(length: number, upperOnly = false): string {
  const alphabet = upperOnly ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.randomBytes(length), (b) => alphabet[b % alphabet.length]).join("");
}

function awsCredentials(): { accessKeyId: string; secretAccessKey: string; sessionToken: string } {
  return { accessKeyId: `AKIA${canary(16, true)}`, secretAccessKey: canary(40), sessionToken: `IQoJb3JpZ2luX2Vj${canary(180)}` };
}

/** In the environment (the SDK's chain). */
const ENV = awsCredentials();
/** Wrongly in the connection object. */
const INPUT_PLAIN = awsCredentials();
const INPUT_SECRET = awsCredentials();
const CANARIES = [ENV, INPUT_PLAIN, INPUT_SECRET].flatMap((c) => [c.accessKeyId, c.secretAccessKey, c.sessionToken]);

/**
 * The forms of `value` to look for: itself, its hex, and its base64 at each of the three byte
 * alignments it can have inside a longer encoded text (only the characters that depend on the
 * value's bytes alone).
 */
function forms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const out = [value, bytes.toString("hex")];
  for (const k of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(k), bytes]).toString("base64");
    out.push(b64.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6)));
  }
  return out;
}

/** `where: form` for every canary form found in text. */
function leaksIn(where: string, text: string, values: string[] = CANARIES): string[] {
  return values.flatMap((v) => forms(v).filter((f) => text.includes(f)).map((f) => `${where}: ${f === v ? "plaintext" : "encoded"} ${v.slice(0, 8)}…`));
}

/** Everything captured, by where it came from. */
const captured: Array<[where: string, text: string]> = [];

interface Run {
  code: number;
  summary: EngineSummary;
  stderr: string;
  state: unknown;
}

/**
 * One engine run: `node bin/bridgelab.js engine OP --json` inside the sandbox's namespace NETNS, with the canary
 * credentials in the environment and no other AWS configuration (empty config and credentials
 * files, a fresh HOME, no instance metadata).
 */
async function engine(
  label: string,
  op: "up" | "preview" | "refresh" | "destroy",
  stack: string,
  args: string[],
  into: Array<[string, string]> = captured,
): Promise<Run> {
  const dir = path.join(tmp, stack);
  fs.mkdirSync(path.join(dir, "home"), { recursive: true });
  const stateFile = path.join(dir, "state.json");
  const awsConfig = path.join(dir, "aws-config");
  const awsCredentialsFile = path.join(dir, "aws-credentials");
  fs.writeFileSync(awsConfig, "");
  fs.writeFileSync(awsCredentialsFile, "");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: "C.UTF-8",
    HOME: path.join(dir, "home"),
    AWS_ACCESS_KEY_ID: ENV.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ENV.secretAccessKey,
    AWS_SESSION_TOKEN: ENV.sessionToken,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: awsCredentialsFile,
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    BRIDGELAB_TRACE_FILE: path.join(dir, "trace.jsonl"),
  };
  const argv = [
    ...enterHostArgv(sandboxPaths(box.name)),
    "ip", "netns", "exec", NETNS,
    process.execPath, engineBin, "engine", op, "--json", "--dir", fixture, "--stack", stack, "--state", stateFile, "--config", `netns=${netnsId}`, ...args,
  ];
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(argv[0], argv.slice(1), { cwd: repo, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  into.push([`${label}: stdout (summary)`, r.stdout], [`${label}: stderr (log)`, r.stderr], [`${label}: argv`, argv.join(" ")]);
  let summary: EngineSummary;
  try {
    summary = JSON.parse(r.stdout) as EngineSummary;
  } catch {
    throw new Error(`${label}: the engine printed no summary (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  }
  for (const e of [summary.error, ...summary.resources.map((x) => x.error)]) if (e) into.push([`${label}: error`, e]);
  // Every file the run left: state, key file, trace, the empty AWS files, anything in HOME.
  for (const f of walk(dir)) into.push([`${label}: ${path.relative(tmp, f)}`, fs.readFileSync(f).toString("latin1")]);
  const state = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, "utf8")) : undefined;
  for (const p of providerTexts(state)) into.push([`${label}: __provider`, p]);
  return { code: r.code, summary, stderr: r.stderr, state };
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const f = path.join(dir, e.name);
    return e.isDirectory() ? walk(f) : e.isFile() ? [f] : [];
  });
}

const allErrors = (s: EngineSummary) => [s.error ?? "", ...s.resources.map((r) => r.error ?? "")].join("\n");

beforeAll(async () => {
  box = await makeSandbox("e2e-aws");
  // A network namespace with only a loopback (the engine talks to its plugin over it): no
  // other link, no route, so no packet can leave it.
  await box.sh(`ip netns add ${NETNS} && ip -n ${NETNS} link set lo up`);
  netnsId = (await box.sh(`ip netns exec ${NETNS} readlink /proc/self/ns/net`)).trim();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-e2e-aws-"));
});
afterAll(async () => {
  await box?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("AWS credentials over SSM never reach state, provider, logs or errors", () => {
  it("the engine's namespace is not this machine's, and has nothing but a loopback", async () => {
    expect(netnsId).toMatch(/^net:\[\d+\]$/);
    expect(netnsId).not.toBe(fs.readlinkSync("/proc/self/ns/net"));
    expect((await box.sh(`ip -n ${NETNS} -o link show | awk -F': ' '{print $2}'`)).trim()).toBe("lo");
    expect((await box.sh(`ip -n ${NETNS} route show; ip -n ${NETNS} -6 route show | grep -v '^::1 ' || true`)).trim()).toBe("");
  });

  it("credentials from the environment: up fails on the network, not on credentials; preview, refresh and destroy pass", async () => {
    const conn = ["--config", `connection=${JSON.stringify(SSM)}`, "--config", "withLocal=braws0"];
    const up = await engine("env up", "up", "env", conn);
    expect(up.code).toBe(1);
    expect(up.summary.ok).toBe(false);
    const error = allErrors(up.summary);
    // The SDK found the canaries (no "could not load credentials"), signed the call and could not send it.
    expect(error).toContain("ssm:i-0123456789abcdef0@us-east-1");
    expect(error).toMatch(/SendCommand/);
    expect(error).toMatch(/getaddrinfo|EAI_AGAIN|ENOTFOUND|ENETUNREACH|ECONNREFUSED/);
    expect(error).not.toMatch(/credentials/i);
    // The local bridge (in this test's namespace) was made: state has a resource and its __provider.
    expect(up.summary.resources.find((r) => r.name === "local")).toMatchObject({ op: "create" });
    expect(providerTexts(up.state).length).toBeGreaterThan(0);
    expect((await box.sh(`ip -n ${NETNS} -o link show braws0 | wc -l`)).trim()).toBe("1");

    const preview = await engine("env preview", "preview", "env", conn);
    expect([preview.summary.error, preview.summary.ok]).toEqual([undefined, true]);
    const refresh = await engine("env refresh", "refresh", "env", conn);
    expect([refresh.summary.error, refresh.summary.ok]).toEqual([undefined, true]);
    const destroy = await engine("env destroy", "destroy", "env", conn);
    expect([destroy.summary.error, destroy.summary.ok]).toEqual([undefined, true]);
    expect((await box.sh(`ip -n ${NETNS} -o link show | grep -c braws || true`)).trim()).toBe("0");
  });

  it("credentials from the environment, connections as secret config: up fails the same way; state holds ciphertext; destroy passes", async () => {
    const conn = ["--secret", `secretConnection=${JSON.stringify(SSM)}`, "--config", "withLocal=braws2"];
    const up = await engine("env secret up", "up", "env-secret", conn);
    expect(up.summary.ok).toBe(false);
    expect(allErrors(up.summary)).toMatch(/SendCommand for .* failed: .*(getaddrinfo|EAI_AGAIN|ENOTFOUND|ENETUNREACH)/);
    expect(JSON.stringify(up.state)).toContain("ciphertext");
    expect(fs.existsSync(path.join(tmp, "env-secret", "state.json.key"))).toBe(true);
    const destroy = await engine("env secret destroy", "destroy", "env-secret", conn);
    expect([destroy.summary.error, destroy.summary.ok]).toEqual([undefined, true]);
  });

  it("credentials wrongly in the connection (plain or secret config) are refused at check, values not shown", async () => {
    const plain = { ...SSM, ...INPUT_PLAIN };
    const secret = { ...SSM, credentials: INPUT_SECRET, accessKeyId: INPUT_SECRET.accessKeyId };
    const [p, pp, s] = await Promise.all([
      engine("input plain up", "up", "input-plain", ["--config", `connection=${JSON.stringify(plain)}`]),
      engine("input plain preview", "preview", "input-plain-preview", ["--config", `connection=${JSON.stringify(plain)}`]),
      engine("input secret up", "up", "input-secret", ["--secret", `secretConnection=${JSON.stringify(secret)}`]),
    ]);
    for (const r of [p, pp, s]) {
      expect(r.summary.ok).toBe(false);
      expect(allErrors(r.summary)).toContain("must not carry AWS credentials (values not shown)");
      expect(r.summary.resources.find((x) => x.name === "ssm")?.providerCalls).toEqual(["Check"]);
    }
  });

  it("no canary, nor its base64 or hex, appears in anything captured", () => {
    expect(CANARIES).toHaveLength(9);
    const places = new Set(captured.map(([w]) => w.replace(/^[^:]*: /, "").replace(/^[^/]*\//, "")));
    for (const p of ["stdout (summary)", "stderr (log)", "error", "state.json", "state.json.key", "trace.jsonl", "__provider"]) expect(places).toContain(p);
    // The env canaries were really handed to the engine (in its environment), and the input ones
    // in its arguments: the scan below looks at the output, not the input.
    const outputs = captured.filter(([w]) => !w.endsWith(": argv"));
    const argv = captured.filter(([w]) => w.endsWith(": argv")).map(([, t]) => t).join("\n");
    expect(argv).toContain(INPUT_PLAIN.secretAccessKey);
    expect(outputs.flatMap(([where, text]) => leaksIn(where, text))).toEqual([]);
  });

  it("the scan sees a value the program does leak (positive control: echoed as an output, plain and base64 in JSON)", async () => {
    const control = `AKIA${canary(16, true)}`;
    const seen: Array<[string, string]> = [];
    const r = await engine("control up", "up", "control", ["--config", `echo=${control}`], seen);
    expect([r.summary.error, r.summary.ok]).toEqual([undefined, true]);
    const found = seen.filter(([w]) => !w.endsWith(": argv")).flatMap(([where, text]) => leaksIn(where, text, [control]));
    expect(found).toEqual(
      expect.arrayContaining([`control up: stdout (summary): plaintext ${control.slice(0, 8)}…`, `control up: stdout (summary): encoded ${control.slice(0, 8)}…`, `control up: control/state.json: plaintext ${control.slice(0, 8)}…`]),
    );
  });

  it("the scan would see a canary: plain, hex, and base64 at every alignment inside longer text", () => {
    const v = ENV.secretAccessKey;
    const hits = (text: string) => leaksIn("probe", text, [v]).length;
    expect(hits(`error: ${v}.`)).toBeGreaterThan(0);
    expect(hits(Buffer.from(`x${v}y`).toString("hex"))).toBeGreaterThan(0);
    for (const pad of ["", "a", "ab", "abc"]) expect(hits(`"c":"${Buffer.from(`${pad}${v}}`).toString("base64")}"`)).toBeGreaterThan(0);
    expect(hits(`error: ${v.slice(0, 39)}`)).toBe(0);
  });
});
