import * as fs from "node:fs";
import * as path from "node:path";
import { globalCidrs, isAdminUp, parseIpAddrJson, parseIpLinkJson } from "../../provider/host/ipJson";
import { splitSections } from "../../provider/host/sections";

// Fixtures were captured from iproute2 6.1 in a throwaway namespace (see test/fixtures/ip).
const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "ip", f), "utf8");

describe("parseIpLinkJson", () => {
  it("reads a bridge from ip -j -d link show", () => {
    const [br] = parseIpLinkJson(fixture("link-bridge.json"));
    expect(br).toMatchObject({ ifname: "br0", mtu: 1400, kind: "bridge", stpState: 0, ifalias: "bridgelab:v1:bridge" });
    expect(br.address).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(isAdminUp(br)).toBe(true);
  });
  it("reads every link, with veth kinds and no alias where none is set", () => {
    const links = parseIpLinkJson(fixture("link-all.json"));
    expect(links.map((l) => l.ifname).sort()).toEqual(["br0", "ceth0", "lo", "veth0"]);
    const veth = links.find((l) => l.ifname === "veth0")!;
    expect(veth.kind).toBe("veth");
    expect(veth.ifalias).toBeUndefined();
    expect(isAdminUp(veth)).toBe(false);
  });
  it("treats empty output as no links and rejects garbage with a clear message", () => {
    expect(parseIpLinkJson("")).toEqual([]);
    expect(() => parseIpLinkJson("Device \"x\" does not exist.")).toThrow(/cannot parse ip -j link JSON/);
    expect(() => parseIpLinkJson("{}")).toThrow(/not an array/);
  });
});

describe("parseIpAddrJson", () => {
  it("reads the bridge address", () => {
    const [br] = parseIpAddrJson(fixture("addr-bridge.json"));
    expect(globalCidrs(br)).toEqual(["172.18.0.1/16"]);
  });
  it("skips host and link scope addresses", () => {
    const lo = parseIpAddrJson(fixture("addr-all.json")).find((l) => l.ifname === "lo")!;
    expect(lo.addrs.some((a) => a.local === "127.0.0.1")).toBe(true);
    expect(globalCidrs(lo)).toEqual([]);
  });
});

describe("splitSections", () => {
  it("splits marked output and drops the preamble", () => {
    const out = "noise\n@@bridgelab link\n[1]\n@@bridgelab addr\n[2]\n[3]\n@@bridgelab gone\n";
    expect(splitSections(out)).toEqual({ link: "[1]", addr: "[2]\n[3]", gone: "" });
  });
});
