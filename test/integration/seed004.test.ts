import type * as pulumi from "@pulumi/pulumi";
import { bridgeProvider } from "../../provider/resources/bridge";
import { egressProvider } from "../../provider/resources/egress";
import { netNamespaceProvider } from "../../provider/resources/netNamespace";
import { portPublishProvider } from "../../provider/resources/portPublish";
import { processProvider } from "../../provider/resources/process";
import { vethPairProvider } from "../../provider/resources/vethPair";
import { helloServerCommand } from "../../provider/host/helloServer";
import { TRANSPORTS, useHost } from "../support/hosts";

/**
 * Seed 004 ("container networking from scratch"), rebuilt step by step with bridgelab
 * resources on a sandbox host, over each transport. Every step asserts the observation the
 * article makes at that point. The sandbox host stands in for the article's machine: its
 * uplink 198.51.100.2 plays 172.16.0.2 (the host's eth0) and the outside's 203.0.113.1
 * plays 8.8.8.8.
 */
type Provider = pulumi.dynamic.ResourceProvider;
interface Made {
  provider: Provider;
  id: string;
  outs: Record<string, unknown>;
}

describe.each(TRANSPORTS)("seed 004 over %s", (kind) => {
  const host = useHost(kind, "seed004");
  const made: Made[] = [];

  async function make(provider: Provider, news: Record<string, unknown>): Promise<Made> {
    const c = await provider.check!({}, { connection: host.connection, ...news });
    expect(c.failures ?? []).toEqual([]);
    const r = await provider.create(c.inputs);
    const m = { provider, id: r.id, outs: r.outs };
    made.push(m);
    return m;
  }

  async function change(m: Made, news: Record<string, unknown>): Promise<void> {
    const c = await m.provider.check!(m.outs, { ...m.outs, ...news });
    expect(c.failures ?? []).toEqual([]);
    const d = await m.provider.diff!(m.id, m.outs, c.inputs);
    expect(d.replaces ?? []).toEqual([]); // every change in this walk-through is in place
    const u = await m.provider.update!(m.id, m.outs, c.inputs);
    m.outs = u.outs;
  }

  /** Exit status of a command inside the host (0 = it worked). */
  const status = async (script: string) => Number((await host.sh(`${script} >/dev/null 2>&1; echo $?`)).trim());
  const ping = (from: string, to: string) => status(`ip netns exec ${from} ping -c3 -i0.2 -W1 ${to}`);
  const http = (where: string, url: string) => host.sh(`${where} curl -s --max-time 3 ${url} || echo FAILED`);

  let netns0: Made, netns1: Made, veth0: Made, veth1: Made, br0: Made;

  it("two containers: namespaces with only a loopback, unreachable from each other and the host", async () => {
    netns0 = await make(netNamespaceProvider, { name: "netns0" });
    netns1 = await make(netNamespaceProvider, { name: "netns1" });
    expect((await host.sh("ip netns list")).split("\n").map((l) => l.split(" ")[0]).filter(Boolean).sort()).toEqual(["netns0", "netns1"]);
    // "ping: connect: Network is unreachable"
    expect(await host.sh("ip netns exec netns0 ping -c3 -i0.2 -W1 198.51.100.2 2>&1 || true")).toContain("Network is unreachable");
  });

  it("veth pairs with eth-side addresses, but no bridge: the containers cannot reach each other", async () => {
    veth0 = await make(vethPairProvider, { name: "veth0", peerName: "ceth0", netns: "netns0", address: "172.18.0.10/16" });
    veth1 = await make(vethPairProvider, { name: "veth1", peerName: "ceth1", netns: "netns1", address: "172.18.0.20/16" });
    expect(await ping("netns0", "172.18.0.20")).not.toBe(0);
    // "Make sure there is no new routes on the host"
    expect(await host.sh("ip route list")).not.toContain("172.18.");
  });

  it("a bridge joins them: netns0 ↔ netns1; the host still has no route to them", async () => {
    br0 = await make(bridgeProvider, { name: "br0" });
    await change(veth0, { bridge: "br0" });
    await change(veth1, { bridge: "br0" });
    expect(await host.sh("ip -j link show master br0")).toContain("veth0");
    expect(await ping("netns0", "172.18.0.20")).toBe(0);
    expect(await ping("netns1", "172.18.0.10")).toBe(0);
    expect(await status("ping -c3 -i0.2 -W1 172.18.0.10")).not.toBe(0);
  });

  it("the bridge gets 172.18.0.1/16: the host reaches the containers", async () => {
    await change(br0, { address: "172.18.0.1/16" });
    expect(await status("ping -c3 -i0.2 -W1 172.18.0.10")).toBe(0);
    expect(await status("ping -c3 -i0.2 -W1 172.18.0.20")).toBe(0);
    expect(await host.sh("ip route list")).toContain("172.18.0.0/16 dev br0 proto kernel scope link src 172.18.0.1");
  });

  it("a default route via the bridge: containers reach the host's eth0, but not the internet", async () => {
    await change(veth0, { gateway: "172.18.0.1" });
    await change(veth1, { gateway: "172.18.0.1" });
    expect(await host.sh("ip -n netns0 route list")).toContain("default via 172.18.0.1");
    expect(await ping("netns0", "198.51.100.2")).toBe(0);
    expect(await ping("netns0", "203.0.113.1")).not.toBe(0);
  });

  it("forwarding and MASQUERADE: the containers reach the internet; the rule has the seed's shape", async () => {
    await make(egressProvider, { name: "lab", bridge: "br0", subnet: "172.18.0.0/16" });
    expect((await host.sh("cat /proc/sys/net/ipv4/ip_forward")).trim()).toBe("1");
    expect(await ping("netns0", "203.0.113.1")).toBe(0);
    expect(await ping("netns1", "203.0.113.1")).toBe(0);
    // iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE, in our own chain:
    expect(await host.sh("iptables-save -t nat")).toMatch(/^-A BRIDGELAB-POSTROUTING -s 172\.18\.0\.0\/16 ! -o br0 -m comment --comment "bridgelab:v1:egress:lab" -j MASQUERADE$/m);
    // The outside saw the host's address, not the container's: it has no route to 172.18/16.
    expect(await host.outside("ip route list")).not.toContain("172.18.");
  });

  it("a server in netns0 answers on 172.18.0.10:5000, but not yet on the host's address", async () => {
    await make(processProvider, { name: "web", netns: "netns0", command: helloServerCommand(5000, "hello from netns0", "172.18.0.10") });
    expect(await http("", "172.18.0.10:5000")).toContain("hello from netns0");
    expect(await http("", "198.51.100.2:5000")).toContain("FAILED");
  });

  it("port publishing: 198.51.100.2:5000 reaches netns0 from outside, from the host and hairpin from netns1", async () => {
    // The seed binds the server to 172.18.0.10; a published port reaches it through DNAT.
    const web = await make(portPublishProvider, { name: "web", protocol: "tcp", hostIp: "198.51.100.2", hostPort: 5000, address: "172.18.0.10", port: 5000, bridge: "br0" });
    expect(web.outs.hostPort).toBe(5000);
    // From outside: the outside namespace (the internet) to the host's address.
    expect(await host.outside("curl -s --max-time 3 198.51.100.2:5000 || echo FAILED")).toContain("hello from netns0");
    // From the host itself (OUTPUT chain).
    expect(await http("", "198.51.100.2:5000")).toContain("hello from netns0");
    // Hairpin: another container on the same bridge, through the host's address.
    expect(await http("ip netns exec netns1", "198.51.100.2:5000")).toContain("hello from netns0");
    // netns0 reaching its own published port: the bridge port's hairpin mode sends it back.
    expect(await http("ip netns exec netns0", "198.51.100.2:5000")).toContain("hello from netns0");
    // The rule in the shape the seed writes it (-d 172.16.0.2 ... -j DNAT), in our chain:
    expect(await host.sh("iptables-save -t nat")).toMatch(
      /^-A BRIDGELAB-DNAT -d 198\.51\.100\.2\/32 -p tcp -m tcp --dport 5000 -m comment --comment "bridgelab:v1:publish:web" -j DNAT --to-destination 172\.18\.0\.10:5000$/m,
    );
    // A second mapping of the same port is refused with Docker's words, before any change.
    const before = await host.sh("iptables-save | grep -v '^#'");
    const again = await portPublishProvider.check!({}, { connection: host.connection, name: "web2", protocol: "tcp", hostIp: "198.51.100.2", hostPort: 5000, address: "172.18.0.20", port: 5000, bridge: "br0" });
    const failure = (again.failures ?? []).map((f) => f.reason).join("; ");
    const err = failure || (await portPublishProvider.create(again.inputs).then(() => "", (e: Error) => e.message));
    expect(err).toContain("Bind for 198.51.100.2:5000 failed: port is already allocated");
    expect(await host.sh("iptables-save | grep -v '^#'")).toBe(before);
  });

  it("destroy, in reverse order of creation, leaves nothing of the lab", async () => {
    // (If an earlier step failed, deleting the sandbox host in useHost's afterAll removes all.)
    for (const m of made.reverse()) await m.provider.delete!(m.id, m.outs);
    expect((await host.sh("ip netns list")).trim()).toBe("");
    expect((await host.sh("ip -j link")).match(/"ifname":"[^"]+"/g)!.sort()).toEqual(['"ifname":"eth0"', '"ifname":"lo"']);
    expect(await host.sh("iptables-save")).not.toContain("BRIDGELAB");
    expect((await host.sh("cat /proc/sys/net/ipv4/ip_forward")).trim()).toBe("0");
  });
});
