import { alive, changed, curlFromOutside, expectNothingLeft, expectVerified, iface, ipJson, netnsList, ops, useLab } from "./labHarness";

// Stack netns-lab (seed 004's end state) end to end through the test engine on a sandbox
// host: up → verify → in-place update → replacement → refresh after out-of-band changes →
// repair → destroy → nothing left. The sandbox's uplink 198.51.100.2 plays the article's
// 172.16.0.2 and the outside's 203.0.113.1 plays 8.8.8.8.
const lab = useLab("netns-lab", "e2e-netns");
const pids: number[] = [];
const mtu = { mtu: "1400" };
const renamed = { ...mtu, bridgeName: "br1" };

describe("stack netns-lab through the test engine", () => {
  it("up builds seed 004's end state, and the lab verifies", async () => {
    const s = await lab.engine("up");
    expect(ops(s)).toEqual({
      "Bridge:br0": "create",
      "Egress:br0": "create",
      "NetNamespace:netns0": "create",
      "NetNamespace:netns1": "create",
      "VethPair:netns0-ceth0": "create",
      "VethPair:netns1-ceth1": "create",
      "Process:netns0": "create",
      "PortPublish:netns0-tcp-5000": "create",
      "LabProbe:verification": "create",
    });
    const { box } = lab;
    // ip addr add 172.18.0.1/16 dev br0; veth0/veth1 its ports; ceth0/ceth1 inside with the seed's addresses.
    expect(await iface(box, "br0")).toMatchObject({ cidrs: ["172.18.0.1/16"], mtu: 1500 });
    expect((await ipJson<{ ifname: string }>(box, "link show master br0")).map((l) => l.ifname).sort()).toEqual(["veth0", "veth1"]);
    expect(await netnsList(box)).toEqual(["netns0", "netns1"]);
    expect(await iface(box, "ceth0", "netns0")).toMatchObject({ cidrs: ["172.18.0.10/16"], mac: "02:42:ac:12:00:0a" });
    expect(await iface(box, "ceth1", "netns1")).toMatchObject({ cidrs: ["172.18.0.20/16"], mac: "02:42:ac:12:00:14" });
    expect(await box.sh("ip -n netns1 route show default")).toContain("default via 172.18.0.1 dev ceth1");
    // Forwarding and the MASQUERADE; the DNAT of port 5000.
    expect((await box.sh("cat /proc/sys/net/ipv4/ip_forward")).trim()).toBe("1");
    const nat = await box.sh("iptables-save -t nat");
    expect(nat).toMatch(/^-A BRIDGELAB-POSTROUTING -s 172\.18\.0\.0\/16 ! -o br0 .*-j MASQUERADE$/m);
    expect(nat).toMatch(/--dport 5000 .*-j DNAT --to-destination 172\.18\.0\.10:5000$/m);
    // The article's test: the server in netns0 answers on the host's address, from outside.
    expect(await curlFromOutside(box, "198.51.100.2:5000")).toBe("hello from netns0");

    const out = s.outputs as Record<string, any>;
    expect(out.containers.netns0).toMatchObject({
      mode: "bridge",
      netns: "netns0",
      networks: { br0: { ifname: "ceth0", hostIfname: "veth0", address: "172.18.0.10", prefixLength: 16, gateway: "172.18.0.1", mac: "02:42:ac:12:00:0a" } },
      ports: { "5000/tcp": [{ hostIp: "0.0.0.0", hostPort: 5000, requestedHostPort: 5000 }] },
      published: ["0.0.0.0:5000->5000/tcp"],
    });
    expect(out.networks.br0).toMatchObject({
      Name: "br0",
      Driver: "bridge",
      IPAM: { Config: [{ Subnet: "172.18.0.0/16", Gateway: "172.18.0.1" }] },
      Containers: { netns0: { IPv4Address: "172.18.0.10/16", MacAddress: "02:42:ac:12:00:0a" }, netns1: { IPv4Address: "172.18.0.20/16", MacAddress: "02:42:ac:12:00:14" } },
    });
    expect(out.topology).toMatchObject({
      version: 1,
      host: { address: "198.51.100.2" },
      bridges: [{ name: "br0", subnet: "172.18.0.0/16", gateway: "172.18.0.1", egress: true }],
      namespaces: [{ name: "netns0" }, { name: "netns1" }],
      veths: [
        { host: { ifname: "veth0", bridge: "br0" }, peer: { netns: "netns0", ifname: "ceth0", address: "172.18.0.10/16" } },
        { host: { ifname: "veth1", bridge: "br0" }, peer: { netns: "netns1", ifname: "ceth1", address: "172.18.0.20/16" } },
      ],
      ports: [{ container: "netns0", hostPort: 5000, address: "172.18.0.10", port: 5000 }],
    });
    const matrix = expectVerified(s);
    expect(matrix.map((r) => r.name)).toEqual(expect.arrayContaining(["ping:netns0-to-netns1-on-br0", "ping:netns1-to-egress", "http:outside-to-netns0:5000", "http:netns1-to-published-netns0:5000"]));
    expect(matrix.map((r) => r.name)).toEqual((out.expectedPaths as Array<{ name: string }>).map((p) => p.name));
    pids.push(out.containers.netns0.pid);
    expect(alive(out.containers.netns0.pid)).toBe(true);
  });

  it("a second up changes nothing", async () => {
    expect(changed(await lab.engine("up"))).toEqual({});
  });

  it("an MTU change updates the bridge and the veths in place, and re-verifies", async () => {
    const before = await iface(lab.box, "veth0");
    const s = await lab.engine("up", mtu);
    expect(changed(s)).toEqual({ "Bridge:br0": "update", "VethPair:netns0-ceth0": "update", "VethPair:netns1-ceth1": "update", "LabProbe:verification": "update" });
    expect(await iface(lab.box, "br0")).toMatchObject({ mtu: 1400 });
    expect(await iface(lab.box, "veth0")).toMatchObject({ mtu: 1400, ifindex: before!.ifindex });
    expect(await iface(lab.box, "ceth0", "netns0")).toMatchObject({ mtu: 1400 });
    expectVerified(s);
  });

  it("renaming the bridge replaces it; the veths move to the new one in place", async () => {
    const s = await lab.engine("up", renamed);
    expect(changed(s)).toEqual({
      "Bridge:br0": "replace",
      "Egress:br0": "replace",
      "VethPair:netns0-ceth0": "update",
      "VethPair:netns1-ceth1": "update",
      "PortPublish:netns0-tcp-5000": "update",
      "LabProbe:verification": "update",
    });
    expect(await iface(lab.box, "br0")).toBeUndefined();
    expect(await iface(lab.box, "br1")).toMatchObject({ cidrs: ["172.18.0.1/16"], mtu: 1400 });
    expect((await ipJson<{ ifname: string }>(lab.box, "link show master br1")).map((l) => l.ifname).sort()).toEqual(["veth0", "veth1"]);
    const rules = await lab.box.sh("iptables-save");
    expect(rules).toContain("! -o br1");
    expect(rules).not.toMatch(/\bbr0\b/);
    expect(await curlFromOutside(lab.box, "198.51.100.2:5000")).toBe("hello from netns0");
    expectVerified(s);
  });

  it("refresh notices a namespace and a rule deleted by hand; the next up repairs both", async () => {
    const { box } = lab;
    await box.sh("ip netns del netns1");
    await box.sh("iptables -t nat -S BRIDGELAB-POSTROUTING | grep 'egress:br1' | sed 's/^-A/-D/' | xargs -L1 iptables -t nat");
    expect(await box.sh("iptables-save -t nat")).not.toContain("egress:br1");

    const r = await lab.engine("refresh", renamed);
    const byName = Object.fromEntries(r.resources.map((x) => [`${x.type.split(":").pop()}:${x.name}`, x]));
    expect(byName["NetNamespace:netns1"].op).toBe("gone");
    expect(byName["VethPair:netns1-ceth1"].op).toBe("gone"); // the namespace took the pair with it
    expect(byName["Egress:br0"].changes).toContain("missingRules");
    expect(byName["LabProbe:verification"].changes).toContain("matrix"); // the broken paths, recorded as drift

    const u = await lab.engine("up", renamed);
    expect(changed(u)).toEqual({ "NetNamespace:netns1": "create", "VethPair:netns1-ceth1": "create", "Egress:br0": "update", "LabProbe:verification": "update" });
    expect(await netnsList(box)).toEqual(["netns0", "netns1"]);
    expect(await iface(box, "ceth1", "netns1")).toMatchObject({ cidrs: ["172.18.0.20/16"], mtu: 1400 });
    expect(await box.sh("iptables-save -t nat")).toContain("egress:br1");
    expectVerified(u);
  });

  it("destroy leaves nothing behind", async () => {
    const s = await lab.engine("destroy", renamed);
    expect(new Set(Object.values(ops(s)))).toEqual(new Set(["delete"]));
    await expectNothingLeft(lab, pids);
  });
});
