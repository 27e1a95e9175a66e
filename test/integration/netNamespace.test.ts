import * as fs from "node:fs";
import { netNamespaceProvider, NetNamespaceInputs, NetNamespaceOutputs } from "../../provider/resources/netNamespace";
import { parseIpLinkJson } from "../../provider/host/ipJson";
import { captureConsole } from "../support/consoleCapture";
import { makeSandbox } from "../support/sandboxFixture";

function processAlive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

let box: Awaited<ReturnType<typeof makeSandbox>>;
beforeAll(async () => {
  box = await makeSandbox("it-netns");
});
afterAll(async () => {
  await box?.dispose();
});

const list = async () => (await box.sh("ip netns list")).split("\n").map((l) => l.split(" ")[0]).filter(Boolean);

async function checked(name: string): Promise<NetNamespaceInputs> {
  const r = await netNamespaceProvider.check!({}, { connection: box.connection, name });
  expect(r.failures).toEqual([]);
  return r.inputs as NetNamespaceInputs;
}

describe("NetNamespace on a sandbox host", () => {
  it("creates with lo up and the tag, reads, and deletes idempotently", async () => {
    const { id, outs } = await netNamespaceProvider.create(await checked("netns0"));
    expect(id).toBe("netns0");
    expect(await list()).toEqual(["netns0"]);
    const [lo] = parseIpLinkJson(await box.sh("ip -n netns0 -j link show dev lo"));
    expect(lo.flags).toContain("UP");
    expect(lo.ifalias).toBe("bridgelab:v1:netns");
    expect(outs).toMatchObject({ name: "netns0", path: "/run/netns/netns0" });
    expect(outs.inode).toBe(Number((await box.sh("stat -L -c %i /run/netns/netns0")).trim()));

    expect(await netNamespaceProvider.read!(id, outs)).toEqual({ id, props: outs });

    // A process still inside is killed by delete, so nothing is left running.
    await box.sh("ip netns exec netns0 sleep 600 >/dev/null 2>&1 &");
    const pids = (await box.sh("ip netns pids netns0")).trim().split("\n").filter(Boolean);
    expect(pids.length).toBeGreaterThan(0);
    await netNamespaceProvider.delete!(id, outs);
    expect(await list()).toEqual([]);
    // A sandbox has no PID namespace of its own: look at exactly our process. Killed
    // processes may linger as zombies until init reaps them; those count as gone.
    for (const pid of pids) expect(processAlive(Number(pid))).toBe(false);
    await expect(netNamespaceProvider.delete!(id, outs)).resolves.toBeUndefined();
  });

  it("read reports a namespace deleted by hand as gone, and create makes it again", async () => {
    const { id, outs } = await netNamespaceProvider.create(await checked("netns1"));
    await box.sh("ip netns del netns1");
    expect(await netNamespaceProvider.read!(id, outs)).toEqual({ id: "", props: {} });
    await expect(netNamespaceProvider.delete!(id, outs)).resolves.toBeUndefined();
    const again = await netNamespaceProvider.create(await checked("netns1"));
    expect(await list()).toEqual(["netns1"]);
    await netNamespaceProvider.delete!(id, again.outs as NetNamespaceOutputs);
  });

  it("refuses a foreign namespace of the same name and never deletes it", async () => {
    await box.sh("ip netns add theirs");
    await expect(netNamespaceProvider.create(await checked("theirs"))).rejects.toThrow(
      /network namespace "theirs" already exists on sandbox:it-netns-\d+-\d+ and is not managed by bridgelab .*ip netns del theirs/,
    );
    const { error } = await captureConsole(() => netNamespaceProvider.delete!("theirs", { connection: box.connection, name: "theirs", path: "/run/netns/theirs", inode: 0 }));
    expect(error).toEqual([`network namespace "theirs" on sandbox:${box.name} is not ours (no bridgelab tag); left in place`]);
    expect(await list()).toEqual(["theirs"]);
    await box.sh("ip netns del theirs");
  });

  it("adopts its own namespace left by an interrupted create", async () => {
    await box.sh("ip netns add half && ip -n half link set dev lo alias bridgelab:v1:netns");
    const { outs } = await netNamespaceProvider.create(await checked("half"));
    const [lo] = parseIpLinkJson(await box.sh("ip -n half -j link show dev lo"));
    expect(lo.flags).toContain("UP");
    await netNamespaceProvider.delete!("half", outs);
    expect(await list()).toEqual([]);
  });

  it("check names the field, the value and the rule", async () => {
    const r = await netNamespaceProvider.check!({}, { connection: box.connection, name: "../../etc" });
    expect(r.failures).toEqual([{ property: "name", reason: expect.stringMatching(/^name "..\/..\/etc" may hold only letters/) }]);
  });
});
