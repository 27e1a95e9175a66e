import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ownerOf } from "../../provider/host/owner";
import { portPublishBatchCreateScript, portPublishBatchDeleteScript, splitBatchOutput } from "../../provider/host/portPublishBatchScripts";
import { EXIT_ALLOCATED, PublishSpec, parsePlaced } from "../../provider/host/portPublishScripts";
import { EXIT_EXISTS } from "../../provider/host/script";
import { splitSections } from "../../provider/host/sections";
import { connectionIdentity } from "../../provider/resources/contract";
import { forgetPortClaims } from "../../provider/resources/portClaims";
import { portPublishProvider, PortPublishInputs, PortPublishOutputs } from "../../provider/resources/portPublish";
import { addBridge } from "../support/handmadeContainers";
import { useHost } from "../support/hosts";

// PortPublish creates waiting for the same host go in one script (publishBatcher.ts,
// portPublishBatchScripts.ts): one lock, one iptables-save, one iptables-restore. Each
// mapping must still get exactly the single script's answer: a port taken earlier in the
// same batch is "already allocated", dynamic ports never collide, a leftover of its own
// name is reported as existing, and the rules are the single script's rules.
describe("PortPublish creates in one batch, on a real kernel", () => {
  const host = useHost("sandbox", "it-batch");
  beforeAll(async () => {
    await addBridge(host, "brq", "172.28.0.1/16");
    await host.sh("sysctl -qw net.ipv4.ip_local_port_range='30000 30009'");
  });
  afterAll(() => forgetPortClaims(connectionIdentity(host.connection)));

  const spec = (name: string, hostPort: number, last: number, protocol: "tcp" | "udp" = "tcp"): PublishSpec => ({
    name, protocol, hostIp: "0.0.0.0", hostPort, address: `172.28.0.${last}`, port: 80, bridge: "brq",
  });
  const ours = async () => (await host.sh("iptables-save")).split("\n").filter((l) => /bridgelab:v[12]:publish:/.test(l));
  /** The owner the PortPublish class gives NAME of STACK (its URN). */
  const urn = (name: string, stack = "dev") => `urn:pulumi:${stack}::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::${name}`;
  const records = async () => (await host.sh("cat /run/bridgelab/owners/* 2>/dev/null || true")).split("\n").filter(Boolean).sort();

  it("answers each mapping as the single script would: allocated within the batch, distinct dynamic ports, an existing leftover", async () => {
    // A leftover of "left" (an interrupted create), as the adopt path expects it.
    await host.sh("iptables -w -t nat -N BRIDGELAB-DNAT; iptables -w -t nat -A BRIDGELAB-DNAT -p tcp -m tcp --dport 30005 -m comment --comment bridgelab:v1:publish:left -j DNAT --to-destination 172.28.0.9:80");
    const specs = [spec("d1", 0, 10), spec("s1", 9100, 11), spec("d2", 0, 12), spec("s2", 9100, 13), spec("left", 0, 9), spec("u1", 9100, 14, "udp")];
    const r = await host.sh(`${portPublishBatchCreateScript(specs)}echo "@@exit $?"`);
    expect(r).toMatch(/@@exit 0\s*$/);
    const parts = splitBatchOutput(r, specs.length);
    expect(parts.map((p) => p.code)).toEqual([0, 0, 0, EXIT_ALLOCATED, EXIT_EXISTS, 0]);
    const placed = parts.map((p) => parsePlaced(splitSections(p.stdout).placed));
    // Lowest free of 30000-30009, skipping each other and the leftover's 30005.
    expect(placed[0]).toEqual({ hostPort: 30000, subnet: "172.28.0.0/16" });
    expect(placed[2]).toEqual({ hostPort: 30001, subnet: "172.28.0.0/16" });
    expect(placed[1]?.hostPort).toBe(9100);
    // udp/9100 is not tcp/9100.
    expect(placed[5]?.hostPort).toBe(9100);
    const s2 = splitSections(parts[3].stdout);
    expect(s2["allocated-rule"]).toBe("bridgelab:v1:publish:s1 0.0.0.0 172.28.0.11:80");
    expect(splitSections(parts[4].stdout).exists).toContain('--comment "bridgelab:v1:publish:left"');
    for (const i of [0, 1, 2, 5]) {
      const s = splitSections(parts[i].stdout);
      expect([specs[i].name, s.present]).toEqual([specs[i].name, "1\n1\n1\n1\n1\n1"]);
      expect(s.rules.split("\n")).toHaveLength(6);
    }
    // On the host: six rules for each accepted mapping, the leftover untouched, nothing for s2.
    const rules = await ours();
    for (const n of ["d1", "s1", "d2", "u1"]) expect([n, rules.filter((l) => l.includes(`publish:${n}"`)).length]).toEqual([n, 6]);
    expect(rules.filter((l) => l.includes('publish:s2"'))).toEqual([]);
    expect(rules.filter((l) => l.includes('publish:left"'))).toHaveLength(1);
    await host.sh("iptables -w -t nat -D BRIDGELAB-DNAT -p tcp -m tcp --dport 30005 -m comment --comment bridgelab:v1:publish:left -j DNAT --to-destination 172.28.0.9:80");
    for (const [i, n] of [[0, "d1"], [1, "s1"], [2, "d2"], [5, "u1"]] as const) {
      await portPublishProvider.delete!(n, { ...specs[i], connection: host.connection, hostPort: placed[i]!.hostPort, requestedHostPort: specs[i].hostPort, bridgeSubnet: "172.28.0.0/16", rules: [], missingRules: [] } as PortPublishOutputs);
    }
    expect(await host.sh("iptables-save | grep -c -i bridgelab || true")).toBe("0\n");
  });

  it("mixes owners in one batch: the same NAME of two stacks side by side, a port an earlier mapping of the batch took refused naming it, 0.1's NAME refused, records written and forgotten", async () => {
    // A leftover of 0.1 named "legacy" (no owner): a new owner's "legacy" must not take it.
    await host.sh("iptables -w -t nat -N BRIDGELAB-DNAT; iptables -w -t nat -A BRIDGELAB-DNAT -p tcp -m tcp --dport 30009 -m comment --comment bridgelab:v1:publish:legacy -j DNAT --to-destination 172.28.0.9:80");
    const own = (stack: string, s: PublishSpec): PublishSpec => ({ ...s, owner: ownerOf(urn(s.name, stack)) });
    const specs = [
      own("dev", spec("web", 0, 20)),
      own("test", spec("web", 0, 21)),
      own("dev", spec("api", 9200, 22)),
      own("test", spec("api", 9200, 23)),
      spec("old", 0, 24), // 0.1's state, in the same batch
      own("dev", spec("legacy", 0, 25)),
    ];
    const r = await host.sh(`${portPublishBatchCreateScript(specs)}echo "@@exit $?"`);
    expect(r).toMatch(/@@exit 0\s*$/);
    const parts = splitBatchOutput(r, specs.length);
    expect(parts.map((p) => p.code)).toEqual([0, 0, 0, EXIT_ALLOCATED, 0, EXIT_EXISTS]);
    const placed = parts.map((p) => parsePlaced(splitSections(p.stdout).placed));
    expect([placed[0]?.hostPort, placed[1]?.hostPort, placed[2]?.hostPort, placed[4]?.hostPort]).toEqual([30000, 30001, 9200, 30002]);
    // The holder was accepted earlier in this batch: named with its owner, whose record is not on the host yet.
    expect(splitSections(parts[3].stdout)["allocated-rule"]).toBe(`bridgelab:v2:publish:api:${specs[2].owner!.id} 0.0.0.0 172.28.0.22:80 ${urn("api")}`);
    expect(splitSections(parts[5].stdout).v1).toContain('--comment "bridgelab:v1:publish:legacy"');
    const rules = await ours();
    for (const [i, tag] of [[0, `web:${specs[0].owner!.id}`], [1, `web:${specs[1].owner!.id}`], [2, `api:${specs[2].owner!.id}`]] as const) {
      expect([i, rules.filter((l) => l.includes(`"bridgelab:v2:publish:${tag}"`)).length]).toEqual([i, 6]);
    }
    expect(rules.filter((l) => l.includes('"bridgelab:v1:publish:old"'))).toHaveLength(6);
    expect(await records()).toEqual([urn("api"), urn("web"), urn("web", "test")].sort());
    // One delete script for the accepted ones, of three owners and 0.1: exactly theirs go, with their records; 0.1's leftover stays.
    const accepted = [0, 1, 2, 4].map((i) => ({ ...specs[i], hostPort: placed[i]!.hostPort, subnet: "172.28.0.0/16" }));
    await host.sh(portPublishBatchDeleteScript(accepted));
    expect(await ours()).toEqual(['-A BRIDGELAB-DNAT -p tcp -m tcp --dport 30009 -m comment --comment "bridgelab:v1:publish:legacy" -j DNAT --to-destination 172.28.0.9:80']);
    expect(await records()).toEqual([]);
    // The leftover and the jumps into its chain (the batch added them), by hand.
    await host.sh(
      [
        "iptables -w -t nat -D BRIDGELAB-DNAT -p tcp -m tcp --dport 30009 -m comment --comment bridgelab:v1:publish:legacy -j DNAT --to-destination 172.28.0.9:80",
        "iptables -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -m comment --comment bridgelab:v1 -j BRIDGELAB-DNAT",
        "iptables -w -t nat -D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment bridgelab:v1 -j BRIDGELAB-DNAT",
        "iptables -w -t nat -X BRIDGELAB-DNAT",
      ].join("\n"),
    );
    expect(await host.sh("iptables-save | grep -c -i bridgelab || true")).toBe("0\n");
  });

  it("parallel creates and deletes through the provider share scripts: fewer scripts than mappings, each its own port, nothing left", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-batch-"));
    const trace = path.join(dir, "trace.jsonl");
    process.env.BRIDGELAB_TRACE_FILE = trace;
    try {
      const inputs = await Promise.all(
        // Two stacks' mappings of the same names, as two programs' plugins on one host would send them.
        Array.from({ length: 8 }, async (_, i) => (await portPublishProvider.check!({}, { connection: host.connection, name: `p${i % 4}`, owner: urn(`p${i % 4}`, i < 4 ? "dev" : "test"), hostPort: 0, address: `172.28.1.${i + 1}`, port: 80, bridge: "brq" })).inputs as PortPublishInputs),
      );
      const outs = (await Promise.all(inputs.map((i) => portPublishProvider.create(i)))).map((c) => c.outs as PortPublishOutputs);
      expect(new Set(outs.map((o) => o.hostPort)).size).toBe(8);
      expect(outs.every((o) => o.missingRules.length === 0 && o.rules.length === 6)).toBe(true);
      expect(await records()).toHaveLength(8);
      const runs = fs.readFileSync(trace, "utf8").trim().split("\n").length;
      // The first create runs alone; the seven queued behind it go together.
      expect(runs).toBeLessThan(8);
      await Promise.all(outs.map((o) => portPublishProvider.delete!(o.name, o)));
      expect(await ours()).toEqual([]);
      expect(await records()).toEqual([]);
      // The deletes too: fewer delete scripts than mappings, and the chains went with the last rule.
      const deletes = fs.readFileSync(trace, "utf8").trim().split("\n").length - runs;
      expect(deletes).toBeLessThan(8);
      expect(await host.sh("iptables-save | grep -c BRIDGELAB || true")).toBe("0\n");
    } finally {
      delete process.env.BRIDGELAB_TRACE_FILE;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
