import type * as pulumi from "@pulumi/pulumi";
import { helloServerCommand } from "../../provider/host/helloServer";
import { bridgeProvider } from "../../provider/resources/bridge";
import { egressProvider } from "../../provider/resources/egress";
import { labProbeProvider } from "../../provider/resources/labProbe";
import { netNamespaceProvider } from "../../provider/resources/netNamespace";
import { portPublishProvider } from "../../provider/resources/portPublish";
import { processProvider } from "../../provider/resources/process";
import { vethPairProvider } from "../../provider/resources/vethPair";
import { closeAllSshConnections, sshPoolHolders, sshPoolStats } from "../../provider/transport/sshPool";
import type { HostConnection } from "../../provider/transport/connection";
import { alive } from "../e2e/labHarness";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, sshdPidsUsing, startSshd } from "../support/sshd";
import {
  Box,
  CYCLES,
  CycleFigures,
  HostSnapshot,
  fdKinds,
  hostSnapshot,
  labNamespaceIds,
  openFds,
  processesInSandbox,
  settle,
  sshSessionsGone,
  summaryLine,
} from "./soakSupport";

// Soak (issue 7), in one long-lived process: the netns-lab's resources driven through the
// provider objects in this jest process — as one dynamic-provider plugin would serve them if
// it lived for a whole day — over SSH (sshd -i in the sandbox host). CYCLES (20) cycles of
// create (in the engine's parallel waves) → in-place update (MTU, re-probe) → delete. After
// every cycle, once the pool's idle connection has closed, this process holds exactly the file
// descriptors it held after the first cycle, the pool no connection, the sandbox no sshd
// session and no process, and the host is back to its baseline. The engine soak cannot show
// this: there, every run is a new plugin process.
type Provider = pulumi.dynamic.ResourceProvider;
interface Made {
  provider: Provider;
  id: string;
  outs: Record<string, any>;
}

let box: Box;
let sshd: SshdHost;
let connection: HostConnection;
let baseline: HostSnapshot;
/** This process's fds once the first cycle is over and everything settled (modules loaded, pool closed, proxy pipes closed). */
let steadyFds: Map<string, string> | undefined;
let fdsBefore = 0;
const figures: CycleFigures[] = [];
let failedAt = 0;

beforeAll(async () => {
  // LabProbe prints its summary line on every create and update: 40 lines of noise here.
  jest.spyOn(console, "log").mockImplementation(() => undefined);
  box = await makeSandbox("soak-prov");
  sshd = await startSshd(box.name);
  connection = sshd.connection();
  baseline = await hostSnapshot(box);
  fdsBefore = openFds().size;
});
afterAll(async () => {
  if (figures.length) process.stderr.write(summaryLine("provider objects create/update/delete in one process over SSH", figures) + `; fds before the first cycle ${fdsBefore}\n`);
  await closeAllSshConnections();
  await sshd?.stop();
  await box?.dispose();
});

const probes = [
  { name: "netns0-netns1", from: "netns0", kind: "ping", target: "172.18.0.20" },
  { name: "netns1-gateway", from: "netns1", kind: "ping", target: "172.18.0.1" },
  { name: "netns1-egress", from: "netns1", kind: "ping", target: "203.0.113.1" },
  { name: "host-netns0", from: "host", kind: "http", target: "172.18.0.10:5000" },
  { name: "netns1-published", from: "netns1", kind: "http", target: "198.51.100.2:5000" },
  { name: "netns0-closed", from: "netns0", kind: "tcp", target: "172.18.0.20:5000", expect: "blocked" },
];

describe(`soak: ${CYCLES} cycles of the netns-lab's resources in one process over SSH`, () => {
  it("the sandbox host at rest has no lab and no process in its namespaces; the pool is empty", () => {
    expect(baseline.netns).toEqual([]);
    expect(processesInSandbox(box)).toEqual([]);
    expect(sshPoolStats().open).toBe(0);
  });

  it.each(Array.from({ length: CYCLES }, (_, i) => i + 1))("cycle %i: create, update, delete; fds, connections, processes and host back to baseline", async (cycle) => {
    if (failedAt) throw new Error(`not run: cycle ${failedAt} failed`);
    failedAt = cycle;
    const started = Date.now();
    const dialsBefore = sshPoolStats().dials;
    const leaks: string[] = [];
    const peak = { create: 0, update: 0, delete: 0 };
    let maxOpen = 0;
    const sample = (phase: keyof typeof peak) => {
      peak[phase] = Math.max(peak[phase], openFds().size);
      maxOpen = Math.max(maxOpen, sshPoolStats().open);
    };

    const made: Made[] = [];
    const make = async (provider: Provider, news: Record<string, unknown>): Promise<Made> => {
      const c = await provider.check!({}, { connection, ...news });
      expect(c.failures ?? []).toEqual([]);
      const r = await provider.create(c.inputs);
      sample("create");
      const m = { provider, id: r.id, outs: r.outs };
      made.push(m);
      return m;
    };
    const change = async (m: Made, news: Record<string, unknown>): Promise<void> => {
      const c = await m.provider.check!(m.outs, { ...m.outs, ...news });
      expect(c.failures ?? []).toEqual([]);
      const d = await m.provider.diff!(m.id, m.outs, c.inputs);
      expect(d.replaces ?? []).toEqual([]);
      m.outs = (await m.provider.update!(m.id, m.outs, c.inputs)).outs;
      sample("update");
    };

    // create, in the waves the engine would run them in.
    await Promise.all([make(netNamespaceProvider, { name: "netns0" }), make(netNamespaceProvider, { name: "netns1" }), make(bridgeProvider, { name: "br0", address: "172.18.0.1/16", mtu: 1500 })]);
    const veth = (i: number) => ({ name: `veth${i}`, peerIfname: `ceth${i}`, netns: `netns${i}`, bridge: "br0", address: `172.18.0.${i + 1}0/16`, gateway: "172.18.0.1", mtu: 1500 });
    const [veth0, veth1] = await Promise.all([make(vethPairProvider, veth(0)), make(vethPairProvider, veth(1))]);
    const [, web] = await Promise.all([
      make(egressProvider, { name: "br0", bridge: "br0", subnet: "172.18.0.0/16" }),
      make(processProvider, { name: "netns0", netns: "netns0", command: helloServerCommand(5000, "hello from netns0", "172.18.0.10") }),
    ]);
    await make(portPublishProvider, { name: "netns0-tcp-5000", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 5000, address: "172.18.0.10", port: 5000, bridge: "br0" });
    await box.sh("for i in $(seq 50); do ip netns exec netns0 ss -Hltn | grep -q ':5000 ' && exit 0; sleep 0.1; done; exit 1");
    const probe = await make(labProbeProvider, { probes, trigger: `${cycle}-1500` });
    expect(probe.outs.summary).toBe(`${probes.length}/${probes.length} paths as expected`);
    const labNetns = await labNamespaceIds(box);
    expect(labNetns).toHaveLength(2);
    expect(alive(web.outs.pid)).toBe(true);

    // update in place: the MTU, then the probe again.
    const br0 = made.find((m) => m.provider === bridgeProvider)!;
    await change(br0, { mtu: 1400 });
    await Promise.all([change(veth0, { mtu: 1400 }), change(veth1, { mtu: 1400 })]);
    await change(probe, { trigger: `${cycle}-1400` });
    expect(probe.outs.summary).toBe(`${probes.length}/${probes.length} paths as expected`);
    expect(await box.sh("cat /sys/class/net/br0/mtu; ip netns exec netns1 cat /sys/class/net/ceth1/mtu")).toBe("1400\n1400\n");

    // delete, dependents first.
    for (const m of [...made].reverse()) {
      await m.provider.delete!(m.id, m.outs);
      sample("delete");
    }

    // The host and its processes.
    expect(await hostSnapshot(box)).toEqual(baseline);
    expect(alive(web.outs.pid)).toBe(false);
    await settle(() => processesInSandbox(box, labNetns).length === 0);
    expect(processesInSandbox(box, labNetns)).toEqual([]);

    // This process: every transport closed, one SSH connection at most at any time; once idle
    // the pool closes it (after LINGER_MS), its sshd session ends, and the fds are those of the
    // steady state.
    if (sshPoolHolders() !== 0) leaks.push(`${sshPoolHolders()} SSH transport(s) opened and never closed`);
    if (maxOpen > 1) leaks.push(`${maxOpen} SSH connections to one host open at once`);
    await settle(() => sshPoolStats().open === 0);
    if (sshPoolStats().open !== 0) leaks.push(`the pool still holds ${sshPoolStats().open} connection(s) with nothing running`);
    await sshSessionsGone(sshd.dir);
    const sessions = sshdPidsUsing(sshd.dir);
    if (sessions.length) leaks.push(`sshd sessions left: ${sessions.join(", ")}`);
    // (The proxy command's pipes close a moment after its process is gone: settle first.
    // The steady state is the first cycle's, which is the count before it unless a module
    // opened something for good on first use.)
    await settle(() => openFds().size <= (steadyFds?.size ?? fdsBefore), 5_000);
    steadyFds ??= openFds();
    const steady = steadyFds;
    const now = openFds();
    if (now.size > steady.size) {
      const extra = [...now].filter(([fd, t]) => steady.get(fd) !== t).map(([fd, t]) => `${fd} → ${t}`);
      leaks.push(`${now.size - steady.size} more fds than after cycle 1 (${JSON.stringify(fdKinds(now))} vs ${JSON.stringify(fdKinds(steady))}): ${extra.join(", ")}`);
    }

    figures.push({ cycle, peakFds: { ...peak, settled: now.size }, dials: { cycle: sshPoolStats().dials - dialsBefore }, seconds: (Date.now() - started) / 1000, leaks });
    expect(leaks).toEqual([]);
    failedAt = 0;
  }, 120_000);

  it(`ran all ${CYCLES} cycles with no leak`, () => {
    expect(figures).toHaveLength(CYCLES);
    expect(figures.flatMap((f) => f.leaks)).toEqual([]);
    // Nothing creeps up even within the slack of a cycle: the last cycle's peaks are the first's.
    const [first, last] = [figures[0], figures[figures.length - 1]];
    for (const phase of ["create", "update", "delete"]) expect(last.peakFds[phase]).toBeLessThanOrEqual(first.peakFds[phase] + 2);
  });
});
