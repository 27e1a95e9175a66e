import { checkMac, macFromIPv4, normalizeMac } from "../../provider/host/mac";
import { checkIpAddress, cidrsOverlap, gatewayProblem, normalizeAddress } from "../../provider/host/subnets";
import { parseIpRouteJson, parseVethLinkJson } from "../../provider/host/vethJson";

describe("macFromIPv4 (Docker's historical container MAC)", () => {
  it.each([
    ["172.17.0.2", "02:42:ac:11:00:02"],
    ["172.18.0.10/16", "02:42:ac:12:00:0a"],
    ["10.0.255.1", "02:42:0a:00:ff:01"],
  ])("%s → %s", (ip, mac) => expect(macFromIPv4(ip)).toBe(mac));
});

describe("checkMac", () => {
  it.each(["02:42:ac:11:00:02", "02:42:AC:11:00:02", "aa:bb:cc:dd:ee:fe"])("accepts %j", (m) => expect(checkMac("mac", m)).toBeUndefined());
  it.each([
    ["01:00:5e:00:00:01", /mac "01:00:5e:00:00:01" is a multicast address/],
    ["ff:ff:ff:ff:ff:ff", /multicast/],
    ["00:00:00:00:00:00", /all zeros/],
    ["02-42-ac-11-00-02", /is not a MAC address; write six hex bytes separated by ':'/],
    ["02:42:ac:11:00", /is not a MAC address/],
    ["02:42:ac:11:00:0g", /is not a MAC address/],
    [42, /is not a MAC address/],
  ])("rejects %j", (m, msg) => expect(checkMac("mac", m)).toMatch(msg as RegExp));
  it("normalises to the kernel's lower case", () => expect(normalizeMac("02:42:AC:11:00:02")).toBe("02:42:ac:11:00:02"));
});

describe("cidrsOverlap", () => {
  it.each([
    ["172.18.0.11/16", "172.18.0.21/16", true], // the seed's clash: one subnet, two veths
    ["172.18.0.1/16", "172.18.5.1/24", true], // one inside the other
    ["172.18.5.1/24", "172.18.0.1/16", true],
    ["172.18.0.1/24", "172.18.1.1/24", false],
    ["10.0.0.1/31", "10.0.0.2/31", false],
    ["10.0.0.1/8", "10.255.0.1/16", true],
    ["172.18.0.1/16", "fd00::1/64", false], // families never overlap
    ["fd00::1/64", "fd00::2/64", true],
    ["fd00::1/64", "fd00:0:0:1::1/64", false],
  ])("%s and %s → %s", (a, b, want) => expect(cidrsOverlap(a, b)).toBe(want));
});

describe("gateways", () => {
  it("accepts a neighbour inside the subnet", () => {
    expect(gatewayProblem("gateway", "172.18.0.1", "address", "172.18.0.10/16")).toBeUndefined();
    expect(gatewayProblem("gateway", "fd00::1", "address", "fd00::10/64")).toBeUndefined();
  });
  it.each([
    ["10.0.0.1", "172.18.0.10/16", /gateway "10.0.0.1" is outside address "172.18.0.10\/16"'s subnet; a gateway must lie inside the subnet of address/],
    ["172.18.0.10", "172.18.0.10/16", /is address's own address/],
    ["172.18.0.0", "172.18.0.10/16", /network address/],
    ["172.18.255.255", "172.18.0.10/16", /broadcast address/],
    ["fd00::1", "172.18.0.10/16", /is an ipv6 address but address "172.18.0.10\/16" is ipv4/],
  ])("refuses %s for %s", (gw, cidr, msg) => expect(gatewayProblem("gateway", gw, "address", cidr)).toMatch(msg));
  it("checks a plain address", () => {
    expect(checkIpAddress("gateway", "172.18.0.1")).toBeUndefined();
    expect(checkIpAddress("gateway", "172.18.0.1/16")).toMatch(/is not an IP address like "172.18.0.1"/);
    expect(checkIpAddress("gateway", "0xac.18.0.1")).toMatch(/four decimal parts/);
    expect(normalizeAddress("FD00::0001")).toBe("fd00::1");
  });
});

describe("veth and route JSON", () => {
  it("keeps the peer's ifindex and namespace id", () => {
    const text = JSON.stringify([{ ifindex: 3, link_index: 2, ifname: "veth0", flags: ["UP"], mtu: 1500, address: "7e:cd:77:e1:6d:36", link_netnsid: 1, ifalias: "bridgelab:v1:veth", linkinfo: { info_kind: "veth" } }]);
    expect(parseVethLinkJson(text)).toEqual([
      { ifindex: 3, ifname: "veth0", flags: ["UP"], mtu: 1500, operstate: "UNKNOWN", address: "7e:cd:77:e1:6d:36", ifalias: "bridgelab:v1:veth", kind: "veth", linkIndex: 2, linkNetnsid: 1 },
    ]);
    expect(parseVethLinkJson('[{"ifindex":5,"link":"cx","ifname":"vx","flags":[],"mtu":1500}]')[0]).toMatchObject({ ifname: "vx", link: "cx" });
    expect(parseVethLinkJson("")).toEqual([]);
  });
  it("reads default routes", () => {
    expect(parseIpRouteJson('[{"dst":"default","gateway":"172.18.0.1","dev":"eth0","flags":[]}]')).toEqual([{ dst: "default", gateway: "172.18.0.1", dev: "eth0" }]);
    expect(() => parseIpRouteJson("oops")).toThrow(/cannot parse ip -j route JSON: oops/);
  });
});
