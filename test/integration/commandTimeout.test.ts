import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { bridgeProvider } from "../../provider/resources/bridge";
import { processProvider } from "../../provider/resources/process";
import { vethPairProvider } from "../../provider/resources/vethPair";
import type { HostConnection } from "../../provider/transport/connection";
import { closeAllSshConnections } from "../../provider/transport/sshPool";
import { hostSnapshot } from "../support/hostSnapshot";
import { note } from "../support/notes";
import { makeSandbox } from "../support/sandboxFixture";
import { SshFaults, makeSshFaults, sessionPids } from "../support/sshFaults";
import { SshdHost, startSshd } from "../support/sshd";

// Issue 7, a command timing out in the middle of a create, over real SSH: a stand-in command
// hangs after step k (sshFaults.ts, plan "k hang"), every run gets a 3 s timeout instead of
// 120 s (the transport wrapped below, tests only). The transport kills the script on the host;
// afterwards no process of it is left, the host holds nothing or all of the object, and a
// retry converges.
const TIMEOUT_MS = 3000;
jest.mock("../../provider/transport/connect", () => {
  const real = jest.requireActual("../../provider/transport/connect");
  return {
    ...real,
    openTransport: (...a: unknown[]) => {
      const t = real.openTransport(...a);
      return { label: t.label, close: () => t.close(), run: (s: string, o: object = {}) => t.run(s, { ...o, timeoutMs: TIMEOUT_MS }) };
    },
  };
});

const PROCESS_ARGV = ["sleep", `${2_000_000 + (process.pid % 100_000)}`];

/** The owner the classes give a resource (its URN): tagged objects and an owner record under /run/bridgelab/owners, part of each snapshot. */
const owner = (type: string, name: string) => `urn:pulumi:timeouts::lab::pulumi-nodejs:dynamic/bridgelab:${type}::${name}`;

let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let faults: SshFaults;
let tmp = "";
let ssh: HostConnection;
let injected = 0;

beforeAll(async () => {
  box = await makeSandbox("it-timeout");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-timeout-"));
  fs.chmodSync(tmp, 0o755);
  faults = makeSshFaults(tmp);
  faults.disarm();
  sshd = await startSshd(box.name, { pathPrepend: [faults.binDir] });
  ssh = sshd.connection();
  await box.sh("ip netns add tpre && ip link add tpbr type bridge && ip addr add 172.31.8.1/24 dev tpbr && ip link set tpbr up");
});

afterAll(async () => {
  note(`command timeouts injected: ${injected}, all recovered`);
  await closeAllSshConnections();
  await sshd?.stop();
  await box?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const KINDS: Array<{ kind: string; provider: pulumi.dynamic.ResourceProvider; news: Record<string, unknown> }> = [
  { kind: "Bridge", provider: bridgeProvider, news: { name: "tbr", address: "172.31.7.1/24" } },
  { kind: "VethPair", provider: vethPairProvider, news: { name: "tveth", owner: owner("VethPair", "tveth"), peerName: "tceth", netns: "tpre", bridge: "tpbr", address: "172.31.8.20/24", gateway: "172.31.8.1" } },
  { kind: "Process", provider: processProvider, news: { name: "tproc", owner: owner("Process", "tproc"), netns: "tpre", command: PROCESS_ARGV } },
];

describe.each(KINDS)("a command of $kind's create times out", (k) => {
  it("kills the script on the host, leaves nothing or all of the object, and a retry converges", async () => {
    const r = await k.provider.check!({}, { connection: ssh, ...k.news });
    expect(r.failures ?? []).toEqual([]);
    const snapshot = () => hostSnapshot(box.sh, PROCESS_ARGV);

    faults.arm(0, "drop"); // count the steps of a clean create (step 0: never fires)
    const ref = await k.provider.create(r.inputs);
    const steps = faults.steps();
    faults.disarm();
    const complete = await snapshot();
    await k.provider.delete!(ref.id, ref.outs);
    const before = await snapshot();

    // Right after the first change (step 2: a check, then the add), and mid-way.
    for (const step of [...new Set([2, Math.ceil(steps / 2)])]) {
      const what = `${k.kind}, hang after step ${step} of ${steps}`;
      faults.arm(step, "hang");
      const err = await k.provider.create(r.inputs).then(
        () => undefined,
        (e: Error) => e,
      );
      faults.disarm();
      const fired = faults.fired();
      expect({ what, fired: fired?.step }).toEqual({ what, fired: step });
      expect({ what, error: err?.message }).toEqual({ what, error: expect.stringMatching(/timed out after 3000 ms and was killed/) });
      // Killed, not left running: nothing remains of the script's session (the hanging command included).
      expect({ what, left: sessionPids(fired!.sid) }).toEqual({ what, left: [] });
      const after = await snapshot();
      if (JSON.stringify(after) !== JSON.stringify(before)) expect({ what, host: after }).toEqual({ what, host: complete });

      const again = await k.provider.create(r.inputs);
      expect({ what, host: await snapshot() }).toEqual({ what, host: complete });
      await k.provider.delete!(again.id, again.outs);
      expect({ what, host: await snapshot() }).toEqual({ what, host: before });
      injected++;
    }
  }, 300_000);
});
