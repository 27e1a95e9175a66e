import { UNKNOWN, collidesUnlessRenamed, diffFields, failures, isUnknown } from "../../provider/resources/contract";
import { checkMtu } from "../../provider/host/validate";

const sandbox = { kind: "sandbox", name: "lab" };
const base = { connection: sandbox, name: "br0", mtu: 1500, up: true, address: "172.18.0.1/16" };
const fields = { replace: ["name"], update: ["address", "mtu", "up"] };

describe("diffFields", () => {
  it("no change → no changes", () => {
    expect(diffFields({ ...base, ifindex: 7, mac: "aa" }, { ...base }, fields)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });
  it("mtu → in-place update", () => {
    expect(diffFields(base, { ...base, mtu: 1400 }, fields)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
  it("name → replace, deleted before the new one is made", () => {
    expect(diffFields(base, { ...base, name: "br1" }, fields)).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: true });
  });
  it("a new kernel name beside the old one: created first, the old deleted after (a failed create leaves the old one)", () => {
    const renamable = { ...fields, collides: collidesUnlessRenamed(["name"], ["address"]) };
    expect(diffFields(base, { ...base, name: "br1", address: "172.19.0.1/16" }, renamable)).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
    // Renamed but with the same address: two bridges with one subnet cannot stand side by side.
    expect(diffFields(base, { ...base, name: "br1" }, renamable)).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: true });
    const veth = { replace: ["name", "netns"], update: [], collides: collidesUnlessRenamed(["name"]) };
    expect(diffFields({ ...base, netns: "a" }, { ...base, netns: "b" }, veth)).toEqual({ changes: true, replaces: ["netns"], deleteBeforeReplace: true });
    expect(diffFields({ ...base, netns: "a" }, { ...base, name: "v1", netns: "b" }, veth)).toEqual({ changes: true, replaces: ["name", "netns"], deleteBeforeReplace: false });
  });
  it("another connection → replace, deleting first (it may be the same machine under another user or name); new credentials for the same host → update", () => {
    const other = diffFields(base, { ...base, connection: { kind: "sandbox", name: "other" } }, { ...fields, collides: collidesUnlessRenamed(["name"]) });
    expect(other).toEqual({ changes: true, replaces: ["connection"], deleteBeforeReplace: true });
    const ssh = { kind: "ssh", host: "10.0.0.5", user: "root", privateKey: "k1" };
    const d = diffFields({ ...base, connection: ssh }, { ...base, connection: { ...ssh, privateKey: "k2" } }, fields);
    expect(d).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
});

describe("unknowns at preview", () => {
  it("are detected deep inside values and skipped by checks", () => {
    expect(isUnknown({ a: [1, { b: UNKNOWN }] })).toBe(true);
    expect(isUnknown({ a: [1, { b: "x" }] })).toBe(false);
    expect(failures([["mtu", UNKNOWN, checkMtu]])).toEqual([]);
    expect(failures([["mtu", 5, checkMtu]])).toEqual([{ property: "mtu", reason: expect.stringMatching(/^mtu 5 must be/) }]);
  });
});
