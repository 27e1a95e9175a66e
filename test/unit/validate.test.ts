import { checkIfname, checkInterfaceCidr, checkMtu, checkNetnsName, normalizeCidr, subnetOf } from "../../provider/host/validate";

describe("checkIfname", () => {
  it.each(["br0", "docker0", "veth-a.1", "a", "abcdefghijklmno"])("accepts %j", (n) => expect(checkIfname("name", n)).toBeUndefined());
  it.each([
    ["", /1–15 bytes/],
    ["abcdefghijklmnop", /is 16 bytes long; a Linux interface name is 1–15 bytes/],
    ["ünïcødé", /may hold only/],
    ["br 0", /may hold only/],
    ["br0;reboot", /may hold only/],
    ["-br0", /must not start with '-'/],
    ["..", /not a valid interface name/],
    ["a/b", /may hold only/],
    [42, /must be a string/],
  ])("rejects %j", (n, msg) => {
    const p = checkIfname("name", n);
    expect(p).toMatch(msg as RegExp);
    expect(p).toMatch(/^name /); // names the field
  });
});

describe("checkNetnsName", () => {
  it("accepts netns0 and rejects a path", () => {
    expect(checkNetnsName("name", "netns0")).toBeUndefined();
    expect(checkNetnsName("name", "../etc")).toMatch(/"..\/etc" may hold only/);
    expect(checkNetnsName("name", "x".repeat(65))).toMatch(/1–64/);
  });
});

describe("checkMtu", () => {
  it.each([68, 1500, 9000, 65535])("accepts %d", (m) => expect(checkMtu("mtu", m)).toBeUndefined());
  it.each([67, 0, -1, 65536, 1500.5, "1500"])("rejects %j", (m) => expect(checkMtu("mtu", m)).toMatch(/mtu .* must be an integer from 68/));
});

describe("checkInterfaceCidr", () => {
  it.each(["172.18.0.1/16", "10.0.0.1/31", "192.168.1.254/24", "fd00::1/64"])("accepts %j", (c) =>
    expect(checkInterfaceCidr("address", c)).toBeUndefined(),
  );
  it.each([
    ["172.18.0.1", /CIDR form/],
    ["172.18.0.300/16", /CIDR form/],
    ["172.18.0.0/16", /network address of its subnet; give a host address such as 172.18.0.1\/16/],
    ["172.18.255.255/16", /broadcast address/],
    ["172.18.0.1/33", /CIDR form/],
    ["172.18.0.1/0", /prefix \/0/],
    ["0x0a.0.0.1/8", /four decimal parts/],
    ["1.2.3.4/24; reboot", /CIDR form/],
  ])("rejects %j", (c, msg) => expect(checkInterfaceCidr("address", c)).toMatch(msg as RegExp));
  it("normalises and finds the subnet", () => {
    expect(normalizeCidr("FD00::0001/64")).toBe("fd00::1/64");
    expect(subnetOf("172.18.0.1/16")).toBe("172.18.0.0/16");
    expect(subnetOf("fd00::1/64")).toBe("fd00::/64");
  });
});
