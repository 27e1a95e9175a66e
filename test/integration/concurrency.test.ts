import { ownerOf } from "../../provider/host/owner";
import { publishTag } from "../../provider/host/portPublishScripts";
import { connectionIdentity } from "../../provider/resources/contract";
import { forgetPortClaims } from "../../provider/resources/portClaims";
import { portPublishProvider, PortPublishInputs, PortPublishOutputs } from "../../provider/resources/portPublish";
import { useHost } from "../support/hosts";
import { addBridge } from "../support/handmadeContainers";
import { note } from "../support/notes";

// Issue 7, part 3: 50 dynamic and 20 static PortPublish creates at once on one sandbox host
// (each a script under the host-wide lock): no two get the same host port, every mapping's
// DNAT rule is in iptables-save, and as many deletes at once leave no rule of ours.
//
// Every create and delete still holds the host-wide lock (/run/bridgelab.lock, `flock -w 60`),
// but reads iptables once (iptables-save) and writes it once (iptables-restore --noflush)
// while holding it: 70 creates at once took about 2.7 s on an idle 2-core machine, where
// the one-process-per-rule scripts before needed ~0.9 s each and ran past the 60 s wait.
const DYNAMIC = 50;
const STATIC = 20;

jest.setTimeout(180_000);

describe(`concurrency: ${DYNAMIC} dynamic and ${STATIC} static PortPublish creates in parallel on one host`, () => {
  const host = useHost("sandbox", "it-conc");
  const created: PortPublishOutputs[] = [];

  beforeAll(async () => {
    await addBridge(host, "brc", "172.29.0.1/16");
    await host.sh("sysctl -qw net.ipv4.ip_local_port_range='20000 20999'");
  });
  afterAll(async () => {
    // The bridge goes with the sandbox host.
    forgetPortClaims(connectionIdentity(host.connection));
  });

  const ours = async () => (await host.sh("iptables-save")).split("\n").filter((l) => l.includes("bridgelab:v2:publish:"));
  /** The owner the PortPublish class gives NAME (its URN); its rules carry `bridgelab:v2:publish:NAME:ID`, its URN is recorded on the host. */
  const urn = (name: string) => `urn:pulumi:conc::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::${name}`;
  const records = async () => (await host.sh("ls /run/bridgelab/owners 2>/dev/null || true")).split("\n").filter(Boolean);
  const dnats = async () => (await ours()).filter((l) => / -j DNAT /.test(l));

  it(`${DYNAMIC + STATIC} parallel creates: distinct host ports, every DNAT rule present`, async () => {
    const specs = [
      ...Array.from({ length: DYNAMIC }, (_, i) => ({ name: `dyn${i}`, hostPort: 0, address: `172.29.1.${i + 1}`, port: 80 })),
      ...Array.from({ length: STATIC }, (_, i) => ({ name: `sta${i}`, hostPort: 9000 + i, address: `172.29.2.${i + 1}`, port: 8080, protocol: i % 2 ? "udp" : "tcp" })),
    ];
    const t0 = Date.now();
    const results = await Promise.allSettled(
      specs.map(async (s) => {
        const { inputs, failures } = await portPublishProvider.check!({}, { connection: host.connection, bridge: "brc", owner: urn(s.name), ...s });
        expect(failures).toEqual([]);
        const { outs } = await portPublishProvider.create(inputs as PortPublishInputs);
        created.push(outs as PortPublishOutputs);
        return outs as PortPublishOutputs;
      }),
    );
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(created).toHaveLength(DYNAMIC + STATIC);
    note(`${DYNAMIC + STATIC} parallel creates: ${Date.now() - t0} ms`);

    const dyn = created.filter((o) => o.name.startsWith("dyn")).map((o) => o.hostPort);
    expect(new Set(dyn).size).toBe(DYNAMIC);
    for (const p of dyn) expect(p >= 20000 && p <= 20999).toBe(true);
    const sta = created.filter((o) => o.name.startsWith("sta")).map((o) => o.hostPort).sort((a, b) => a - b);
    expect(sta).toEqual(Array.from({ length: STATIC }, (_, i) => 9000 + i));
    // All host ports distinct (dynamic and static are all tcp or udp on 0.0.0.0).
    expect(new Set(created.map((o) => `${o.protocol}/${o.hostPort}`)).size).toBe(DYNAMIC + STATIC);

    const rules = await dnats();
    expect(rules).toHaveLength(DYNAMIC + STATIC);
    expect(await records()).toHaveLength(DYNAMIC + STATIC);
    for (const o of created) {
      const mine = rules.filter((l) => l.includes(`"${publishTag(o.name, ownerOf(o.owner))}"`));
      expect([o.name, mine.length]).toEqual([o.name, 1]);
      expect(mine[0]).toContain(`--dport ${o.hostPort} `);
      expect(mine[0]).toContain(`--to-destination ${o.address}:${o.port}`);
    }
  });

  it(`${DYNAMIC + STATIC} parallel deletes leave no rule of ours`, async () => {
    expect(created).toHaveLength(DYNAMIC + STATIC);
    const t0 = Date.now();
    await Promise.all(created.map((o) => portPublishProvider.delete!(o.name, o)));
    note(`${DYNAMIC + STATIC} parallel deletes: ${Date.now() - t0} ms`);
    expect(await ours()).toEqual([]);
    expect(await records()).toEqual([]);
    expect((await host.sh("iptables-save")).split("\n").filter((l) => /bridgelab/i.test(l) && !l.startsWith("#") && !l.startsWith(":"))).toEqual([]);
  });
});
