import * as fs from "node:fs";
import { alive, changed, expectNothingLeft, expectVerified, ipJson, netnsList, ops, useLab } from "./labHarness";
import { note } from "../support/notes";
import { pluginChildren } from "../support/procTable";

// Issue 7, fault injection on a whole lab (netns-lab through the test engine on a sandbox
// host): the dynamic-provider plugin killed (-9) in the middle of `up`, at two points; the
// host "rebooted" (its namespaces, links, rules, sysctls, /run and processes wiped, inside
// the sandbox only); objects deleted by hand before a destroy without refresh. Every time
// the next `up` converges and verifies, and `destroy` leaves nothing.
const lab = useLab("netns-lab", "e2e-faults");
const pids: number[] = [];
let faults = 0;

afterAll(() => note(`lab faults injected: ${faults}, all recovered`));

/** Custom resources in the engine's state file (written atomically after every operation). */
function stateCount(): number {
  try {
    const s = JSON.parse(fs.readFileSync(lab.stateFile(), "utf8")) as { resources: Array<{ custom: boolean }> };
    return s.resources.filter((r) => r.custom).length;
  } catch {
    return 0; // not written yet
  }
}

/** The dynamic-provider plugin this test process started (through runEngine), if it runs. */
function pluginPid(): number | undefined {
  return pluginChildren()[0];
}

/** Start `up`, and SIGKILL the plugin once the state holds at least `after` resources. */
async function upKilledAfter(after: number): Promise<void> {
  const running = lab.tryEngine("up");
  let done = false;
  void running.then(() => (done = true));
  let killed: number | undefined;
  while (!done && killed === undefined) {
    const pid = stateCount() >= after ? pluginPid() : undefined;
    if (pid) {
      process.kill(pid, "SIGKILL"); // kill -9 <plugin>
      killed = pid;
    } else await new Promise((r) => setTimeout(r, 10));
  }
  const s = await running;
  expect(killed).toBeDefined(); // the up had not finished: the plugin died under it
  expect(s.ok).toBe(false);
  faults++;
}

/**
 * A reboot, inside the sandbox host only: what lives in its network namespace, its /run and
 * its processes goes; the sandbox's own uplink (eth0) and loopback stay, as a host's NICs do.
 */
const REBOOT = [
  "for n in $(ip netns list | cut -d' ' -f1); do ip netns pids $n | xargs -r kill -9; ip netns del $n; done",
  "for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do case $l in lo | eth0) ;; *) ip link del $l 2>/dev/null || true ;; esac; done",
  "printf '*nat\\nCOMMIT\\n*filter\\nCOMMIT\\n*mangle\\nCOMMIT\\n' | iptables-restore", // every rule and chain of ours gone
  "sysctl -qw net.ipv4.ip_forward=0",
  "rm -rf /run/bridgelab",
].join("\n");

describe("netns-lab under faults", () => {
  it("the plugin killed mid-up at two points: each up fails, the next converges and verifies", async () => {
    await upKilledAfter(2);
    const first = stateCount();
    await upKilledAfter(first + 3);
    const s = await lab.engine("up");
    expectVerified(s);
    expect(Object.values(ops(s)).every((op) => op === "same" || op === "create" || op === "update")).toBe(true);
    pids.push((s.outputs.containers as Record<string, { pid: number }>).netns0.pid);
    expect(changed(await lab.engine("up"))).toEqual({});
  });

  it("after a reboot, refresh reports the lab gone, up rebuilds and verifies", async () => {
    const { box } = lab;
    const before = pids[pids.length - 1];
    await box.sh(REBOOT);
    faults++;
    expect(alive(before)).toBe(false);
    expect(await netnsList(box)).toEqual([]);

    const r = await lab.engine("refresh");
    const gone = r.resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic") && x.op === "gone").map((x) => `${x.type.split(":").pop()}:${x.name}`);
    expect(gone).toEqual(expect.arrayContaining(["Bridge:br0", "NetNamespace:netns0", "NetNamespace:netns1", "VethPair:netns0-ceth0", "Process:netns0"]));

    const u = await lab.engine("up");
    expectVerified(u);
    expect(await netnsList(box)).toEqual(["netns0", "netns1"]);
    pids.push((u.outputs.containers as Record<string, { pid: number }>).netns0.pid);
  });

  it("objects deleted by hand (a veth, a namespace, a rule), then destroy without refresh: it completes and leaves nothing", async () => {
    const { box } = lab;
    await box.sh("ip link del veth1");
    await box.sh("ip netns pids netns0 | xargs -r kill -9; ip netns del netns0");
    await box.sh("iptables -t nat -S BRIDGELAB-POSTROUTING | grep 'egress:' | sed 's/^-A/-D/' | xargs -L1 iptables -t nat");
    faults += 3;
    expect((await ipJson<{ ifname: string }>(box, "link")).map((l) => l.ifname)).not.toContain("veth1");

    const s = await lab.engine("destroy");
    expect(new Set(Object.values(ops(s)))).toEqual(new Set(["delete"]));
    await expectNothingLeft(lab, pids);
  });
});
