import { compareRootSnapshots, takeRootSnapshot } from "../guard/rootSnapshot";

// The guard itself must be able to fail: a changed field is reported by name.
describe("root namespace guard", () => {
  it("reports no difference between two snapshots of an untouched machine", () => {
    expect(compareRootSnapshots(takeRootSnapshot(), takeRootSnapshot())).toEqual([]);
  });
  it("names the field that changed", () => {
    const a = takeRootSnapshot();
    const b = { ...a, ipForward: a.ipForward === "1" ? "0" : "1", netns: a.netns + "leak\n" };
    const diffs = compareRootSnapshots(a, b);
    expect(diffs).toHaveLength(2);
    expect(diffs[0]).toMatch(/^ipForward changed/);
    expect(diffs[1]).toMatch(/^netns changed[\s\S]*leak/);
  });
  it("sees the machine's real interfaces", () => {
    expect(takeRootSnapshot().links).toContain('"ifname": "lo"');
  });
});
