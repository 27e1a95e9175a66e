import { JUMP_TAG } from "../../provider/host/iptables";
import { deleteTaggedLines, presentInSnapshotLine, restoreAddLines, saveLine, snapshotLines } from "../../provider/host/iptablesSnapshot";
import { publishRules } from "../../provider/host/portPublishScripts";
import { shQuote } from "../../provider/host/quote";
import { script } from "../../provider/host/script";
import { useHost } from "../support/hosts";

// iptablesSnapshot.ts looks rules up by the text iptables-save prints for them and falls
// back to `iptables -C` when the text misses. These tests pin the text against the kernel
// (iptables-nft here): if saveLine drifted from what iptables prints, lookups would still
// be right but every one would cost a process again, and this test fails. They also prove
// the one-restore delete takes out exactly one resource's rules and prunes only empty chains.
describe("iptables snapshot lookups and one-restore edits, on a real kernel", () => {
  const host = useHost("sandbox", "it-snap");
  const mapping = { name: "web", protocol: "tcp" as const, hostIp: "198.51.100.2", hostPort: 8080, address: "172.18.0.10", port: 5000, bridge: "br0", subnet: "172.18.0.0/16" };
  const rules = publishRules(mapping);

  /**
   * Run SCRIPT with an `iptables` first on PATH that counts its runs, then runs the real one: its
   * stdout, and how many `iptables` processes it started (iptables-save and -restore are other
   * names, not counted). Counted by appending a line per run (O_APPEND), not from `sh -x`: the
   * trace of a pipeline's two sides is written by two processes at once, and their lines mix.
   */
  const traced = async (text: string) => {
    // The sandbox host's /run is its own: scratch there, not in the machine's shared /tmp.
    const out = await host.sh(
      [
        "mkdir -p /run/snap-bin",
        `printf '#!/bin/sh\\necho run >>/run/snap-count\\nexec %s "$@"\\n' "$(command -v iptables)" >/run/snap-bin/iptables`,
        "chmod +x /run/snap-bin/iptables; : >/run/snap-count",
        `PATH=/run/snap-bin:$PATH sh -c ${shQuote(text)}`,
        "echo '@@trace'; wc -l </run/snap-count; rm -rf /run/snap-bin /run/snap-count",
      ].join("\n"),
    );
    const [stdout, count] = out.split("@@trace\n");
    return { stdout, iptablesRuns: Number(count.trim()) };
  };

  it("adds a mapping's six rules, its chains and their jumps in one restore; the text lookups find them all without `iptables -C`", async () => {
    const add = script(["set -eu", ...snapshotLines(), ...restoreAddLines(rules, ["filter", "nat"])]);
    const a = await traced(add);
    // Nothing there yet: every jump check fell through to `iptables -C` (FORWARD, POSTROUTING, PREROUTING, OUTPUT), no other iptables process ran.
    expect(a.iptablesRuns).toBe(4);
    const saved = await host.sh("iptables-save");
    for (const r of rules) expect(saved.split("\n")).toContain(saveLine(r.rule, r.tag).line);
    expect(saved).toContain(`-A FORWARD -m comment --comment "${JUMP_TAG}" -j BRIDGELAB-FORWARD`);

    const check = script([...snapshotLines(), ...rules.map((r) => presentInSnapshotLine(r.rule, r.tag))]);
    const c = await traced(check);
    expect(c.stdout.trim().split("\n")).toEqual(["1", "1", "1", "1", "1", "1"]);
    expect(c.iptablesRuns).toBe(0);

    // Adding again with the chains and jumps in place: no jump is added twice, no -C runs.
    const again = await traced(script(["set -eu", ...snapshotLines(), ...restoreAddLines(publishRules({ ...mapping, name: "web2", hostPort: 8081 }), ["filter", "nat"])]));
    expect(again.iptablesRuns).toBe(0);
    const jumps = (await host.sh("iptables-save")).split("\n").filter((l) => l.includes(`--comment "${JUMP_TAG}"`));
    expect(jumps).toHaveLength(4); // FORWARD, POSTROUTING, PREROUTING, OUTPUT: once each
  });

  it("a rule deleted by hand reads 0; a rule whose text differs is still found by `iptables -C`", async () => {
    const dnat = rules[5];
    const argv = ["iptables", "-w", "-t", "nat", "-D", "BRIDGELAB-DNAT", ...saveLine(dnat.rule, dnat.tag).line.split(" ").slice(2)];
    await host.sh(argv.map((w) => shQuote(w.replace(/"/g, ""))).join(" "));
    const check = script([...snapshotLines(), presentInSnapshotLine(dnat.rule, dnat.tag)]);
    expect((await host.sh(check)).trim()).toBe("0");
    // Put it back, then look it up under a snapshot where its text was mangled: -C answers 1.
    await host.sh(argv.map((w) => shQuote(w.replace(/"/g, ""))).join(" ").replace(" -D ", " -A "));
    const mangled = script([...snapshotLines(), `save=$(printf '%s\\n' "$save" | sed 's/--dport 8080/--dport 08080/')`, presentInSnapshotLine(dnat.rule, dnat.tag)]);
    expect((await host.sh(mangled)).trim()).toBe("1");
  });

  it("the one-restore delete removes one tag's rules (copies too) and keeps chains others still use; the last one out prunes chains and jumps", async () => {
    // A hand-made copy of one of web's rules, and an isolation rule sharing BRIDGELAB-FORWARD.
    const fwd = saveLine(rules[0].rule, rules[0].tag).line;
    await host.sh(`printf '%s\\n' '*filter' ${shQuote(fwd)} COMMIT | iptables-restore -w --noflush`);
    const del = (tag: string) => script(["set -eu", ...snapshotLines(), ...deleteTaggedLines(tag, ["forward", "postrouting", "dnat"])]);
    await host.sh(del(rules[0].tag));
    let saved = await host.sh("iptables-save");
    expect(saved).not.toContain('"bridgelab:v1:publish:web"');
    expect(saved.match(/bridgelab:v1:publish:web2/g)).toHaveLength(6);
    expect(saved).toContain(":BRIDGELAB-DNAT");

    await host.sh(del("bridgelab:v1:publish:web2"));
    saved = await host.sh("iptables-save");
    expect(saved).not.toMatch(/BRIDGELAB|bridgelab/);
    // Nothing left to do: no restore runs, and it still succeeds.
    expect((await traced(del("bridgelab:v1:publish:web2"))).iptablesRuns).toBe(0);
  });

  it("a chain holding another resource's rule is not pruned (isolation's jump keeps BRIDGELAB-FORWARD)", async () => {
    const addAgain = script(["set -eu", ...snapshotLines(), ...restoreAddLines(rules, ["filter", "nat"])]);
    await host.sh(addAgain);
    await host.sh("iptables -w -N BRIDGELAB-ISOLATION-STAGE-1 && iptables -w -I BRIDGELAB-FORWARD 1 -m comment --comment bridgelab:v1 -j BRIDGELAB-ISOLATION-STAGE-1");
    await host.sh(script(["set -eu", ...snapshotLines(), ...deleteTaggedLines(rules[0].tag, ["forward", "postrouting", "dnat"])]));
    const saved = await host.sh("iptables-save");
    expect(saved).toContain(":BRIDGELAB-FORWARD");
    expect(saved).toContain("-A FORWARD -m comment --comment \"bridgelab:v1\" -j BRIDGELAB-FORWARD");
    expect(saved).not.toContain(":BRIDGELAB-DNAT");
    expect(saved).not.toContain(":BRIDGELAB-POSTROUTING");
    await host.sh("iptables -w -D BRIDGELAB-FORWARD -m comment --comment bridgelab:v1 -j BRIDGELAB-ISOLATION-STAGE-1; iptables -w -X BRIDGELAB-ISOLATION-STAGE-1; iptables -w -D FORWARD -m comment --comment bridgelab:v1 -j BRIDGELAB-FORWARD; iptables -w -X BRIDGELAB-FORWARD");
    expect(await host.sh("iptables-save")).not.toMatch(/BRIDGELAB/);
  });
});
