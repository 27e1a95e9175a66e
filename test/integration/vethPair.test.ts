import { helloServerCommand } from "../../provider/host/helloServer";
import { parseIpAddrJson, parseIpLinkJson } from "../../provider/host/ipJson";
import { parseIpRouteJson, parseVethLinkJson } from "../../provider/host/vethJson";
import { bridgeProvider, BridgeInputs, BridgeOutputs } from "../../provider/resources/bridge";
import { netNamespaceProvider, NetNamespaceInputs, NetNamespaceOutputs } from "../../provider/resources/netNamespace";
import { processProvider, ProcessInputs, ProcessOutputs } from "../../provider/resources/process";
import { vethPairProvider, VethPairInputs, VethPairOutputs } from "../../provider/resources/vethPair";
import { ownerOf, ownerTag } from "../../provider/host/owner";
import { TRANSPORTS, useHost } from "../support/hosts";
import { captureConsole } from "../support/consoleCapture";

/** The URN of resource NAME of TYPE in stack STACK of project lab: the owner the classes pass. */
const urn = (type: string, name: string, stack = "dev") => `urn:pulumi:${stack}::lab::pulumi-nodejs:dynamic/bridgelab:${type}::${name}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A message exactly: SUBJECT on <any host label>REST. */
const exactly = (subject: string, rest: string) => new RegExp(`^${escape(subject)} on \\S+${escape(rest)}$`);

// VethPair against a real kernel, through each transport: seed 004's first half (two
// "containers" on one host, first with host-side addresses, then on a bridge), drift,
// half-way failures, foreign objects and a host "reboot". The kernel state is read from
// outside the provider with `ip -j`.
describe.each(TRANSPORTS)("VethPair over %s", (kind) => {
  const host = useHost(kind, "it-veth");

  const inNs = (ns?: string) => (ns ? `-n ${ns} ` : "");
  const link = async (dev: string, ns?: string) => parseVethLinkJson(await host.sh(`ip ${inNs(ns)}-j -d link show dev ${dev} 2>/dev/null || echo '[]'`))[0];
  const addrs = async (dev: string, ns?: string) =>
    (parseIpAddrJson(await host.sh(`ip ${inNs(ns)}-j addr show dev ${dev} 2>/dev/null || echo '[]'`))[0]?.addrs ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
  const defaultRoutes = async (ns: string) => parseIpRouteJson(await host.sh(`ip -n ${ns} -j route show default`));
  /** "ok" when one ping gets an answer. From a namespace, or from the host itself. */
  const ping = async (from: string | undefined, to: string) => (await host.sh(`${from ? `ip netns exec ${from} ` : ""}ping -c3 -i0.2 -W1 ${to} >/dev/null 2>&1 && echo ok || echo unreachable`)).trim();

  /** The URNs recorded in /run/bridgelab/owners, sorted; only VethPairs' with `veths`. */
  const owners = async (veths = false) =>
    (await host.sh("cat /run/bridgelab/owners/* 2>/dev/null || true"))
      .trim()
      .split("\n")
      .filter((u) => u && (!veths || u.includes(":VethPair::")))
      .sort();

  /** Checked inputs with the owner the VethPair class gives (stack dev); `owner: undefined` makes them 0.1's. */
  async function veth(news: Record<string, unknown>): Promise<VethPairInputs> {
    const r = await vethPairProvider.check!({}, { connection: host.connection, owner: urn("VethPair", news.name as string), ...news });
    expect(r.failures).toEqual([]);
    return r.inputs as VethPairInputs;
  }
  async function netns(name: string): Promise<NetNamespaceOutputs> {
    const r = await netNamespaceProvider.check!({}, { connection: host.connection, name, owner: urn("NetNamespace", name) });
    return (await netNamespaceProvider.create(r.inputs as NetNamespaceInputs)).outs as NetNamespaceOutputs;
  }
  async function bridge(name: string, address: string): Promise<BridgeOutputs> {
    const r = await bridgeProvider.check!({}, { connection: host.connection, name, address, owner: urn("Bridge", name) });
    return (await bridgeProvider.create(r.inputs as BridgeInputs)).outs as BridgeOutputs;
  }

  it("seed 004 without a bridge: veth0 joins netns0 and the host; a second veth in the same subnet is refused at check and at create", async () => {
    const [ns0, ns1] = [await netns("netns0"), await netns("netns1")];
    const inputs = await veth({ name: "veth0", netns: "netns0", hostAddress: "172.18.0.11/16", address: "172.18.0.10/16" });
    const { id, outs } = await vethPairProvider.create(inputs);
    expect(id).toBe("veth0");

    const h = await link("veth0");
    expect(h).toMatchObject({ kind: "veth", ifalias: ownerTag("veth", ownerOf(urn("VethPair", "veth0"))), mtu: 1500, ifindex: outs.hostIfindex, address: outs.hostMac, linkIndex: outs.peerIfindex });
    expect(h.flags).toContain("UP");
    expect(h.master).toBeUndefined();
    expect(await addrs("veth0")).toEqual(["172.18.0.11/16"]);
    const p = await link("ceth0", "netns0");
    expect(p).toMatchObject({ kind: "veth", mtu: 1500, ifindex: outs.peerIfindex, address: "02:42:ac:12:00:0a", linkIndex: outs.hostIfindex });
    expect(p.flags).toContain("UP");
    expect(await addrs("ceth0", "netns0")).toEqual(["172.18.0.10/16"]);
    expect(await link("ceth0")).toBeUndefined(); // the peer is not on the host
    expect(outs).toMatchObject({ name: "veth0", peerName: "ceth0", peerIfname: "ceth0", netns: "netns0", hostAddress: "172.18.0.11/16", address: "172.18.0.10/16", mac: "02:42:ac:12:00:0a", peerMac: "02:42:ac:12:00:0a", mtu: 1500, up: true });

    // The seed's first connectivity checks, both ways.
    expect(await ping("netns0", "172.18.0.11")).toBe("ok");
    expect(await ping(undefined, "172.18.0.10")).toBe("ok");
    expect(await vethPairProvider.read!(id, outs)).toEqual({ id, props: outs });

    // The second "container" the seed's way: check refuses it, explaining the clash.
    const second = { connection: host.connection, name: "veth1", netns: "netns1", hostAddress: "172.18.0.21/16", address: "172.18.0.20/16" };
    const c = await vethPairProvider.check!({}, second);
    expect(c.failures).toEqual([
      {
        property: "hostAddress",
        reason: expect.stringMatching(/^hostAddress "172.18.0.21\/16" of veth "veth1" is in a subnet that overlaps hostAddress "172.18.0.11\/16" of veth "veth0" on the same host: the kernel installs one connected route per host-side address/),
      },
    ]);

    // A plugin process that never checked veth0 (another stack, say) still cannot create it:
    // the host's own routing table is read first, and nothing changes.
    const routesBefore = await host.sh("ip -j route show");
    await expect(vethPairProvider.create(c.inputs as VethPairInputs)).rejects.toThrow(
      /veth "veth1" on \S+: hostAddress 172.18.0.21\/16 overlaps a route the host already has on another device:\n {2}172.18.0.0\/16 dev veth0 proto kernel scope link src 172.18.0.11\nNothing was changed: the kernel installs one connected route per host-side address .*Attach both veths to a Bridge that owns the subnet/s,
    );
    expect(await link("veth1")).toBeUndefined();
    expect(await link("ceth1", "netns1")).toBeUndefined();
    expect(await host.sh("ip -j route show")).toBe(routesBefore);

    await vethPairProvider.delete!(id, outs);
    expect(await link("veth0")).toBeUndefined();
    expect(await link("ceth0", "netns0")).toBeUndefined(); // deleting one end deletes both
    expect(await host.sh("ip -j route show match 172.18.0.0/16")).not.toMatch(/172\.18/);
    await expect(vethPairProvider.delete!(id, outs)).resolves.toBeUndefined();
    expect(await vethPairProvider.read!(id, outs)).toEqual({ id: "", props: {} });
    for (const ns of [ns0, ns1]) await netNamespaceProvider.delete!(ns.name, ns);
  });

  it("seed 004 with a bridge: netns0 and netns1 on br0 reach each other, the host and its uplink; netns1 gets netns0's HTTP page", async () => {
    const br = await bridge("br0", "172.18.0.1/16");
    const [ns0, ns1] = [await netns("netns0"), await netns("netns1")];
    const v0 = (await vethPairProvider.create(await veth({ name: "veth0", netns: "netns0", bridge: "br0", address: "172.18.0.10/16", gateway: "172.18.0.1" }))).outs as VethPairOutputs;
    const v1 = (await vethPairProvider.create(await veth({ name: "veth1", netns: "netns1", bridge: "br0", address: "172.18.0.11/16", gateway: "172.18.0.1" }))).outs as VethPairOutputs;
    expect((await link("veth0")).master).toBe("br0");
    expect((await link("veth1")).master).toBe("br0");
    expect(await defaultRoutes("netns0")).toEqual([{ dst: "default", gateway: "172.18.0.1", dev: "ceth0" }]);
    expect(v1).toMatchObject({ bridge: "br0", gateway: "172.18.0.1", mac: "02:42:ac:12:00:0b" });

    expect(await ping("netns0", "172.18.0.11")).toBe("ok");
    expect(await ping("netns1", "172.18.0.10")).toBe("ok");
    expect(await ping(undefined, "172.18.0.10")).toBe("ok");
    expect(await ping(undefined, "172.18.0.11")).toBe("ok");
    // The default route via the bridge reaches the host's other address (its eth0).
    expect(await ping("netns0", "198.51.100.2")).toBe("ok");

    const web = (await processProvider.create((await processProvider.check!({}, { connection: host.connection, name: "web", owner: urn("Process", "web"), netns: "netns0", command: helloServerCommand(5000, "hello from netns0") })).inputs as ProcessInputs)).outs as ProcessOutputs;
    const get = (from: string) =>
      host.sh(
        `ip netns exec ${from} sh -c 'if command -v curl >/dev/null; then curl -sS --max-time 5 http://172.18.0.10:5000/; ` +
          `else printf "GET / HTTP/1.0\\r\\n\\r\\n" | socat -T5 - TCP:172.18.0.10:5000 | sed 1,2d; fi'`,
      );
    expect((await get("netns1")).trim()).toBe("hello from netns0");

    await processProvider.delete!("web", web);
    expect((await host.sh(`awk '{ print $3 }' /proc/${web.pid}/stat 2>/dev/null || true`)).trim()).toMatch(/^Z?$/);
    for (const v of [v0, v1]) await vethPairProvider.delete!(v.name, v);
    expect(await parseIpLinkJson(await host.sh("ip -j link show master br0"))).toEqual([]);
    await bridgeProvider.delete!("br0", br);
    for (const ns of [ns0, ns1]) await netNamespaceProvider.delete!(ns.name, ns);
    expect(await owners()).toEqual([]);
  });

  it("read reports drift (address, MTU, down, detached) and update restores it in place; MTU, MAC, address and bridge change in place", async () => {
    const br = await bridge("br5", "10.55.0.1/24");
    const ns = await netns("nsdrift");
    const inputs = await veth({ name: "vdrift", netns: "nsdrift", peerIfname: "eth0", bridge: "br5", address: "10.55.0.10/24", gateway: "10.55.0.1" });
    const { id, outs } = await vethPairProvider.create(inputs);
    const o = outs as VethPairOutputs;

    await host.sh("ip -n nsdrift addr flush dev eth0 && ip link set dev vdrift mtu 1400 && ip link set dev vdrift nomaster && ip -n nsdrift link set dev eth0 down");
    const drifted = (await vethPairProvider.read!(id, o)).props as VethPairOutputs;
    expect(drifted).toMatchObject({ mtu: 1400, up: false, hostIfindex: o.hostIfindex, peerIfindex: o.peerIfindex });
    for (const k of ["address", "gateway", "bridge"] as const) expect(drifted[k]).toBeUndefined();
    const d = await vethPairProvider.diff!(id, drifted, inputs);
    expect(d).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });

    const fixed = (await vethPairProvider.update!(id, drifted, inputs)).outs as VethPairOutputs;
    expect(fixed).toMatchObject({ mtu: 1500, up: true, bridge: "br5", address: "10.55.0.10/24", gateway: "10.55.0.1", hostIfindex: o.hostIfindex, peerIfindex: o.peerIfindex });
    expect(await vethPairProvider.read!(id, fixed)).toEqual({ id, props: fixed });
    expect(await ping("nsdrift", "10.55.0.1")).toBe("ok");

    // Declared changes, in place: same ifindexes prove nothing was recreated.
    const next = await veth({ name: "vdrift", netns: "nsdrift", peerIfname: "eth0", bridge: "br5", address: "10.55.0.20/24", gateway: "10.55.0.1", mtu: 1400, mac: "02:42:0a:37:00:99" });
    expect(await vethPairProvider.diff!(id, fixed, next)).toMatchObject({ changes: true, replaces: [] });
    const changed = (await vethPairProvider.update!(id, fixed, next)).outs as VethPairOutputs;
    expect(changed).toMatchObject({ mtu: 1400, mac: "02:42:0a:37:00:99", peerMac: "02:42:0a:37:00:99", address: "10.55.0.20/24", gateway: "10.55.0.1", hostIfindex: o.hostIfindex, peerIfindex: o.peerIfindex });
    expect((await link("vdrift")).mtu).toBe(1400);
    expect(await addrs("eth0", "nsdrift")).toEqual(["10.55.0.20/24"]);
    expect(await defaultRoutes("nsdrift")).toEqual([{ dst: "default", gateway: "10.55.0.1", dev: "eth0" }]);
    expect(await ping("nsdrift", "10.55.0.1")).toBe("ok");

    // Detached and down (a down link keeps no routes, so no gateway).
    const down = await veth({ name: "vdrift", netns: "nsdrift", peerIfname: "eth0", address: "10.55.0.20/24", mtu: 1400, mac: "02:42:0a:37:00:99", up: false });
    const detached = (await vethPairProvider.update!(id, changed, down)).outs as VethPairOutputs;
    expect(detached).toMatchObject({ up: false, hostIfindex: o.hostIfindex });
    expect(detached.bridge).toBeUndefined();
    expect(detached.gateway).toBeUndefined();
    expect((await link("vdrift")).master).toBeUndefined();
    expect((await link("eth0", "nsdrift")).flags).not.toContain("UP");

    await vethPairProvider.delete!(id, detached);
    await bridgeProvider.delete!("br5", br);
    await netNamespaceProvider.delete!(ns.name, ns);
  });

  it("a create that fails half-way leaves nothing behind", async () => {
    const ns = await netns("nshalf");
    // Step 4 of 8 fails: the bridge does not exist. The pair was made, and must be gone again.
    await expect(vethPairProvider.create(await veth({ name: "vhalf", netns: "nshalf", bridge: "nobr0", address: "10.66.0.10/24" }))).rejects.toThrow(
      /veth "vhalf" on \S+: `.*` exited \d+: .*"nobr0" is wrong: Device does not exist/s,
    );
    expect(await link("vhalf")).toBeUndefined();
    expect(await link("chalf", "nshalf")).toBeUndefined();

    // The last step fails: the namespace already has a default route, so the gateway's is refused.
    await host.sh("ip -n nshalf route add default dev lo");
    await expect(vethPairProvider.create(await veth({ name: "vhalf", netns: "nshalf", address: "10.66.0.10/24", gateway: "10.66.0.1" }))).rejects.toThrow(/File exists/);
    expect(await link("vhalf")).toBeUndefined();
    expect(await link("chalf", "nshalf")).toBeUndefined();
    expect(await defaultRoutes("nshalf")).toEqual([{ dst: "default", dev: "lo", scope: "link" }]);

    // Refused before anything: a missing namespace, a peer name already taken in it.
    await expect(vethPairProvider.create(await veth({ name: "vhalf", netns: "nosuchns" }))).rejects.toThrow(/network namespace nosuchns does not exist \(create the NetNamespace first\)/);
    await expect(vethPairProvider.create(await veth({ name: "vhalf", netns: "nshalf", peerIfname: "lo" }))).rejects.toThrow(/the peer name lo is already taken in network namespace nshalf/);
    expect(await link("vhalf")).toBeUndefined();
    await netNamespaceProvider.delete!(ns.name, ns);
  });

  it("delete succeeds for a pair removed by hand; a peer renamed by hand makes read report it missing, and a replace repairs it", async () => {
    const ns = await netns("nshand");
    const inputs = await veth({ name: "vhand", netns: "nshand", address: "10.77.0.10/24" });
    let o = (await vethPairProvider.create(inputs)).outs as VethPairOutputs;
    await host.sh("ip -n nshand link del chand"); // from the namespace side: the host end goes too
    expect(await link("vhand")).toBeUndefined();
    expect(await vethPairProvider.read!("vhand", o)).toEqual({ id: "", props: {} });
    await expect(vethPairProvider.delete!("vhand", o)).resolves.toBeUndefined();

    o = (await vethPairProvider.create(inputs)).outs as VethPairOutputs;
    await host.sh("ip -n nshand link set dev chand down && ip -n nshand link set dev chand name other0");
    const r = (await vethPairProvider.read!("vhand", o)).props as VethPairOutputs;
    expect(r.peerIfindex).toBe(0);
    expect(await vethPairProvider.diff!("vhand", r, inputs)).toEqual({ changes: true, replaces: ["peerIfname"], deleteBeforeReplace: true });
    await vethPairProvider.delete!("vhand", r);
    o = (await vethPairProvider.create(inputs)).outs as VethPairOutputs;
    expect(await addrs("chand", "nshand")).toEqual(["10.77.0.10/24"]);
    await vethPairProvider.delete!("vhand", o);
    await netNamespaceProvider.delete!(ns.name, ns);
  });

  it("refresh after a reboot (namespaces wiped, processes and /run gone) reports everything gone, and create works again", async () => {
    const br = await bridge("br7", "10.88.0.1/24");
    const ns = await netns("nsboot");
    const vIn = await veth({ name: "vboot", netns: "nsboot", bridge: "br7", address: "10.88.0.10/24", gateway: "10.88.0.1" });
    const v = (await vethPairProvider.create(vIn)).outs as VethPairOutputs;
    const pIn = (await processProvider.check!({}, { connection: host.connection, name: "boot-web", owner: urn("Process", "boot-web"), netns: "nsboot", command: helloServerCommand(8080, "up") })).inputs as ProcessInputs;
    const p = (await processProvider.create(pIn)).outs as ProcessOutputs;

    // What a reboot does to a lab: processes die, /run is empty, namespaces are gone. (The
    // bridge would be gone too; it stays here to show a survivor is untouched.)
    await host.sh(`for n in $(ip netns list | cut -d' ' -f1); do ip netns pids "$n" | xargs -r kill -9; done; rm -rf /run/bridgelab/proc /run/bridgelab/owners; ip -all netns delete`);
    // The kernel frees a namespace (and the veths in it) asynchronously.
    await host.sh("i=0; while ip link show dev vboot >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done");
    expect(await netNamespaceProvider.read!(ns.name, ns)).toEqual({ id: "", props: {} });
    expect(await vethPairProvider.read!(v.name, v)).toEqual({ id: "", props: {} });
    expect(await processProvider.read!(p.name, p)).toEqual({ id: "", props: {} });
    expect((await bridgeProvider.read!("br7", br)).id).toBe("br7");
    // Deleting what the reboot already took (a destroy without refresh) succeeds.
    await expect(processProvider.delete!(p.name, p)).resolves.toBeUndefined();
    await expect(vethPairProvider.delete!(v.name, v)).resolves.toBeUndefined();
    await expect(netNamespaceProvider.delete!(ns.name, ns)).resolves.toBeUndefined();

    // The engine drops them; the next `up` creates them again.
    const ns2 = (await netNamespaceProvider.create({ connection: host.connection, name: "nsboot", owner: urn("NetNamespace", "nsboot") } as NetNamespaceInputs)).outs as NetNamespaceOutputs;
    const v2 = (await vethPairProvider.create(vIn)).outs as VethPairOutputs;
    const p2 = (await processProvider.create(pIn)).outs as ProcessOutputs;
    expect(await ping("nsboot", "10.88.0.1")).toBe("ok");
    expect((await host.sh("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socat -T5 - TCP:10.88.0.10:8080 | sed 1,2d")).trim()).toBe("up");

    await processProvider.delete!(p2.name, p2);
    await vethPairProvider.delete!(v2.name, v2);
    await bridgeProvider.delete!("br7", br);
    await netNamespaceProvider.delete!(ns2.name, ns2);
    expect(await owners()).toEqual([]);
  });

  it("refuses a foreign veth and a non-veth link of that name, never deleting them; adopts its own", async () => {
    const ns = await netns("nsadopt");
    await host.sh("ip link add vforeign type veth peer name cforeign && ip link add vdummy type bridge");
    await expect(vethPairProvider.create(await veth({ name: "vforeign", netns: "nsadopt" }))).rejects.toThrow(
      exactly(
        'veth "vforeign"',
        ": a veth of that name already exists and is not managed by bridgelab (it has no bridgelab tag); bridgelab never takes another owner's objects: " +
          "destroy it from the stack that made it (or by hand if nothing does), or choose another name (delete it with `ip link del vforeign` if nothing uses it)",
      ),
    );
    await expect(vethPairProvider.create(await veth({ name: "vdummy", netns: "nsadopt" }))).rejects.toThrow(/"vdummy" already exists but is not a veth \(it is a bridge link\)/);
    const fake = { connection: host.connection, name: "vforeign", owner: urn("VethPair", "vforeign"), peerName: "cforeign", peerIfname: "cforeign", mtu: 1500, up: true, hostIfindex: 0, peerIfindex: 0, hostMac: "", peerMac: "" };
    // Deleting it is success for the engine (the resource is gone from the stack), and the user is told why it stays.
    const { error } = await captureConsole(() => vethPairProvider.delete!("vforeign", fake));
    expect(error).toEqual([expect.stringMatching(exactly('veth "vforeign"', " is not this resource's, so it is left in place: it is not managed by bridgelab (it has no bridgelab tag)"))]);
    expect(await link("vforeign")).toBeDefined();
    expect(await vethPairProvider.read!("vforeign", fake)).toEqual({ id: "", props: {} });
    await host.sh("ip link del vforeign && ip link del vdummy");

    // 0.1's, left by an interrupted create with its peer in place: converged in place by 0.1's state (no owner).
    await host.sh("ip link add vadopt mtu 1400 type veth peer name cadopt netns nsadopt && ip link set dev vadopt alias bridgelab:v1:veth");
    const before = await link("vadopt");
    const a = (await vethPairProvider.create(await veth({ name: "vadopt", owner: undefined, netns: "nsadopt", address: "10.99.0.10/24" }))).outs as VethPairOutputs;
    expect(a).toMatchObject({ hostIfindex: before.ifindex, mtu: 1500, up: true, address: "10.99.0.10/24", mac: "02:42:0a:63:00:0a" });
    expect(a.owner).toBeUndefined();
    expect(await addrs("cadopt", "nsadopt")).toEqual(["10.99.0.10/24"]);
    expect(await owners(true)).toEqual([]);
    await vethPairProvider.delete!("vadopt", a);

    // This owner's, cut between its tag and its record: converged in place, and the owner recorded.
    const tag = ownerTag("veth", ownerOf(urn("VethPair", "vadopt")));
    await host.sh(`ip link add vadopt mtu 1400 type veth peer name cadopt netns nsadopt && ip link set dev vadopt alias ${tag}`);
    const before2 = await link("vadopt");
    const a2 = (await vethPairProvider.create(await veth({ name: "vadopt", netns: "nsadopt", address: "10.99.0.10/24" }))).outs as VethPairOutputs;
    expect(a2).toMatchObject({ hostIfindex: before2.ifindex, mtu: 1500, up: true, owner: urn("VethPair", "vadopt") });
    expect((await link("vadopt")).ifalias).toBe(tag);
    expect(await owners(true)).toEqual([urn("VethPair", "vadopt")]);
    await vethPairProvider.delete!("vadopt", a2);
    expect(await owners(true)).toEqual([]);

    // This owner's, but its peer is not where declared: made again.
    await host.sh(`ip link add vadopt type veth peer name cadopt && ip link set dev vadopt alias ${tag}`);
    const b = (await vethPairProvider.create(await veth({ name: "vadopt", netns: "nsadopt" }))).outs as VethPairOutputs;
    expect(b.peerIfindex).not.toBe(0);
    expect(await link("cadopt")).toBeUndefined();
    expect(await link("cadopt", "nsadopt")).toBeDefined();
    expect((await link("vadopt")).ifalias).toBe(tag);
    expect(await owners(true)).toEqual([urn("VethPair", "vadopt")]);
    await vethPairProvider.delete!("vadopt", b);
    await netNamespaceProvider.delete!(ns.name, ns);
    expect(await owners()).toEqual([]);
  });

  it("keeps both ends on the host without netns", async () => {
    const inputs = await veth({ name: "vhost9", mtu: 9000, up: false });
    expect(inputs.peerIfname).toBe("chost9");
    const { id, outs } = await vethPairProvider.create(inputs);
    expect(outs).toMatchObject({ peerIfname: "chost9", mtu: 9000, up: false });
    expect(outs.netns).toBeUndefined();
    expect(await link("chost9")).toMatchObject({ mtu: 9000, ifindex: outs.peerIfindex, link: "vhost9" });
    expect(await vethPairProvider.read!(id, outs)).toEqual({ id, props: outs });
    await vethPairProvider.delete!(id, outs);
    expect(await link("chost9")).toBeUndefined();
  });

  describe("ownership: two stacks, one host", () => {
    const DEV = urn("VethPair", "veth0");
    const TEST = urn("VethPair", "veth0", "test");
    const belongs = `belongs to resource "veth0" (pulumi-nodejs:dynamic/bridgelab:VethPair) of stack "dev", project "lab" (${DEV})`;

    it("tags the host end with its owner and records the owner's URN on the host; a failed create leaves no record", async () => {
      const ns = await netns("nso1");
      const { id, outs } = await vethPairProvider.create(await veth({ name: "vo1", owner: DEV, netns: "nso1", address: "10.61.0.10/24" }));
      expect((await link("vo1")).ifalias).toMatch(/^bridgelab:v2:veth:[0-9a-f]{8}$/);
      expect((await link("co1", "nso1")).ifalias).toBeUndefined(); // only the host end carries the tag
      expect(await owners()).toEqual([DEV, urn("NetNamespace", "nso1")].sort());
      expect(await vethPairProvider.read!(id, outs)).toEqual({ id, props: outs });
      await vethPairProvider.delete!(id, outs);
      expect(await link("vo1")).toBeUndefined();
      expect(await owners()).toEqual([urn("NetNamespace", "nso1")]);

      // The last step fails (the bridge does not exist): the undo takes the pair and the record.
      await expect(vethPairProvider.create(await veth({ name: "vo1", owner: DEV, netns: "nso1", bridge: "nobr1" }))).rejects.toThrow(/"nobr1" is wrong: Device does not exist/);
      expect(await link("vo1")).toBeUndefined();
      expect(await owners()).toEqual([urn("NetNamespace", "nso1")]);
      await netNamespaceProvider.delete!(ns.name, ns);
      expect(await owners()).toEqual([]);
    });

    it("another stack's create of the same name is refused naming the owner; its read says gone; its update and delete leave the pair", async () => {
      const ns = await netns("nso2");
      const mine = (await vethPairProvider.create(await veth({ name: "vo2", owner: DEV, netns: "nso2", address: "10.62.0.10/24" }))).outs as VethPairOutputs;
      const [host0, peer0] = [await link("vo2"), await link("co2", "nso2")];
      const routesBefore = await host.sh("ip -j route show");
      await expect(vethPairProvider.create(await veth({ name: "vo2", owner: TEST, netns: "nso2", address: "10.63.0.10/24" }))).rejects.toThrow(
        exactly(
          'veth "vo2"',
          `: a veth of that name already exists and ${belongs}; bridgelab never takes another owner's objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name`,
        ),
      );
      // What the other stack's state would say of it, had it one: not its pair.
      const theirs = { ...mine, owner: TEST } as VethPairOutputs;
      expect(await vethPairProvider.read!("vo2", theirs)).toEqual({ id: "", props: {} });
      await expect(vethPairProvider.update!("vo2", theirs, await veth({ name: "vo2", owner: TEST, netns: "nso2", address: "10.63.0.10/24", mtu: 1400 }))).rejects.toThrow(
        exactly('veth "vo2"', ` is not this resource's, so the update leaves it as it is: it ${belongs}; refresh the stack (\`pulumi refresh\`, or \`up --refresh\`) so that its state shows what is there`),
      );
      const { error } = await captureConsole(() => vethPairProvider.delete!("vo2", theirs));
      expect(error).toEqual([expect.stringMatching(exactly('veth "vo2"', ` is not this resource's, so it is left in place: it ${belongs}`))]);
      // Untouched: both ends, their addresses, the routes, the owner's record.
      expect(await link("vo2")).toEqual(host0);
      expect(await link("co2", "nso2")).toEqual(peer0);
      expect(await addrs("co2", "nso2")).toEqual(["10.62.0.10/24"]);
      expect(await host.sh("ip -j route show")).toBe(routesBefore);
      expect(await owners()).toEqual([DEV, urn("NetNamespace", "nso2")].sort());
      expect(await vethPairProvider.read!("vo2", mine)).toEqual({ id: "vo2", props: mine });
      await vethPairProvider.delete!("vo2", mine);
      expect(await link("vo2")).toBeUndefined();
      await netNamespaceProvider.delete!(ns.name, ns);
      expect(await owners()).toEqual([]);
    });

    it("a pair of bridgelab 0.1 is refused to a new owner, and taken over (re-tagged) by the update of the stack that made it", async () => {
      const ns = await netns("nso3");
      // 0.1's create: no owner in the inputs, the v1 tag on the host end.
      const oldIn = await veth({ name: "vo3", owner: undefined, netns: "nso3", address: "10.64.0.10/24" });
      const old = (await vethPairProvider.create(oldIn)).outs as VethPairOutputs;
      expect((await link("vo3")).ifalias).toBe("bridgelab:v1:veth");
      expect(await owners()).toEqual([urn("NetNamespace", "nso3")]);
      await expect(vethPairProvider.create(await veth({ name: "vo3", owner: TEST, netns: "nso3" }))).rejects.toThrow(
        exactly(
          'veth "vo3"',
          ": a veth of that name already exists and was made by bridgelab 0.1 (tag bridgelab:v1:veth), which did not record its owner; only the stack whose state holds it may take it; " +
            "bridgelab never takes another owner's objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name",
        ),
      );
      // Its own stack's up under 0.2: Diff sees the owner come, Update re-tags in place.
      const news = await veth({ name: "vo3", owner: DEV, netns: "nso3", address: "10.64.0.10/24" });
      expect(await vethPairProvider.diff!("vo3", old, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      const outs = (await vethPairProvider.update!("vo3", old, news)).outs as VethPairOutputs;
      expect(outs).toEqual({ ...old, owner: DEV });
      expect(await link("vo3")).toMatchObject({ ifindex: old.hostIfindex, ifalias: ownerTag("veth", ownerOf(DEV)) });
      expect(await owners()).toEqual([DEV, urn("NetNamespace", "nso3")].sort());
      // The 0.1 state can no longer read it as its own; the new one can, and deletes it.
      expect((await vethPairProvider.read!("vo3", old)).id).toBe("");
      expect(await vethPairProvider.read!("vo3", outs)).toEqual({ id: "vo3", props: outs });
      await vethPairProvider.delete!("vo3", outs);
      expect(await link("vo3")).toBeUndefined();
      await netNamespaceProvider.delete!(ns.name, ns);
      expect(await owners()).toEqual([]);
    });
  });
});
