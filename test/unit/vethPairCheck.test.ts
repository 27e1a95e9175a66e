import { UNKNOWN } from "../../provider/resources/contract";
import { processProvider } from "../../provider/resources/process";
import { defaultPeerName, vethPairProvider } from "../../provider/resources/vethPair";
import { claimHostSubnet, releaseHostSubnet } from "../../provider/resources/vethRoutes";

// check is pure (no host): these run without root. Each test uses its own sandbox name so
// the process-wide route-clash table does not carry claims from one test into another.
let n = 0;
const conn = () => ({ kind: "sandbox", name: `unit-${n++}` });
const check = (news: Record<string, unknown>) => vethPairProvider.check!({}, news);

describe("VethPair check", () => {
  it("resolves the defaults: peer names, MTU, up, and the MAC derived from the IPv4 address", async () => {
    const connection = conn();
    const r = await check({ connection, name: "veth0", netns: "netns0", address: "172.18.0.10/16", gateway: "172.18.0.1", bridge: "br0" });
    expect(r.failures).toEqual([]);
    expect(r.inputs).toEqual({ connection, name: "veth0", peerName: "ceth0", netns: "netns0", peerIfname: "ceth0", bridge: "br0", address: "172.18.0.10/16", gateway: "172.18.0.1", mtu: 1500, mac: "02:42:ac:12:00:0a", up: true });
  });

  it("keeps a given MAC (lower-cased) and names the peer inside the namespace", async () => {
    const r = await check({ connection: conn(), name: "veth0", netns: "netns0", peerIfname: "eth0", address: "172.18.0.10/16", mac: "02:AA:BB:CC:DD:EE" });
    expect(r.failures).toEqual([]);
    expect(r.inputs).toMatchObject({ peerName: "ceth0", peerIfname: "eth0", mac: "02:aa:bb:cc:dd:ee" });
  });

  it("derives no MAC without an IPv4 address", async () => {
    const r = await check({ connection: conn(), name: "veth0", netns: "netns0", address: "fd00::10/64" });
    expect(r.inputs.mac).toBeUndefined();
  });

  it.each([
    ["veth0", "ceth0"],
    ["veth-web-frontend", "ceth-web-fronte"],
    ["port1", "cport1"],
    ["abcdefghijklmno", "cabcdefghijklmn"],
  ])("peer name for %s is %s", (name, peer) => expect(defaultPeerName(name)).toBe(peer));

  it("names the field, the value and the rule for every bad input", async () => {
    const r = await check({ connection: conn(), name: "veth-far-too-long0", netns: "../x", address: "172.18.0.0/16", mtu: 10, mac: "01:00:5e:00:00:01", up: "yes" });
    expect(r.failures).toEqual(
      expect.arrayContaining([
        { property: "name", reason: expect.stringMatching(/^name "veth-far-too-long0" is 18 bytes long; a Linux interface name is 1–15 bytes/) },
        { property: "mtu", reason: expect.stringMatching(/^mtu 10 must be an integer from 68/) },
        { property: "up", reason: 'up must be true or false, got "yes"' },
        { property: "netns", reason: expect.stringMatching(/^netns "..\/x" may hold only/) },
        { property: "address", reason: expect.stringMatching(/^address "172.18.0.0\/16" is the network address of its subnet/) },
        { property: "mac", reason: expect.stringMatching(/^mac "01:00:5e:00:00:01" is a multicast address/) },
      ]),
    );
  });

  it("refuses a gateway outside the subnet, naming both fields", async () => {
    const r = await check({ connection: conn(), name: "veth0", netns: "netns0", address: "172.18.0.10/16", gateway: "172.19.0.1" });
    expect(r.failures).toEqual([
      { property: "gateway", reason: `gateway "172.19.0.1" is outside address "172.18.0.10/16"'s subnet; a gateway must lie inside the subnet of address` },
    ]);
  });

  it.each([
    [{ gateway: "172.18.0.1" }, "gateway", /gateway "172.18.0.1" needs address/],
    [{ address: "172.18.0.10/16", gateway: "172.18.0.1", netns: undefined }, "gateway", /sets the default route of netns, but netns is not set/],
    [{ address: "172.18.0.10/16", gateway: "172.18.0.1", up: false }, "gateway", /gateway "172.18.0.1" needs up: the kernel drops the routes of a link that is down/],
    [{ bridge: "br0", hostAddress: "172.18.0.11/16" }, "hostAddress", /hostAddress "172.18.0.11\/16" cannot be combined with bridge "br0"/],
    [{ netns: undefined, peerIfname: "eth0" }, "peerIfname", /peerIfname "eth0" names the peer inside netns, but netns is not set/],
    [{ netns: undefined, peerName: "veth0" }, "peerName", /peerName "veth0" equals name/],
  ])("cross-field rule %j", async (extra, property, reason) => {
    const r = await check({ connection: conn(), name: "veth0", netns: "netns0", ...extra });
    expect(r.failures).toEqual([{ property, reason: expect.stringMatching(reason) }]);
  });

  it("skips unknown values at preview", async () => {
    const r = await check({ connection: conn(), name: "veth0", netns: UNKNOWN, address: UNKNOWN, gateway: "172.18.0.1" });
    expect(r.failures).toEqual([]);
  });
});

describe("VethPair route clash at check (the seed's two host-side veths in one subnet)", () => {
  it("refuses the second veth with an overlapping host address, explaining why and what to do", async () => {
    const connection = conn();
    expect((await check({ connection, name: "veth0", netns: "netns0", hostAddress: "172.18.0.11/16", address: "172.18.0.10/16" })).failures).toEqual([]);
    const r = await check({ connection, name: "veth1", netns: "netns1", hostAddress: "172.18.0.21/16", address: "172.18.0.20/16" });
    expect(r.failures).toHaveLength(1);
    expect(r.failures![0].property).toBe("hostAddress");
    expect(r.failures![0].reason).toMatch(/^hostAddress "172.18.0.21\/16" of veth "veth1" is in a subnet that overlaps hostAddress "172.18.0.11\/16" of veth "veth0" on the same host: /);
    expect(r.failures![0].reason).toMatch(/the kernel installs one connected route per host-side address .* so traffic for 172.18.0.0\/16 leaves through a single veth/);
    expect(r.failures![0].reason).toMatch(/Attach both veths to a Bridge that owns the subnet/);
  });

  it("does not flag a resource against itself when check runs again, and keeps flagging the second", async () => {
    const connection = conn();
    const first = { connection, name: "veth0", netns: "netns0", hostAddress: "172.18.0.11/16" };
    const second = { connection, name: "veth1", netns: "netns1", hostAddress: "172.18.5.1/24" };
    expect((await check(first)).failures).toEqual([]);
    expect((await check(second)).failures).toHaveLength(1);
    expect((await check(first)).failures).toEqual([]);
    expect((await check(second)).failures).toHaveLength(1);
  });

  it("allows other subnets, other hosts, and veths attached to a bridge", async () => {
    const connection = conn();
    expect((await check({ connection, name: "veth0", netns: "netns0", hostAddress: "172.18.0.11/24" })).failures).toEqual([]);
    expect((await check({ connection, name: "veth1", netns: "netns1", hostAddress: "172.18.1.11/24" })).failures).toEqual([]);
    expect((await check({ connection: conn(), name: "veth2", netns: "netns2", hostAddress: "172.18.0.21/24" })).failures).toEqual([]);
    expect((await check({ connection, name: "veth3", netns: "netns3", bridge: "br0", address: "172.18.0.30/24" })).failures).toEqual([]);
  });

  it("forgets a veth whose host address was removed, or that was deleted", () => {
    expect(claimHostSubnet("h", "veth0", "10.1.0.1/16")).toBeUndefined();
    expect(claimHostSubnet("h", "veth1", "10.1.0.2/16")).toEqual({ name: "veth0", hostAddress: "10.1.0.1/16" });
    expect(claimHostSubnet("h", "veth0", undefined)).toBeUndefined();
    expect(claimHostSubnet("h", "veth1", "10.1.0.2/16")).toBeUndefined();
    releaseHostSubnet("h", "veth1");
    expect(claimHostSubnet("h", "veth0", "10.1.0.1/16")).toBeUndefined();
  });
});

describe("VethPair diff", () => {
  const outs = { connection: { kind: "sandbox", name: "lab" }, name: "veth0", peerName: "ceth0", netns: "netns0", peerIfname: "ceth0", mtu: 1500, up: true, hostIfindex: 3, peerIfindex: 2, hostMac: "x", peerMac: "y" };
  const news = { connection: outs.connection, name: "veth0", peerName: "ceth0", netns: "netns0", peerIfname: "ceth0", mtu: 1500, up: true };
  it("mtu, addresses, bridge, mac, up change in place; names and netns replace (old one deleted first)", async () => {
    expect(await vethPairProvider.diff!("veth0", outs, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect(await vethPairProvider.diff!("veth0", outs, { ...news, mtu: 1400, bridge: "br0", mac: "02:42:ac:12:00:0a" })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await vethPairProvider.diff!("veth0", outs, { ...news, netns: "netns1" })).toEqual({ changes: true, replaces: ["netns"], deleteBeforeReplace: true });
    expect(await vethPairProvider.diff!("veth0", outs, { ...news, peerIfname: "eth0" })).toEqual({ changes: true, replaces: ["peerIfname"], deleteBeforeReplace: true });
  });
  it("a peer that read found nowhere forces a replacement", async () => {
    expect(await vethPairProvider.diff!("veth0", { ...outs, peerIfindex: 0 }, news)).toEqual({ changes: true, replaces: ["peerIfname"], deleteBeforeReplace: true });
  });
});

describe("Process check", () => {
  const pcheck = (news: Record<string, unknown>) => processProvider.check!({}, { connection: conn(), name: "web", command: ["sleep", "60"], ...news });
  it("accepts a command, env and workdir", async () => {
    const r = await pcheck({ netns: "netns0", env: { LANG: "C", _X1: "it's" }, workdir: "/srv" });
    expect(r.failures).toEqual([]);
    expect(r.inputs).toMatchObject({ name: "web", netns: "netns0", command: ["sleep", "60"], env: { LANG: "C", _X1: "it's" }, workdir: "/srv" });
  });
  it.each([
    [{ command: [] }, "command", /^command \[\] must be a non-empty array of strings/],
    [{ command: "sleep 60" }, "command", /^command "sleep 60" must be a non-empty array/],
    [{ command: ["A=B", "x"] }, "command", /^command\[0\] "A=B" must name a program/],
    [{ command: ["sleep", "a\0b"] }, "command", /NUL byte/],
    [{ env: { "BAD-KEY": "x" } }, "env", /^env key "BAD-KEY" is not a variable name/],
    [{ env: { N: 1 } }, "env", /^env.N must be a string, got 1/],
    [{ workdir: "srv" }, "workdir", /^workdir "srv" must be an absolute path/],
    [{ name: "../../etc/passwd" }, "name", /^name "..\/..\/etc\/passwd" may hold only/],
    [{ netns: "a b" }, "netns", /^netns "a b" may hold only/],
  ])("rejects %j", async (news, property, reason) => {
    expect((await pcheck(news)).failures).toEqual([{ property, reason: expect.stringMatching(reason) }]);
  });
  it("replaces on any change of what runs or where", async () => {
    const olds = { connection: { kind: "sandbox", name: "lab" }, name: "web", command: ["sleep", "60"], pid: 5, startTime: 9, logPath: "l", pidPath: "p" };
    expect(await processProvider.diff!("web", olds, { ...olds, command: ["sleep", "61"] })).toMatchObject({ replaces: ["command"], deleteBeforeReplace: true });
    expect(await processProvider.diff!("web", olds, { ...olds, env: { A: "b" } })).toMatchObject({ replaces: ["env"] });
    expect(await processProvider.diff!("web", olds, { ...olds, netns: "netns0" })).toMatchObject({ replaces: ["netns"] });
    expect(await processProvider.diff!("web", olds, { connection: olds.connection, name: "web", command: ["sleep", "60"] })).toMatchObject({ changes: false });
  });
});
