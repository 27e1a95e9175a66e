import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { deleteSandbox } from "../../provider/sandbox/sandboxHost";
import { HostRequirementsError, forgetHostChecks } from "../../provider/resources/preflight";
import { providerFor } from "../../provider/resources/providers";
import type { HostConnection, SshConnection } from "../../provider/transport/connection";
import { HostUnreachableError } from "../../provider/transport/hostErrors";
import { SshAuthError, closeAllSshConnections } from "../../provider/transport/ssh";
import { captureConsole } from "../support/consoleCapture";
import { hostSnapshot } from "../support/hostSnapshot";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";
import { ToolDir, makeToolDir } from "../support/toolDir";

// The rules providers.ts wraps around every provider, called as the plugin calls them
// (providerFor): create and update wait for one check of the host per process and change
// nothing on a host that lacks a tool; read and delete forget what was on a sandbox host that
// is gone, fail on an SSH host that cannot be reached (naming BRIDGELAB_GONE_HOSTS), and skip
// the hosts listed there. The remote calls are counted with BRIDGELAB_TRACE_FILE.
const netns = providerFor("netNamespaceProvider");
const bridge = providerFor("bridgeProvider");
const probe = providerFor("labProbeProvider");

let tmp: string;
let tools: ToolDir;
const traceFile = () => path.join(tmp, "trace.jsonl");
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-hostrules-"));
  tools = makeToolDir();
  process.env.BRIDGELAB_TRACE_FILE = traceFile();
});
afterAll(async () => {
  delete process.env.BRIDGELAB_TRACE_FILE;
  delete process.env.BRIDGELAB_GONE_HOSTS;
  await closeAllSshConnections();
  tools?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  forgetHostChecks();
  fs.writeFileSync(traceFile(), "");
  delete process.env.BRIDGELAB_GONE_HOSTS;
});

/** The remote runs since the test began: host and the script's first line. */
const trace = () =>
  fs
    .readFileSync(traceFile(), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { host: string; script: string });
const isCheck = (r: { script: string }) => r.script === "echo '@@bridgelab about'";

async function checked(p: pulumi.dynamic.ResourceProvider, connection: HostConnection, news: Record<string, unknown>) {
  const r = await p.check!({}, { connection, ...news });
  expect(r.failures).toEqual([]);
  return r.inputs;
}

describe("preflight: one check of the host before its first change", () => {
  let box: Awaited<ReturnType<typeof makeSandbox>>;
  beforeAll(async () => {
    box = await makeSandbox("it-preflight");
  });
  afterAll(async () => {
    await box?.dispose();
  });

  it("parallel creates wait for the same check, run once, before any of them; updates, reads and deletes run none", async () => {
    const c = box.connection;
    const made = await Promise.all([
      netns.create(await checked(netns, c, { name: "pf1" })),
      netns.create(await checked(netns, c, { name: "pf2" })),
      netns.create(await checked(netns, c, { name: "pf3" })),
      bridge.create(await checked(bridge, c, { name: "pfbr", address: "172.30.0.1/24" })),
    ]);
    const runs = trace();
    expect(runs.filter(isCheck)).toHaveLength(1);
    expect(isCheck(runs[0])).toBe(true);
    expect(runs).toHaveLength(5);

    const br = made[3];
    await bridge.update!(br.id, br.outs, { ...(await checked(bridge, c, { name: "pfbr", address: "172.30.0.1/24" })), mtu: 1400 });
    await bridge.read!(br.id, { ...br.outs, mtu: 1400 });
    for (const m of made) await (m === br ? bridge : netns).delete!(m.id, m.outs);
    expect(trace().filter(isCheck)).toHaveLength(1);
    expect(await box.sh("ip netns list; ip -br link show type bridge")).toBe("");
  });

  it("a LabProbe is checked too (on a lab's host the check has run already)", async () => {
    const inputs = await checked(probe, box.connection, { probes: [{ name: "lo", from: "host", kind: "ping", target: "127.0.0.1" }] });
    await captureConsole(() => probe.create(inputs));
    await captureConsole(() => probe.create(inputs));
    expect(trace().map((r) => (isCheck(r) ? "check" : "probe"))).toEqual(["check", "probe", "probe"]);
  });

  describe("over SSH, on a host whose PATH lacks conntrack", () => {
    let sshd: SshdHost;
    let c: SshConnection;
    beforeAll(async () => {
      tools.restore();
      tools.without("conntrack");
      sshd = await startSshd(box.name, { path: [tools.dir] });
      c = sshd.connection();
    });
    afterAll(async () => {
      await closeAllSshConnections();
      await sshd?.stop();
      tools.restore();
    });

    it("refuses every create before anything changes, naming conntrack and its packages, after one check", async () => {
      const before = await hostSnapshot(box.sh);
      const results = await Promise.allSettled([
        netns.create(await checked(netns, c, { name: "pfx1" })),
        bridge.create(await checked(bridge, c, { name: "pfxbr" })),
        probe.create(await checked(probe, c, { probes: [{ name: "lo", from: "host", kind: "ping", target: "127.0.0.1" }] })),
      ]);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
      const e = (results[0] as PromiseRejectedResult).reason as HostRequirementsError;
      expect(e).toBeInstanceOf(HostRequirementsError);
      expect(e.message).toBe(
        [
          `ssh:root@${box.name}:22 lacks what bridgelab runs there, so nothing was changed on it:`,
          "  - conntrack — not found: conntrack (used by PortPublish)",
          "Install it, then run again:",
          "  Debian/Ubuntu (this host): apt-get install -y conntrack",
          "  Amazon Linux: dnf install -y conntrack-tools",
          "(`bridgelab doctor` checks a host without changing it: --sandbox NAME or --connection JSON)",
        ].join("\n"),
      );
      // The others refused with it say so in one line.
      for (const r of results.slice(1)) {
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(HostRequirementsError);
        expect((r as PromiseRejectedResult).reason.message).toBe(
          `ssh:root@${box.name}:22 lacks conntrack, so nothing was changed on it (how to install it: the first error of this run, or \`bridgelab doctor\`)`,
        );
      }
      expect(trace().map((r) => [r.host, isCheck(r)])).toEqual([[`ssh:root@${box.name}:22`, true]]);
      expect(await hostSnapshot(box.sh)).toEqual(before);

      // An update is refused the same way, with no second check; a delete is not checked.
      await expect(bridge.update!("pfxbr", { connection: c, name: "pfxbr", mtu: 1500, up: true }, { connection: c, name: "pfxbr", mtu: 1400, up: true })).rejects.toThrow(
        `ssh:root@${box.name}:22 lacks conntrack, so nothing was changed on it`,
      );
      await bridge.delete!("pfxbr", { connection: c, name: "pfxbr", mtu: 1500, up: true });
      expect(trace().filter(isCheck)).toHaveLength(1);
    });

    it("EcsHostCheck is not checked: it changes nothing, and ECS hosts run Docker's rules, not bridgelab's", async () => {
      const ecs = providerFor("ecsHostCheckProvider");
      // Its own check may fail or pass; what matters is that the preflight did not run.
      const { inputs, failures } = await ecs.check!({}, { connections: [c], requireConsistent: false });
      expect(failures).toEqual([]);
      await captureConsole(() => ecs.create(inputs).catch(() => undefined));
      expect(trace().length).toBeGreaterThan(0); // its own look at the host
      expect(trace().filter(isCheck)).toEqual([]);
    });
  });
});

describe("read and delete when the host is gone", () => {
  it("a sandbox host deleted with the lab in it: delete succeeds and read says gone, said once in the log", async () => {
    const box = await makeSandbox("it-gone");
    let made: Array<{ p: pulumi.dynamic.ResourceProvider; id: string; outs: Record<string, unknown> }> = [];
    try {
      const n = await netns.create(await checked(netns, box.connection, { name: "gone1" }));
      const b = await bridge.create(await checked(bridge, box.connection, { name: "gonebr" }));
      made = [
        { p: netns, id: n.id, outs: n.outs },
        { p: bridge, id: b.id, outs: b.outs },
      ];
    } finally {
      await deleteSandbox(box.name);
    }
    fs.writeFileSync(traceFile(), "");
    const { error } = await captureConsole(async () => {
      for (const m of made) expect(await m.p.read!(m.id, m.outs)).toEqual({ id: "", props: {} });
      for (const m of made) await expect(m.p.delete!(m.id, m.outs)).resolves.toBeUndefined();
    });
    expect(error).toEqual([expect.stringMatching(new RegExp(`^sandbox host "${box.name}" no longer exists \\(not in .*\\): nothing of it is left, so its resources are forgotten$`))]);
    // A create on it still fails, saying how to make it.
    await expect(netns.create(await checked(netns, box.connection, { name: "gone2" }))).rejects.toThrow(`sandbox host "${box.name}" does not exist; create it with`);
  });

  describe("an SSH host that cannot be reached (its proxy command exits at once)", () => {
    const marker = () => path.join(tmp, "dialed");
    const c = (): SshConnection => ({ kind: "ssh", host: "10.0.0.5", user: "admin", password: "not-used", insecureSkipHostKeyCheck: true, proxyCommand: `touch ${marker()}; exit 1`, dialAttempts: 1 });
    const props = () => ({ connection: c(), name: "br0", mtu: 1500, up: true, ifindex: 3, mac: "02:42:ac:12:00:01" });

    it("fails delete and read naming the host and BRIDGELAB_GONE_HOSTS, forgetting nothing", async () => {
      const e = (await bridge.delete!("br0", props()).catch((x) => x)) as Error;
      expect(e).toBeInstanceOf(HostUnreachableError);
      // (ssh2 words the cut either as a closed handshake or as a connection lost before it.)
      expect(e.message).toMatch(/^ssh:admin@10\.0\.0\.5:22: cannot be reached \(.*\(proxy command exited 1\)\), so Bridge br0 cannot be deleted\. /);
      expect(e.message.replace(/^.*cannot be deleted\. /, "")).toBe(
        "If the host is only down, bring it back (or fix the connection) and run again. If it is gone for good (a terminated VM), nothing on it needs deleting: " +
          "run again with BRIDGELAB_GONE_HOSTS=ssh:admin@10.0.0.5:22 (several hosts: comma-separated) and bridgelab forgets that host's resources without contacting it.",
      );
      await expect(bridge.read!("br0", props())).rejects.toThrow(/so Bridge br0 cannot be read\. .*BRIDGELAB_GONE_HOSTS=ssh:admin@10\.0\.0\.5:22/);
      expect(fs.existsSync(marker())).toBe(true);
    });

    it("with the host in BRIDGELAB_GONE_HOSTS: delete and read succeed without contacting it", async () => {
      fs.rmSync(marker(), { force: true });
      process.env.BRIDGELAB_GONE_HOSTS = "ssh:admin@10.0.0.5:22";
      const { error } = await captureConsole(async () => {
        await expect(bridge.delete!("br0", props())).resolves.toBeUndefined();
        await expect(bridge.read!("br0", props())).resolves.toEqual({ id: "", props: {} });
      });
      expect(fs.existsSync(marker())).toBe(false);
      expect(trace()).toEqual([]);
      expect(error).toEqual([expect.stringMatching(/^ssh:admin@10\.0\.0\.5:22 is listed in BRIDGELAB_GONE_HOSTS, so it is treated as gone without being contacted/)]);
      // Exactly the hosts listed: the same address as another user is another host.
      await expect(bridge.delete!("br0", { ...props(), connection: { ...c(), user: "root" } })).rejects.toThrow(/BRIDGELAB_GONE_HOSTS=ssh:root@10\.0\.0\.5:22/);
    });
  });

  it("a host that answers and refuses the key is not taken for gone, and the error does not suggest it", async () => {
    const box = await makeSandbox("it-refuse");
    const sshd = await startSshd(box.name);
    try {
      const e = (await bridge.delete!("br0", { connection: sshd.connection({ privateKey: sshd.keys.strangerKey }), name: "br0", mtu: 1500, up: true }).catch((x) => x)) as Error;
      expect(e).toBeInstanceOf(SshAuthError);
      expect(e.message).not.toContain("BRIDGELAB_GONE_HOSTS");
    } finally {
      await closeAllSshConnections();
      await sshd.stop();
      await box.dispose();
    }
  });
});
