import { helloServerCommand } from "../../provider/host/helloServer";
import { shJoin } from "../../provider/host/quote";
import { labProbeProvider, LabProbeInputs, LabProbeOutputs } from "../../provider/resources/labProbe";
import { addBridge, addContainer } from "../support/handmadeContainers";
import { captureConsole, infoOnly } from "../support/consoleCapture";
import { TRANSPORTS, useHost } from "../support/hosts";

// LabProbe against a real kernel, over both transports: br0 with two hand-made containers, an
// HTTP server in c1, no egress (so the stand-in internet is out of reach from the containers).
const GATEWAY = "172.18.0.1";
const C1 = "172.18.0.10";
const C2 = "172.18.0.20";
const INTERNET = "203.0.113.1";
const UPLINK = "198.51.100.2";

describe.each(TRANSPORTS)("LabProbe over %s", (kind) => {
  const host = useHost(kind, "it-probe");
  let server = 0;

  beforeAll(async () => {
    await addBridge(host, "br0", `${GATEWAY}/16`);
    await addContainer(host, "c1", [{ bridge: "br0", cidr: `${C1}/16`, gateway: GATEWAY }]);
    await addContainer(host, "c2", [{ bridge: "br0", cidr: `${C2}/16`, gateway: GATEWAY }]);
    server = Number((await host.sh(`ip netns exec c1 setsid ${shJoin(helloServerCommand(5000, "hello from c1"))} >/dev/null 2>&1 </dev/null & echo $!`)).trim());
    await host.sh(`for i in $(seq 50); do ip netns exec c1 ss -Hltn | grep -q ':5000 ' && exit 0; sleep 0.1; done; exit 1`);
  });
  afterAll(async () => {
    // The server's process group, from here: the sandbox shares this machine's PID namespace,
    // and useHost's afterAll (which deletes the host) may already have run.
    if (server) {
      try {
        process.kill(-server, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });

  /** Paths that hold in this lab, and (sandbox hosts only) from its outside. */
  const goodProbes = () => [
    { name: "c1-gateway", from: "c1", kind: "ping", target: GATEWAY },
    { name: "c1-c2", from: "c1", kind: "ping", target: C2 },
    { name: "host-web", from: "host", kind: "http", target: `${C1}:5000` },
    { name: "c2-web", from: "c2", kind: "tcp", target: `${C1}:5000` },
    { name: "c2-closed", from: "c2", kind: "tcp", target: `${C1}:5001`, expect: "blocked" },
    { name: "no-egress", from: "c1", kind: "ping", target: INTERNET, expect: "blocked" },
    ...(kind === "sandbox"
      ? [
          { name: "outside-host", from: "outside", kind: "ping", target: UPLINK },
          { name: "outside-c1", from: "outside", kind: "tcp", target: `${C1}:5000`, expect: "blocked" },
        ]
      : []),
  ];

  async function checked(news: Record<string, unknown>): Promise<LabProbeInputs> {
    const r = await labProbeProvider.check!({}, { connection: host.connection, ...news });
    expect(r.failures).toEqual([]);
    return r.inputs as LabProbeInputs;
  }

  it("every path as expected: the matrix, the summary, in about two seconds", async () => {
    const inputs = await checked({ probes: goodProbes() });
    const started = Date.now();
    const { result, log } = await captureConsole(() => labProbeProvider.create(inputs));
    const { id, outs } = result;
    expect(Date.now() - started).toBeLessThan(8000); // all probes at once, short timeouts
    expect(id).toMatch(/^probe-[0-9a-f]{12}$/);
    const o = outs as LabProbeOutputs;
    const n = goodProbes().length;
    expect(o.summary).toBe(`${n}/${n} paths as expected`);
    expect(log).toEqual([`lab verification: ${n}/${n} paths as expected`]); // the user's info line
    expect(o.matrix.map((m) => [m.name, m.result, m.ok])).toEqual(goodProbes().map((p) => [p.name, p.expect ?? "reach", true]));
    expect(o.matrix.find((m) => m.name === "host-web")).toMatchObject({ from: "host", target: `${C1}:5000`, detail: "HTTP 200" });
    expect(o.matrix.find((m) => m.name === "c2-closed")).toMatchObject({ detail: "connection refused" });
    // Nothing to delete, and nothing left on the host by the probes.
    await labProbeProvider.delete!(id, outs);
    expect((await host.sh("ls /run/bridgelab 2>/dev/null | grep -c '^probe' || true")).trim()).toBe("0");
  });

  it("paths not as expected fail create, naming each broken path and what happened", async () => {
    const inputs = await checked({
      probes: [
        { name: "c1-gateway", from: "c1", kind: "ping", target: GATEWAY },
        { name: "egress", from: "c1", kind: "ping", target: INTERNET },
        { name: "web-fenced", from: "host", kind: "http", target: `${C1}:5000`, expect: "blocked" },
        { name: "ghost", from: "c9", kind: "tcp", target: `${C1}:5000` },
      ],
    });
    const err = await labProbeProvider.create(inputs).then(
      () => undefined,
      (e: Error) => e,
    );
    const lines = err!.message.split("\n");
    expect(lines[0]).toMatch(/^lab verification on (sandbox|ssh):.*: 3 of 4 paths not as expected:$/);
    expect(lines.slice(1)).toEqual([
      `  egress: c1 → ${INTERNET} (ping) expected reach but: 100% packet loss`,
      `  web-fenced: host → ${C1}:5000 (http) expected blocked but: reached (HTTP 200)`,
      `  ghost: c9 → ${C1}:5000 (tcp) expected reach but: could not probe: no network namespace "c9" on the host`,
    ]);
  });

  it("refresh reports a path that broke as drift; the next up re-verifies and fails naming it; fixed, it passes", async () => {
    const inputs = await checked({ probes: goodProbes(), trigger: 1 });
    const { id, outs } = await infoOnly(() => labProbeProvider.create(inputs));

    await host.sh("ip link set dev v-c1-0 down"); // c1 falls off the bridge
    const { result: read, error } = await captureConsole(() => labProbeProvider.read!(id, outs));
    expect(read.id).toBe(id);
    const drifted = read.props as LabProbeOutputs;
    const broken = drifted.matrix.filter((m) => !m.ok).map((m) => m.name);
    expect(broken).toEqual(expect.arrayContaining(["c1-gateway", "c1-c2", "host-web", "c2-web"]));
    // Refresh tells the user which paths drifted, one line each, as create would fail naming them.
    expect(error).toEqual(broken.map((name) => expect.stringMatching(new RegExp(`^lab verification drift: ${name}: \\S+ → \\S+ \\((ping|http|tcp)\\) expected reach but: `))));
    expect(drifted.summary).toMatch(new RegExp(`^${goodProbes().length - broken.length}/${goodProbes().length} paths as expected; not as expected: c1-gateway, c1-c2`));

    const d = await labProbeProvider.diff!(id, drifted, inputs);
    expect(d).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    await expect(labProbeProvider.update!(id, drifted, inputs)).rejects.toThrow(/c1-gateway: c1 → 172\.18\.0\.1 \(ping\) expected reach but: /);

    await host.sh("ip link set dev v-c1-0 up");
    await host.sh(`for i in $(seq 30); do ip netns exec c1 ping -c3 -i0.2 -W1 ${GATEWAY} >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1`);
    const { result: again, log } = await captureConsole(() => labProbeProvider.update!(id, drifted, inputs));
    const fixed = again.outs as LabProbeOutputs;
    expect(fixed.matrix.every((m) => m.ok)).toBe(true);
    expect(log).toEqual([`lab verification: ${goodProbes().length}/${goodProbes().length} paths as expected`]);
    expect(await labProbeProvider.diff!(id, fixed, inputs)).toMatchObject({ changes: false });
    expect(await labProbeProvider.diff!(id, fixed, { ...inputs, trigger: 2 })).toMatchObject({ changes: true, replaces: [] });
  });

  if (kind === "ssh") {
    it("refuses probes from the outside at check: an SSH host has no stand-in internet of ours", async () => {
      const r = await labProbeProvider.check!({}, { connection: host.connection, probes: [{ name: "in", from: "outside", kind: "ping", target: UPLINK }] });
      expect(r.failures).toEqual([{ property: "probes", reason: expect.stringContaining('probes[0].from "outside" is only meaningful on a sandbox host') }]);
    });
  }
});
