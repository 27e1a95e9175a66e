import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runEngine, EngineSummary } from "../../engine/engine";
import { parseIpLinkJson } from "../../provider/host/ipJson";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";

// The basic stack over the SSH transport: a real sshd inside the sandbox host (reached over
// the stdio of `sshd -i`, no port opened), the connection given as a *secret* stack config
// object holding the private key. The key must reach the host but never the state file, the
// serialized provider, the summary or the logs.
const repo = path.resolve(__dirname, "..", "..");
let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let tmp: string;

beforeAll(async () => {
  box = await makeSandbox("e2e-ssh");
  sshd = await startSshd(box.name);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-e2e-ssh-"));
});
afterAll(async () => {
  await sshd?.stop();
  await box?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const stateFile = () => path.join(tmp, "state.json");
function engine(op: "up" | "destroy"): Promise<EngineSummary> {
  return runEngine({
    op,
    dir: path.join(repo, "labs"),
    stack: "basic",
    stateFile: stateFile(),
    config: { bridgeName: "brssh", netnsName: "nsssh" },
    secretConfig: { connection: JSON.stringify(sshd.connection()) },
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", BRIDGELAB_TRACE_FILE: path.join(tmp, "trace.jsonl") },
  });
}

/** Distinctive pieces of the private key: any one of them in a file is a leak. */
function keyPieces(): string[] {
  return sshd.keys.privateKey
    .split("\n")
    .filter((l) => l.length >= 40 && !l.startsWith("-----"))
    .map((l) => l.slice(0, 40));
}

describe("stack basic over SSH with a secret private key", () => {
  it("up builds on the host through sshd, and the key is nowhere in state, provider or output", async () => {
    const s = await engine("up");
    expect(s.error).toBeUndefined();
    expect(s.ok).toBe(true);
    expect(s.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.op)).toEqual(["create", "create"]);
    expect(parseIpLinkJson(await box.sh("ip -j -d link show dev brssh"))[0]).toMatchObject({ kind: "bridge", ifalias: expect.stringMatching(/^bridgelab:v2:bridge:[0-9a-f]{8}$/) });
    expect((await box.sh("ip netns list")).trim()).toMatch(/^nsssh/);
    // The runs went over SSH: the trace names the ssh transport.
    expect(fs.readFileSync(path.join(tmp, "trace.jsonl"), "utf8")).toMatch(/"host":"ssh:root@/);

    const state = fs.readFileSync(stateFile(), "utf8");
    const everything = [state, JSON.stringify(s)].join("\n");
    expect(keyPieces().length).toBeGreaterThan(0);
    for (const piece of keyPieces()) expect(everything).not.toContain(piece);
    // The connection is stored (read and delete need it) but as ciphertext.
    expect(state).toContain("ciphertext");
    expect(state).not.toContain("BEGIN OPENSSH PRIVATE KEY");
  });

  it("destroy over SSH leaves nothing", async () => {
    const s = await engine("destroy");
    expect(s.ok).toBe(true);
    expect(parseIpLinkJson(await box.sh("ip -j link")).map((l) => l.ifname).sort()).toEqual(["eth0", "lo"]);
    expect((await box.sh("ip netns list")).trim()).toBe("");
  });
});
