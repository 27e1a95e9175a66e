import "./fakeAws";
import * as pulumi from "@pulumi/pulumi";

const made: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];
pulumi.runtime.setMocks(
  {
    newResource(args) {
      made.push({ type: args.type, name: args.name, inputs: args.inputs });
      return { id: `${args.name}-id`, state: { ...args.inputs, consistent: true, summary: "1 host" } };
    },
    call: (args) => args.inputs,
  },
  "bridgelab",
  "test",
  false,
);

// Imported after setMocks, as Pulumi's docs ask.
import { EcsHostCheck } from "../../provider";

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("EcsHostCheck in a program (pulumi mocks)", () => {
  it("registers bridgelab:EcsHostCheck with the instance ids as inputs, and a provider that captures no credential", async () => {
    const ids = pulumi.output(["i-0123456789abcdef0"]);
    const check = new EcsHostCheck("web-hosts", { instanceIds: ids, region: "us-east-1", family: "web-bridge" });
    expect(await value(check.summary)).toBe("1 host");
    const r = made.find((m) => m.name === "web-hosts")!;
    expect(r.type).toBe("pulumi-nodejs:dynamic/bridgelab:EcsHostCheck");
    expect(r.inputs).toMatchObject({ instanceIds: ["i-0123456789abcdef0"], region: "us-east-1", family: "web-bridge" });
    const serialized = String(r.inputs.__provider);
    expect(serialized).toContain("ecsHostCheckProvider");
    expect(serialized).not.toContain(process.env.AWS_SECRET_ACCESS_KEY!);
    expect(serialized.length).toBeLessThan(20_000); // the lazy shim, not the transport
  }, 60_000);
});
