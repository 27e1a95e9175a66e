import * as fs from "node:fs";
import { netNamespaceProvider, NetNamespaceInputs, NetNamespaceOutputs } from "../../provider/resources/netNamespace";
import { parseIpLinkJson } from "../../provider/host/ipJson";
import { ownerOf, ownerTag } from "../../provider/host/owner";
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
const lo = async (ns: string) => parseIpLinkJson(await box.sh(`ip -n ${ns} -j link show dev lo 2>/dev/null || echo '[]'`))[0];
/** The URNs recorded in /run/bridgelab/owners, sorted. */
const owners = async () => (await box.sh("cat /run/bridgelab/owners/* 2>/dev/null || true")).trim().split("\n").filter(Boolean).sort();

/** Two stacks of one program on one host: the same resource, two owners. */
const DEV = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:NetNamespace::netns0";
const TEST = "urn:pulumi:test::lab::pulumi-nodejs:dynamic/bridgelab:NetNamespace::netns0";

/** Checked inputs; without an owner they are the state of bridgelab 0.1. */
async function checked(name: string, owner?: string): Promise<NetNamespaceInputs> {
  const r = await netNamespaceProvider.check!({}, { connection: box.connection, name, ...(owner ? { owner } : {}) });
  expect(r.failures).toEqual([]);
  return r.inputs as NetNamespaceInputs;
}

describe("NetNamespace on a sandbox host", () => {
  it("creates with lo up and the tag, reads, and deletes idempotently", async () => {
    const { id, outs } = await netNamespaceProvider.create(await checked("netns0", DEV));
    expect(id).toBe("netns0");
    expect(await list()).toEqual(["netns0"]);
    const l = await lo("netns0");
    expect(l.flags).toContain("UP");
    expect(l.ifalias).toMatch(/^bridgelab:v2:netns:[0-9a-f]{8}$/);
    expect(await owners()).toEqual([DEV]);
    expect(outs).toMatchObject({ name: "netns0", path: "/run/netns/netns0" });
    expect(outs.inode).toBe(Number((await box.sh("stat -L -c %i /run/netns/netns0")).trim()));

    expect(await netNamespaceProvider.read!(id, outs)).toEqual({ id, props: outs });

    // A process still inside is killed by delete, so nothing is left running.
    await box.sh("ip netns exec netns0 sleep 600 >/dev/null 2>&1 &");
    const pids = (await box.sh("ip netns pids netns0")).trim().split("\n").filter(Boolean);
    expect(pids.length).toBeGreaterThan(0);
    await netNamespaceProvider.delete!(id, outs);
    expect(await list()).toEqual([]);
    expect(await owners()).toEqual([]);
    // A sandbox has no PID namespace of its own: look at exactly our process. Killed
    // processes may linger as zombies until init reaps them; those count as gone.
    for (const pid of pids) expect(processAlive(Number(pid))).toBe(false);
    await expect(netNamespaceProvider.delete!(id, outs)).resolves.toBeUndefined();
  });

  it("read reports a namespace deleted by hand as gone, and create makes it again", async () => {
    const { id, outs } = await netNamespaceProvider.create(await checked("netns1", DEV));
    await box.sh("ip netns del netns1");
    expect(await netNamespaceProvider.read!(id, outs)).toEqual({ id: "", props: {} });
    // An up without refresh: the update finds nothing to change, and says how to get out.
    await expect(netNamespaceProvider.update!(id, outs, await checked("netns1", TEST))).rejects.toThrow(
      `network namespace "netns1" on sandbox:${box.name} is gone (deleted by hand, or the host restarted), so it cannot be updated in place; refresh the stack`,
    );
    // Deleting what is gone succeeds, and forgets the owner's record too.
    await expect(netNamespaceProvider.delete!(id, outs)).resolves.toBeUndefined();
    expect(await owners()).toEqual([]);
    const again = await netNamespaceProvider.create(await checked("netns1", DEV));
    expect(await list()).toEqual(["netns1"]);
    await netNamespaceProvider.delete!(id, again.outs as NetNamespaceOutputs);
    expect(await owners()).toEqual([]);
  });

  it("refuses a foreign namespace of the same name and never deletes it", async () => {
    await box.sh("ip netns add theirs");
    await expect(netNamespaceProvider.create(await checked("theirs", DEV))).rejects.toThrow(
      `network namespace "theirs" on sandbox:${box.name}: a network namespace of that name already exists and is not managed by bridgelab (it has no bridgelab tag); ` +
        "bridgelab never takes another owner's objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name (remove it with `ip netns del theirs` if nothing uses it)",
    );
    const { error } = await captureConsole(() => netNamespaceProvider.delete!("theirs", { connection: box.connection, name: "theirs", owner: DEV, path: "/run/netns/theirs", inode: 0 }));
    expect(error).toEqual([`network namespace "theirs" on sandbox:${box.name} is not this resource's, so it is left in place: it is not managed by bridgelab (it has no bridgelab tag)`]);
    expect(await list()).toEqual(["theirs"]);
    expect(await owners()).toEqual([]);
    await box.sh("ip netns del theirs");
  });

  it("adopts its own namespace left by an interrupted create: 0.1's (no owner), and this owner's cut before its record", async () => {
    await box.sh("ip netns add half && ip -n half link set dev lo alias bridgelab:v1:netns");
    const { outs } = await netNamespaceProvider.create(await checked("half"));
    expect((await lo("half")).flags).toContain("UP");
    expect(await owners()).toEqual([]);
    await netNamespaceProvider.delete!("half", outs);
    expect(await list()).toEqual([]);

    // The tag set, the record not yet written: the same owner's create adopts it and records itself.
    const tag = ownerTag("netns", ownerOf(DEV));
    await box.sh(`ip netns add half && ip -n half link set dev lo alias ${tag}`);
    const inode = Number((await box.sh("stat -L -c %i /run/netns/half")).trim());
    const own = await netNamespaceProvider.create(await checked("half", DEV));
    expect(own.outs).toMatchObject({ inode, owner: DEV });
    expect(await lo("half")).toMatchObject({ ifalias: tag, flags: expect.arrayContaining(["UP"]) });
    expect(await owners()).toEqual([DEV]);
    await netNamespaceProvider.delete!("half", own.outs);
    expect(await list()).toEqual([]);
    expect(await owners()).toEqual([]);
  });

  it("check names the field, the value and the rule", async () => {
    const r = await netNamespaceProvider.check!({}, { connection: box.connection, name: "../../etc" });
    expect(r.failures).toEqual([{ property: "name", reason: expect.stringMatching(/^name "..\/..\/etc" may hold only letters/) }]);
    const o = await netNamespaceProvider.check!({}, { connection: box.connection, name: "netns0", owner: "netns0" });
    expect(o.failures).toEqual([{ property: "owner", reason: 'owner "netns0" must be a Pulumi URN (bridgelab sets it; do not pass it)' }]);
  });

  describe("ownership: two stacks, one host", () => {
    it("another stack's create of the same name is refused naming the owner; its read says gone; its delete leaves the namespace", async () => {
      const mine = await netNamespaceProvider.create(await checked("nso2", DEV));
      const before = await lo("nso2");
      await expect(netNamespaceProvider.create(await checked("nso2", TEST))).rejects.toThrow(
        `network namespace "nso2" on sandbox:${box.name}: a network namespace of that name already exists and belongs to resource "netns0" (pulumi-nodejs:dynamic/bridgelab:NetNamespace) of stack "dev", project "lab" (${DEV}); ` +
          "bridgelab never takes another owner's objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name",
      );
      // What the other stack's state would say of it, had it one: not its namespace.
      const theirs = { ...mine.outs, owner: TEST } as NetNamespaceOutputs;
      expect(await netNamespaceProvider.read!("nso2", theirs)).toEqual({ id: "", props: {} });
      // Nor can its update: say the other stack's state was 0.1's, and its up under 0.2 re-tags.
      const { owner: _, ...theirsV1 } = theirs;
      await expect(netNamespaceProvider.update!("nso2", theirsV1, await checked("nso2", TEST))).rejects.toThrow(
        `network namespace "nso2" on sandbox:${box.name} is not this resource's, so the update leaves it as it is: it belongs to resource "netns0" (pulumi-nodejs:dynamic/bridgelab:NetNamespace) of stack "dev", project "lab" (${DEV}); refresh the stack`,
      );
      await box.sh("ip netns exec nso2 sleep 600 >/dev/null 2>&1 &");
      const pids = (await box.sh("ip netns pids nso2")).trim().split("\n").filter(Boolean);
      const { error } = await captureConsole(() => netNamespaceProvider.delete!("nso2", theirs));
      expect(error).toEqual([
        `network namespace "nso2" on sandbox:${box.name} is not this resource's, so it is left in place: it belongs to resource "netns0" (pulumi-nodejs:dynamic/bridgelab:NetNamespace) of stack "dev", project "lab" (${DEV})`,
      ]);
      // Untouched: the same namespace, its tag, what runs in it, its owner's record.
      expect(Number((await box.sh("stat -L -c %i /run/netns/nso2")).trim())).toBe(mine.outs.inode);
      expect(await lo("nso2")).toEqual(before);
      for (const pid of pids) expect(processAlive(Number(pid))).toBe(true);
      expect(await owners()).toEqual([DEV]);
      expect(await netNamespaceProvider.read!("nso2", mine.outs)).toEqual({ id: "nso2", props: mine.outs });
      await netNamespaceProvider.delete!("nso2", mine.outs);
      expect(await list()).toEqual([]);
      expect(await owners()).toEqual([]);
    });

    it("a namespace of bridgelab 0.1 is refused to a new owner, and taken over (re-tagged) by the update of the stack that made it", async () => {
      // 0.1's create: no owner in the inputs, the v1 tag on lo.
      const old = await netNamespaceProvider.create(await checked("nso3"));
      expect((await lo("nso3")).ifalias).toBe("bridgelab:v1:netns");
      expect(await owners()).toEqual([]);
      await expect(netNamespaceProvider.create(await checked("nso3", TEST))).rejects.toThrow(
        `network namespace "nso3" on sandbox:${box.name}: a network namespace of that name already exists and was made by bridgelab 0.1 (tag bridgelab:v1:netns), which did not record its owner; only the stack whose state holds it may take it; bridgelab never takes another owner's objects`,
      );
      // Its own stack's up under 0.2: Diff sees the owner come, Update re-tags in place.
      const news = await checked("nso3", DEV);
      expect(await netNamespaceProvider.diff!("nso3", old.outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      const { outs } = await netNamespaceProvider.update!("nso3", old.outs, news);
      expect(outs).toEqual({ ...old.outs, owner: DEV });
      expect((await lo("nso3")).ifalias).toMatch(/^bridgelab:v2:netns:[0-9a-f]{8}$/);
      expect(await owners()).toEqual([DEV]);
      // The 0.1 state can no longer read it as its own; the new one can, and deletes it.
      expect((await netNamespaceProvider.read!("nso3", old.outs)).id).toBe("");
      expect(await netNamespaceProvider.read!("nso3", outs)).toEqual({ id: "nso3", props: outs });
      await netNamespaceProvider.delete!("nso3", outs as NetNamespaceOutputs);
      expect(await list()).toEqual([]);
      expect(await owners()).toEqual([]);
    });
  });
});
