import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runEngine, EngineSummary } from "../../engine/engine";
import type { SshConnection } from "../../provider/transport/connection";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";
import { providerTexts } from "../support/stateTexts";

// Issue 7, part 4: the basic stack over SSH with secret credentials — a private key with a
// passphrase, and a password — through up, refresh and destroy, plus failing runs with a wrong
// passphrase and a wrong password. Everything the engine leaves or prints is captured: the state
// file after each step, the summaries (errors included), every log line (onLog), the trace and
// each resource's serialized `__provider`. No secret value may appear in any of it, and the
// connection in state must be ciphertext.
const repo = path.resolve(__dirname, "..", "..");
let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let tmp: string;

/** Everything captured, by where it came from. */
const captured: Array<[where: string, text: string]> = [];
const WRONG_PASSWORD = `wrong-pw-${process.pid}-x7q`;
const WRONG_PASSPHRASE = `wrong-passphrase-${process.pid}-k2v`;

beforeAll(async () => {
  box = await makeSandbox("e2e-sec");
  sshd = await startSshd(box.name, { password: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-e2e-sec-"));
});
afterAll(async () => {
  await sshd?.stop();
  await box?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function engine(label: string, op: "up" | "refresh" | "destroy", connection: Partial<SshConnection>, names: { bridge: string; netns: string }): Promise<EngineSummary> {
  const stateFile = path.join(tmp, `${names.bridge}.state.json`);
  const trace = path.join(tmp, `${names.bridge}.trace.jsonl`);
  const logs: string[] = [];
  const s = await runEngine({
    op,
    dir: path.join(repo, "labs"),
    stack: "basic",
    stateFile,
    config: { bridgeName: names.bridge, netnsName: names.netns },
    secretConfig: { connection: JSON.stringify(connection) },
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", BRIDGELAB_TRACE_FILE: trace },
    onLog: (l) => logs.push(l),
  });
  captured.push([`${label}: summary`, JSON.stringify(s)], [`${label}: logs`, logs.join("\n")]);
  if (s.error) captured.push([`${label}: error`, s.error]);
  if (fs.existsSync(stateFile)) {
    const state = fs.readFileSync(stateFile, "utf8");
    captured.push([`${label}: state`, state]);
    for (const p of providerTexts(JSON.parse(state))) captured.push([`${label}: __provider`, p]);
  }
  if (fs.existsSync(trace)) captured.push([`${label}: trace`, fs.readFileSync(trace, "utf8")]);
  return s;
}

/** The secret values: every body line of both key texts, the passphrase, the password and the wrong ones. */
function secrets(): string[] {
  const lines = (k: string) => k.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
  return [...lines(sshd.keys.privateKey), ...lines(sshd.keys.encryptedKey), sshd.keys.passphrase, sshd.password!, WRONG_PASSWORD, WRONG_PASSPHRASE];
}

describe("secrets over SSH: keys, passphrases and passwords never reach state, provider, logs or errors", () => {
  const keyConn = () => ({ ...sshd.connection(), privateKey: sshd.keys.encryptedKey, passphrase: sshd.keys.passphrase });
  const pwConn = () => {
    const c: Partial<SshConnection> = { ...sshd.connection(), password: sshd.password };
    delete c.privateKey;
    return c;
  };
  const K = { bridge: "brseck", netns: "nsseck" };
  const W = { bridge: "brsecp", netns: "nssecp" };

  it("key with a passphrase: up, refresh, destroy", async () => {
    for (const op of ["up", "refresh", "destroy"] as const) {
      const s = await engine(`key ${op}`, op, keyConn(), K);
      expect([op, s.error]).toEqual([op, undefined]);
      expect(s.ok).toBe(true);
      if (op === "up") {
        expect((await box.sh("ip netns list")).trim()).toMatch(/^nsseck/);
        const state = fs.readFileSync(path.join(tmp, "brseck.state.json"), "utf8");
        expect(state).toContain("ciphertext");
        expect(state).not.toContain('"privateKey"');
        expect(state).not.toContain('"passphrase"');
      }
    }
    expect((await box.sh("ip netns list")).trim()).toBe("");
  });

  it("password: up, destroy", async () => {
    for (const op of ["up", "destroy"] as const) {
      const s = await engine(`password ${op}`, op, pwConn(), W);
      expect([op, s.error]).toEqual([op, undefined]);
      if (op === "up") expect(fs.readFileSync(path.join(tmp, "brsecp.state.json"), "utf8")).not.toContain('"password"');
    }
    expect((await box.sh("ip netns list")).trim()).toBe("");
  });

  it("error paths: a wrong password and a wrong passphrase fail without echoing them", async () => {
    const [badPw, badPp] = await Promise.all([
      engine("wrong password", "up", { ...pwConn(), password: WRONG_PASSWORD }, { bridge: "brsece", netns: "nssece" }),
      engine("wrong passphrase", "up", { ...keyConn(), passphrase: WRONG_PASSPHRASE }, { bridge: "brsecf", netns: "nssecf" }),
    ]);
    expect(badPw.ok).toBe(false);
    expect(badPp.ok).toBe(false);
    const errors = [badPw, badPp].map((s) => [s.error ?? "", ...s.resources.map((r) => r.error ?? "")].join("\n"));
    expect(errors[0]).toMatch(/auth|password/i);
    expect(errors[1]).toMatch(/passphrase|decrypt|key/i);
    expect((await box.sh("ip netns list")).trim()).toBe("");
  });

  it("no secret value appears in anything captured", () => {
    const values = secrets();
    expect(values.length).toBeGreaterThan(6);
    expect(captured.length).toBeGreaterThan(20);
    expect(captured.some(([w]) => w.endsWith("__provider"))).toBe(true);
    const leaks = captured.flatMap(([where, text]) => values.filter((v) => text.includes(v)).map((v) => `${where}: ${v.slice(0, 12)}…`));
    expect(leaks).toEqual([]);
  });
});
