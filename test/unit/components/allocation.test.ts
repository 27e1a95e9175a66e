import { AllocationError, allocateAddresses, planAddresses, slotAddress, slotCount } from "../../../provider/components/allocation";

const seed = planAddresses({ subnet: "172.18.0.0/16", first: 10, step: 10 });
const docker = planAddresses({ subnet: "172.17.0.0/16" });

function fails(fn: () => unknown): AllocationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AllocationError) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("planAddresses", () => {
  it("defaults: gateway is the first host, slots start at .2 one apart (Docker)", () => {
    expect(docker).toEqual({ subnet: "172.17.0.0/16", prefixLength: 16, gateway: "172.17.0.1", first: 2, step: 1 });
    expect(slotAddress(docker, 0)).toBe("172.17.0.2");
    expect(slotAddress(docker, 300)).toBe("172.17.1.46");
    expect(slotCount(docker)).toBe(65533);
  });
  it("seed 004: .10, .20, …", () => {
    expect([0, 1, 2, 25].map((i) => slotAddress(seed, i))).toEqual(["172.18.0.10", "172.18.0.20", "172.18.0.30", "172.18.1.4"]);
    expect(slotCount(planAddresses({ subnet: "10.0.0.0/24", first: 10, step: 10 }))).toBe(25); // .10 … .250
    expect(slotAddress(planAddresses({ subnet: "10.0.0.0/24", first: 10, step: 10 }), 25)).toBeUndefined();
  });
  it("refuses bad subnets, gateways and rules, naming the field", () => {
    expect(fails(() => planAddresses({ subnet: "172.18.0.1/16" }))).toMatchObject({ field: "subnet", message: expect.stringContaining('did you mean "172.18.0.0/16"') });
    expect(fails(() => planAddresses({ subnet: "10.0.0.0/31" }))).toMatchObject({ field: "subnet" });
    expect(fails(() => planAddresses({ subnet: "172.18.0.0/16", gateway: "172.19.0.1" }))).toMatchObject({ field: "gateway", message: expect.stringContaining("outside") });
    expect(fails(() => planAddresses({ subnet: "172.18.0.0/16", gateway: "172.18.255.255" }))).toMatchObject({ field: "gateway" });
    expect(fails(() => planAddresses({ subnet: "172.18.0.0/16", step: 0 }))).toMatchObject({ field: "allocation.step" });
    expect(fails(() => planAddresses({ subnet: "10.0.0.0/24", first: 300 }))).toMatchObject({ field: "allocation.first" });
  });
});

describe("allocateAddresses", () => {
  it("by natural name order, whatever the request order", () => {
    const names = ["netns10", "netns2", "netns0", "netns1"];
    const a = allocateAddresses(seed, names.map((member) => ({ member })));
    expect(a.map((x) => [x.member, x.cidr])).toEqual([
      ["netns0", "172.18.0.10/16"],
      ["netns1", "172.18.0.20/16"],
      ["netns2", "172.18.0.30/16"],
      ["netns10", "172.18.0.40/16"],
    ]);
    expect(allocateAddresses(seed, [...names].reverse().map((member) => ({ member })))).toEqual(a);
  });

  it("explicit addresses and indexes first; the rest fill the free slots, skipping the gateway", () => {
    const plan = planAddresses({ subnet: "172.17.0.0/16", gateway: "172.17.0.3" });
    const a = allocateAddresses(plan, [{ member: "web", index: 0 }, { member: "app" }, { member: "backend" }, { member: "db", address: "172.17.0.5" }, { member: "zz" }]);
    expect(Object.fromEntries(a.map((x) => [x.member, x.address]))).toEqual({
      app: "172.17.0.4", // slot 1 is the gateway .3
      backend: "172.17.0.6", // .5 is db's
      db: "172.17.0.5",
      web: "172.17.0.2",
      zz: "172.17.0.7",
    });
    expect(a.find((x) => x.member === "web")!.slot).toBe(0);
    expect(a.find((x) => x.member === "db")!.slot).toBeUndefined();
  });

  it("an address may carry the subnet's prefix", () => {
    expect(allocateAddresses(docker, [{ member: "a", address: "172.17.0.9/16" }])[0].cidr).toBe("172.17.0.9/16");
  });

  it("refuses duplicates, outsiders, the gateway and a full subnet, naming member and field", () => {
    const label = (m: string) => `container "${m}"`;
    expect(fails(() => allocateAddresses(docker, [{ member: "a", index: 3 }, { member: "b", index: 3, label: label("b") }]))).toMatchObject({
      field: "index",
      message: expect.stringMatching(/container "b": index 3 gives 172\.17\.0\.5, which member "a" \(by index\) already has/),
    });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", address: "172.17.0.9" }, { member: "b", index: 7 }]))).toMatchObject({ field: "index" });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", address: "172.18.0.9", label: label("a") }]))).toMatchObject({
      field: "address",
      message: 'container "a": address "172.18.0.9" is outside subnet "172.17.0.0/16"',
    });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", address: "172.17.0.1" }]))).toMatchObject({ field: "address", message: expect.stringContaining("the gateway") });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", address: "172.17.255.255" }]))).toMatchObject({ field: "address", message: expect.stringContaining("broadcast") });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", address: "172.17.0.9/24" }]))).toMatchObject({ field: "address" });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", address: "172.17.0.9", index: 1 }]))).toMatchObject({ field: "address", message: expect.stringContaining("not both") });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", index: -1 }]))).toMatchObject({ field: "index" });
    expect(fails(() => allocateAddresses(docker, [{ member: "a", index: 70000 }]))).toMatchObject({ field: "index", message: expect.stringContaining("slots 0–65532") });
    expect(fails(() => allocateAddresses(docker, [{ member: "a" }, { member: "a" }]))).toMatchObject({ field: "name" });
    const tiny = planAddresses({ subnet: "10.9.0.0/29" }); // hosts .1–.6, gateway .1: slots .2–.6
    expect(allocateAddresses(tiny, ["a", "b", "c", "d", "e"].map((member) => ({ member }))).map((x) => x.address)).toEqual(["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]);
    expect(fails(() => allocateAddresses(tiny, ["a", "b", "c", "d", "e", "f"].map((member) => ({ member }))))).toMatchObject({ field: "index", message: expect.stringContaining("is full") });
  });
});
