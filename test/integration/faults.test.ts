import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { bridgeProvider } from "../../provider/resources/bridge";
import { bridgeIsolationProvider } from "../../provider/resources/bridgeIsolation";
import { egressProvider } from "../../provider/resources/egress";
import { netNamespaceProvider } from "../../provider/resources/netNamespace";
import { portPublishProvider } from "../../provider/resources/portPublish";
import { processProvider } from "../../provider/resources/process";
import { vethPairProvider } from "../../provider/resources/vethPair";
import type { HostConnection } from "../../provider/transport/connection";
import { closeAllSshConnections } from "../../provider/transport/sshPool";
import { HostSnapshot, hostSnapshot } from "../support/hostSnapshot";
import { note } from "../support/notes";
import { makeSandbox } from "../support/sandboxFixture";
import { FaultMode, SshFaults, makeSshFaults, waitSessionGone } from "../support/sshFaults";
import { SshdHost, startSshd } from "../support/sshd";

// Issue 7, fault injection: the SSH connection cut after every step of every multi-step
// create, over the real SSH transport to a real sshd inside a sandbox host. The scripts the
// provider sends are untouched; stand-in commands on the session's PATH count the steps and
// cut the connection after step k (sshFaults.ts). Two kinds of cut:
//   hup   sshd dies and the shell gets SIGHUP (a pty, sudo's use_pty): its trap must undo
//   drop  sshd dies, the script's shell runs on (OpenSSH sends no SIGHUP without a pty): the
//         object is all there, the call failed, and the retry must adopt it
// After each: the call rejects with "connection lost", the host holds either nothing of the
// object or all of it (never half), a retry of create converges to exactly what a clean
// create makes (adopting what is there), and delete returns the host to where it started.

const PROCESS_ARGV = ["sleep", `${1_000_000 + (process.pid % 100_000)}`]; // told apart from other sleeps by its argument

/** The owner the classes give a resource (its URN): tagged objects and an owner record under /run/bridgelab/owners, part of each snapshot. */
const owner = (type: string, name: string) => `urn:pulumi:faults::lab::pulumi-nodejs:dynamic/bridgelab:${type}::${name}`;

interface Kind {
  kind: string;
  provider: pulumi.dynamic.ResourceProvider;
  news: Record<string, unknown>;
  /** Cut modes not tried, and why. */
  skip?: { mode: FaultMode; why: string };
}

const KINDS: Kind[] = [
  { kind: "NetNamespace", provider: netNamespaceProvider, news: { name: "fns", owner: owner("NetNamespace", "fns") } },
  { kind: "Bridge", provider: bridgeProvider, news: { name: "fbr", address: "172.31.1.1/24" } },
  {
    kind: "VethPair",
    provider: vethPairProvider,
    news: { name: "fveth", owner: owner("VethPair", "fveth"), peerName: "fceth", netns: "fpre", bridge: "fpbr", address: "172.31.9.20/24", gateway: "172.31.9.1", mac: "02:42:ac:1f:09:14" },
  },
  { kind: "Egress", provider: egressProvider, news: { name: "fpbr", owner: owner("Egress", "fpbr"), bridge: "fpbr", subnet: "172.31.9.0/24" } },
  { kind: "BridgeIsolation", provider: bridgeIsolationProvider, news: { bridge: "fpbr", owner: owner("BridgeIsolation", "fpbr") } },
  {
    kind: "PortPublish",
    provider: portPublishProvider,
    news: { name: "fweb", owner: owner("PortPublish", "fweb"), hostPort: 18080, address: "172.31.9.10", port: 5000, bridge: "fpbr" },
  },
  { kind: "Process", provider: processProvider, news: { name: "fproc", owner: owner("Process", "fproc"), netns: "fpre", command: PROCESS_ARGV } },
];

const MODES: FaultMode[] = ["hup", "drop"];

let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let faults: SshFaults;
let tmp = "";
let ssh: HostConnection;
const injected: Record<string, number> = {};

beforeAll(async () => {
  box = await makeSandbox("it-faults");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-faults-"));
  fs.chmodSync(tmp, 0o755);
  faults = makeSshFaults(tmp);
  faults.disarm();
  sshd = await startSshd(box.name, { pathPrepend: [faults.binDir] });
  ssh = sshd.connection();
  // What the objects under test stand on, made by hand: a "container" netns fpre on bridge fpbr.
  await box.sh(
    [
      "ip netns add fpre",
      "ip link add fpbr type bridge && ip addr add 172.31.9.1/24 dev fpbr && ip link set fpbr up",
      "ip link add fpv type veth peer name eth0 netns fpre && ip link set fpv master fpbr up",
      "ip -n fpre addr add 172.31.9.10/24 dev eth0 && ip -n fpre link set eth0 up && ip -n fpre link set lo up",
    ].join("\n"),
  );
});

afterAll(async () => {
  const total = Object.values(injected).reduce((a, b) => a + b, 0);
  note(`SSH cuts injected: ${total}, all recovered (${Object.entries(injected).map(([k, n]) => `${k} ${n}`).join(", ")})`);
  await closeAllSshConnections();
  await sshd?.stop();
  await box?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function checked(k: Kind): Promise<Record<string, unknown>> {
  const r = await k.provider.check!({}, { connection: ssh, ...k.news });
  expect(r.failures ?? []).toEqual([]);
  return r.inputs;
}

const snapshot = () => hostSnapshot(box.sh, PROCESS_ARGV);

/** Neither nothing nor everything: say what differs from the complete object. */
function expectNothingOrAll(after: HostSnapshot, before: HostSnapshot, complete: HostSnapshot, what: string): void {
  if (JSON.stringify(after) === JSON.stringify(before)) return;
  if (JSON.stringify(after) === JSON.stringify(complete)) return;
  try {
    expect(after).toEqual(complete);
  } catch (e) {
    (e as Error).message = `${what}: the host holds part of the object\n${(e as Error).message}`;
    throw e;
  }
}

describe.each(KINDS)("SSH cut at every step of create: $kind", (k) => {
  it("leaves nothing or all of it; a retry converges and delete restores the host", async () => {
    const inputs = await checked(k);
    const create = () => k.provider.create(inputs);

    // A clean run first: the number of steps, the complete object, and the host without it.
    // (The first create and delete also leave the host lock file, part of every later snapshot.)
    faults.arm(0, "drop"); // count only
    const ref = await create();
    const steps = faults.steps();
    faults.disarm();
    const complete = await snapshot();
    await k.provider.delete!(ref.id, ref.outs);
    const before = await snapshot();
    expect(steps).toBeGreaterThan(1);
    expect(complete).not.toEqual(before);

    for (const mode of MODES.filter((m) => m !== k.skip?.mode)) {
      // A dropped connection leaves the shell running to the end whatever the step, so
      // drop is tried after the first and the last step only; a hangup after every step.
      for (const step of mode === "drop" ? [1, steps] : Array.from({ length: steps }, (_, i) => i + 1)) {
        const what = `${k.kind}, ${mode} after step ${step} of ${steps}`;
        faults.arm(step, mode);
        const err = await create().then(
          () => undefined,
          (e: Error) => e,
        );
        faults.disarm();
        const fired = faults.fired();
        expect({ what, fired: fired?.step, refused: faults.refused() }).toEqual({ what, fired: step, refused: undefined });
        expect({ what, error: err?.message }).toEqual({ what, error: expect.stringMatching(/connection lost while running/) });
        // The shell may still be running (drop): judge the host once it is done.
        await waitSessionGone(fired!.sid);
        expectNothingOrAll(await snapshot(), before, complete, what);

        const again = await create();
        expect({ what, id: again.id }).toEqual({ what, id: ref.id });
        expect({ what, host: await snapshot() }).toEqual({ what, host: complete });
        await k.provider.delete!(again.id, again.outs);
        expect({ what, host: await snapshot() }).toEqual({ what, host: before });
        injected[k.kind] = (injected[k.kind] ?? 0) + 1;
      }
    }
  }, 600_000);
});
