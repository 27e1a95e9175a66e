import { helloServerCommand } from "../../provider/host/helloServer";
import { ownerOf, ownerTag } from "../../provider/host/owner";
import { netNamespaceProvider, NetNamespaceInputs, NetNamespaceOutputs } from "../../provider/resources/netNamespace";
import { processProvider, ProcessInputs, ProcessOutputs } from "../../provider/resources/process";
import { captureConsole } from "../support/consoleCapture";
import { TRANSPORTS, useHost } from "../support/hosts";

/** The URN of resource NAME of TYPE in stack STACK of project lab: the owner the classes pass. */
const urn = (type: string, name: string, stack = "dev") => `urn:pulumi:${stack}::lab::pulumi-nodejs:dynamic/bridgelab:${type}::${name}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A message exactly: SUBJECT on <any host label>REST. */
const exactly = (subject: string, rest: string) => new RegExp(`^${escape(subject)} on \\S+${escape(rest)}$`);

// Process against a real host, through each transport. What runs is observed from outside
// the provider: /proc of the sandbox host (it shares the machine's pid namespace, so pids
// are checked one by one, never by name).
describe.each(TRANSPORTS)("Process over %s", (kind) => {
  const host = useHost(kind, "it-proc");
  describe("with netns0", () => {
    let ns: NetNamespaceOutputs;
    // Nested, so that netns0 is deleted before useHost's afterAll deletes the host.
    beforeAll(async () => {
      ns = (await netNamespaceProvider.create({ connection: host.connection, name: "netns0", owner: urn("NetNamespace", "netns0") } as NetNamespaceInputs)).outs as NetNamespaceOutputs;
    });
    afterAll(async () => {
      if (ns) await netNamespaceProvider.delete!(ns.name, ns);
    });

    /** Checked inputs with the owner the Process class gives (stack dev); `owner: undefined` makes them 0.1's. */
    async function checked(news: Record<string, unknown>): Promise<ProcessInputs> {
      const r = await processProvider.check!({}, { connection: host.connection, owner: urn("Process", news.name as string), ...news });
      expect(r.failures).toEqual([]);
      return r.inputs as ProcessInputs;
    }
    /** State letter of a pid ("S", "R", "Z"...), or "" when it does not exist. */
    const state = async (pid: number) => (await host.sh(`awk '{ print $3 }' /proc/${pid}/stat 2>/dev/null || true`)).trim();
    const alive = async (pid: number) => !["", "Z", "X"].includes(await state(pid));
    const files = async (name: string) => (await host.sh(`ls /run/bridgelab/proc/ 2>/dev/null | grep -x '${name}\\.[a-z]*' || true`)).split("\n").filter(Boolean).sort();
    /** The URNs of Processes recorded in /run/bridgelab/owners, sorted. */
    const owners = async () => (await host.sh("cat /run/bridgelab/owners/* 2>/dev/null || true")).trim().split("\n").filter((u) => u.includes(":Process::")).sort();
    const pidFile = async (name: string) => (await host.sh(`cat /run/bridgelab/proc/${name}.pid 2>/dev/null || true`)).trim();
    const tagOf = (owner: string) => ownerTag("process", ownerOf(owner));

    it("serves HTTP inside netns0, outlives the session that started it, and is stopped by delete", async () => {
      const inputs = await checked({ name: "web", netns: "netns0", command: helloServerCommand(5000, "hello from netns0") });
      const { id, outs } = await processProvider.create(inputs);
      const p = outs as ProcessOutputs;
      expect(id).toBe("web");
      expect(p).toMatchObject({ name: "web", logPath: "/run/bridgelab/proc/web.log", pidPath: "/run/bridgelab/proc/web.pid" });
      expect(await pidFile("web")).toBe(`${p.pid} ${p.startTime} ${tagOf(urn("Process", "web"))}`);
      expect(await owners()).toEqual([urn("Process", "web")]);
      expect((await host.sh(`readlink /proc/${p.pid}/ns/net`)).trim()).toBe(`net:[${ns.inode}]`);
      // Leader of its own session and process group, so the transport's session ending does not touch it.
      expect((await host.sh(`sed 's/^.*) //' /proc/${p.pid}/stat | awk '{ print $3, $4 }'`)).trim()).toBe(`${p.pid} ${p.pid}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(await alive(p.pid)).toBe(true);
      // It listens in netns0 only: its loopback answers, the host's does not.
      expect((await host.sh("ip netns exec netns0 sh -c \"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socat -T5 - TCP:127.0.0.1:5000\"")).split("\n")).toEqual(["HTTP/1.0 200 OK", "", "hello from netns0", ""]);
      expect((await host.sh("socat -T1 - TCP:127.0.0.1:5000 </dev/null 2>&1 || echo refused")).trim()).toMatch(/refused/i);
      expect(await processProvider.read!(id, p)).toEqual({ id, props: p });

      // A request forks a child in the same process group: delete stops the whole group.
      await processProvider.delete!(id, p);
      expect(await alive(p.pid)).toBe(false);
      expect(await files("web")).toEqual([]);
      expect(await owners()).toEqual([]);
      expect(await processProvider.read!(id, p)).toEqual({ id: "", props: {} });
      await expect(processProvider.delete!(id, p)).resolves.toBeUndefined();
    });

    it("a command that dies at once fails create with the end of its log and leaves nothing behind", async () => {
      await expect(processProvider.create(await checked({ name: "broken", netns: "netns0", command: ["sh", "-c", "echo 'listen: address already in use' >&2; exit 3"] }))).rejects.toThrow(
        /process "broken" on \S+: `.*` exited 1: the process exited within 300 ms of its start; the end of \/run\/bridgelab\/proc\/broken.log:\nlisten: address already in use/s,
      );
      expect(await files("broken")).toEqual([]);
      await expect(processProvider.create(await checked({ name: "nosuch", command: ["/nonexistent/server", "--port", "1"] }))).rejects.toThrow(/nonexistent\/server.*No such file or directory/s);
      expect(await files("nosuch")).toEqual([]);
      // The undo forgets the owner's record with the rest.
      expect(await owners()).toEqual([]);
      await expect(processProvider.create(await checked({ name: "nons", netns: "nosuchns", command: ["sleep", "60"] }))).rejects.toThrow(/network namespace nosuchns does not exist/);
    });

    it("passes the command, env and workdir verbatim (quotes, spaces, $), and nothing of the caller's environment", async () => {
      await host.sh("mkdir -p '/run/it proc/work dir'");
      const inputs = await checked({
        name: "env-check",
        netns: "netns0",
        command: ["sh", "-c", 'printf "%s|%s|%s\\n" "$GREETING" "$(pwd)" "$1"; env | cut -d= -f1 | sort | tr "\\n" " "; echo; exec sleep 600', "argv0", "it's a $(test)"],
        env: { GREETING: `it's "quoted" $HOME \`x\`` },
        workdir: "/run/it proc/work dir",
      });
      const p = (await processProvider.create(inputs)).outs as ProcessOutputs;
      const log = (await host.sh("cat /run/bridgelab/proc/env-check.log")).split("\n");
      expect(log[0]).toBe(`it's "quoted" $HOME \`x\`|/run/it proc/work dir|it's a $(test)`);
      expect(log[1].trim().split(" ")).toEqual(expect.arrayContaining(["GREETING", "PATH"]));
      expect(log[1]).not.toMatch(/JEST|NODE|BRIDGELAB|SSH_/);
      await processProvider.delete!(p.name, p);
      expect(await alive(p.pid)).toBe(false);
      await host.sh("rm -rf '/run/it proc'");
    });

    it("read: a process killed by hand, or a pid file whose start time is not the live process's, is gone; delete never kills what is not ours", async () => {
      const inputs = await checked({ name: "sleeper", command: ["sleep", "600"] }); // on the host itself
      let p = (await processProvider.create(inputs)).outs as ProcessOutputs;
      expect((await host.sh(`readlink /proc/${p.pid}/ns/net`)).trim()).toBe((await host.sh("readlink /proc/self/ns/net")).trim());
      expect((await processProvider.read!(p.name, p)).id).toBe("sleeper");
      await host.sh(`kill -9 ${p.pid}`);
      expect(await processProvider.read!(p.name, p)).toEqual({ id: "", props: {} });
      await processProvider.delete!(p.name, p);
      expect(await files("sleeper")).toEqual([]);

      // The pid now belongs to "someone else": same pid, another start time. Not ours.
      p = (await processProvider.create(inputs)).outs as ProcessOutputs;
      await host.sh(`echo '${p.pid} ${p.startTime - 1} ${tagOf(urn("Process", "sleeper"))}' > /run/bridgelab/proc/sleeper.pid`);
      expect(await processProvider.read!(p.name, p)).toEqual({ id: "", props: {} });
      await processProvider.delete!(p.name, p);
      expect(await alive(p.pid)).toBe(true);
      await host.sh(`kill ${p.pid}`);
    });

    it("delete stops the command's children too (its whole process group), not only the leader", async () => {
      // `kill -TERM -- -PID` is refused by dash ("Illegal number: --"): the group signal must
      // be written `kill -s TERM -- -PID`, or the leader dies and its children live on.
      const parent = await checked({ name: "parent", netns: "netns0", command: ["sh", "-c", "sleep 600 & echo child=$!; wait"] });
      const p = (await processProvider.create(parent)).outs as ProcessOutputs;
      let child = 0;
      for (let i = 0; i < 50 && !child; i++) {
        child = Number(/child=(\d+)/.exec(await host.sh("cat /run/bridgelab/proc/parent.log 2>/dev/null || true"))?.[1] ?? 0);
        if (!child) await new Promise((r) => setTimeout(r, 100));
      }
      expect(child).toBeGreaterThan(0);
      expect(await alive(child)).toBe(true);
      await processProvider.delete!(p.name, p);
      expect(await alive(p.pid)).toBe(false);
      expect(await alive(child)).toBe(false);
    });

    it("a process that ignores TERM is KILLed after the wait; a new create stops the one recorded before it", async () => {
      const stubborn = await checked({ name: "stubborn", netns: "netns0", command: ["sh", "-c", "trap '' TERM; exec sleep 600"] });
      const first = (await processProvider.create(stubborn)).outs as ProcessOutputs;
      // An interrupted create or a lost state: create again under the same name.
      const second = (await processProvider.create(stubborn)).outs as ProcessOutputs;
      expect(second.pid).not.toBe(first.pid);
      expect(await alive(first.pid)).toBe(false);
      const t0 = Date.now();
      await processProvider.delete!(second.name, second);
      // It waited out the TERM grace (5 s) before KILL, and did not wait forever: a bound far
      // above the grace, not a timing of the machine.
      expect(Date.now() - t0).toBeGreaterThan(4500);
      expect(Date.now() - t0).toBeLessThan(60_000);
      expect(await alive(second.pid)).toBe(false);
    });

    describe("ownership: two stacks, one host", () => {
      const DEV = urn("Process", "web");
      const TEST = urn("Process", "web", "test");
      const belongs = `belongs to resource "web" (pulumi-nodejs:dynamic/bridgelab:Process) of stack "dev", project "lab" (${DEV})`;

      it("another stack's create of the same name is refused naming the owner; its read says gone; its update and delete leave the process running", async () => {
        const mine = (await processProvider.create(await checked({ name: "po2", owner: DEV, netns: "netns0", command: ["sleep", "600"] }))).outs as ProcessOutputs;
        const recorded = await pidFile("po2");
        expect(recorded).toBe(`${mine.pid} ${mine.startTime} ${tagOf(DEV)}`);
        await expect(processProvider.create(await checked({ name: "po2", owner: TEST, netns: "netns0", command: ["sleep", "601"] }))).rejects.toThrow(
          exactly(
            'process "po2"',
            `: a process of that name is already running (pid ${mine.pid}, recorded in /run/bridgelab/proc/po2.pid) and ${belongs}; ` +
              "bridgelab never takes another owner's objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name",
          ),
        );
        // What the other stack's state would say of it, had it one: not its process.
        const theirs = { ...mine, owner: TEST } as ProcessOutputs;
        expect(await processProvider.read!("po2", theirs)).toEqual({ id: "", props: {} });
        // Its update (a state of 0.1 re-tagged under 0.2) changes nothing either.
        const { owner: _, ...theirsV1 } = theirs;
        await expect(processProvider.update!("po2", theirsV1, await checked({ name: "po2", owner: TEST, netns: "netns0", command: ["sleep", "600"] }))).rejects.toThrow(
          exactly('process "po2"', ` (/run/bridgelab/proc/po2.pid) is not this resource's, so the update leaves it as it is: it ${belongs}; refresh the stack (\`pulumi refresh\`, or \`up --refresh\`) so that its state shows what is there`),
        );
        const { error } = await captureConsole(() => processProvider.delete!("po2", theirs));
        expect(error).toEqual([expect.stringMatching(exactly('process "po2"', ` (pid ${mine.pid}, recorded in /run/bridgelab/proc/po2.pid) is not this resource's, so it is left in place: it ${belongs}`))]);
        // Untouched: the process, its pid file and log, its owner's record.
        expect(await alive(mine.pid)).toBe(true);
        expect(await pidFile("po2")).toBe(recorded);
        expect(await files("po2")).toEqual(["po2.log", "po2.pid"]);
        expect(await owners()).toEqual([DEV]);
        expect(await processProvider.read!("po2", mine)).toEqual({ id: "po2", props: mine });

        // Once its process is gone, a pid file is stale: another owner's create replaces it.
        await host.sh(`kill -9 ${mine.pid}`);
        const next = (await processProvider.create(await checked({ name: "po2", owner: TEST, netns: "netns0", command: ["sleep", "600"] }))).outs as ProcessOutputs;
        expect(await pidFile("po2")).toBe(`${next.pid} ${next.startTime} ${tagOf(TEST)}`);
        expect(await processProvider.read!("po2", mine)).toEqual({ id: "", props: {} });
        // dev's destroy: leaves test's process (saying so), forgets dev's record.
        const leaves = await captureConsole(() => processProvider.delete!("po2", mine));
        expect(leaves.error).toEqual([expect.stringMatching(exactly('process "po2"', ` (pid ${next.pid}, recorded in /run/bridgelab/proc/po2.pid) is not this resource's, so it is left in place: it belongs to resource "web" (pulumi-nodejs:dynamic/bridgelab:Process) of stack "test", project "lab" (${TEST})`))]);
        expect(await alive(next.pid)).toBe(true);
        expect(await owners()).toEqual([TEST]);
        await processProvider.delete!("po2", next);
        expect(await alive(next.pid)).toBe(false);
        expect(await files("po2")).toEqual([]);
        expect(await owners()).toEqual([]);
      });

      it("a process of bridgelab 0.1 is refused to a new owner, and taken over (re-tagged, not restarted) by the update of the stack that made it", async () => {
        // 0.1's create: no owner in the inputs, "PID STARTTIME" in the pid file.
        const oldIn = await checked({ name: "po3", owner: undefined, netns: "netns0", command: ["sleep", "600"] });
        const old = (await processProvider.create(oldIn)).outs as ProcessOutputs;
        expect(await pidFile("po3")).toBe(`${old.pid} ${old.startTime}`);
        expect(await owners()).toEqual([]);
        await expect(processProvider.create(await checked({ name: "po3", owner: TEST, netns: "netns0", command: ["sleep", "600"] }))).rejects.toThrow(
          exactly(
            'process "po3"',
            `: a process of that name is already running (pid ${old.pid}, recorded in /run/bridgelab/proc/po3.pid) and was made by bridgelab 0.1 (tag bridgelab:v1:process), which did not record its owner; only the stack whose state holds it may take it; ` +
              "bridgelab never takes another owner's objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name",
          ),
        );
        // Its own stack's up under 0.2: Diff sees the owner come (an update, not a replacement); Update re-tags the pid file.
        const news = await checked({ name: "po3", owner: DEV, netns: "netns0", command: ["sleep", "600"] });
        expect(await processProvider.diff!("po3", old, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        const outs = (await processProvider.update!("po3", old, news)).outs as ProcessOutputs;
        expect(outs).toEqual({ ...old, owner: DEV });
        expect(await pidFile("po3")).toBe(`${old.pid} ${old.startTime} ${tagOf(DEV)}`);
        expect(await alive(old.pid)).toBe(true);
        expect(await owners()).toEqual([DEV]);
        // The 0.1 state can no longer read it as its own; the new one can, and stops it.
        expect((await processProvider.read!("po3", old)).id).toBe("");
        expect(await processProvider.read!("po3", outs)).toEqual({ id: "po3", props: outs });
        await processProvider.delete!("po3", outs);
        expect(await alive(old.pid)).toBe(false);
        expect(await files("po3")).toEqual([]);
        expect(await owners()).toEqual([]);
      });
    });
  });
});
