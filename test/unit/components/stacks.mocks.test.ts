import * as pulumi from "@pulumi/pulumi";

// The lab stacks' programs under Pulumi's mocks: every value comes from config, and a larger
// lab comes from config alone. No host.
const made: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];
pulumi.runtime.setMocks(
  {
    newResource(args) {
      made.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs };
      if (args.type.endsWith(":Process")) state.pid = 100 + made.length;
      if (args.type.endsWith(":PortPublish")) state.hostPort = args.inputs.hostPort || 32768;
      if (args.type.endsWith(":LabProbe")) state.matrix = [];
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  },
  "bridgelab",
  "test",
  false,
);

import { dockerModes } from "../../../stacks/dockerModes";
import { netnsLab } from "../../../stacks/netnsLab";

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
async function settle(): Promise<void> {
  for (let stable = 0, last = -1; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 50));
    stable = made.length === last ? stable + 1 : 0;
    last = made.length;
  }
}
afterAll(settle);

function withConfig(values: Record<string, string>): pulumi.Config {
  for (const [k, v] of Object.entries(values)) pulumi.runtime.setConfig(`bridgelab:${k}`, v);
  return new pulumi.Config("bridgelab");
}

describe("stack programs", () => {
  it("netns-lab: a larger lab, another subnet and other names from config alone", async () => {
    const out = netnsLab(
      withConfig({ sandbox: "s1", containers: "12", subnet: "10.20.0.0/16", bridgeName: "lab0", namePrefix: "c", vethPrefix: "v", peerPrefix: "p", hostPort: "0", verify: "false" }),
    );
    const containers = (await value(out.containers)) as Record<string, { networks: Record<string, { address: string; hostIfname: string; ifname: string }> }>;
    expect(Object.keys(containers)).toHaveLength(12);
    expect(containers.c0.networks.lab0).toMatchObject({ address: "10.20.0.10", hostIfname: "v0", ifname: "p0" });
    expect(containers.c11.networks.lab0.address).toBe("10.20.0.120");
    const networks = (await value(out.networks)) as Record<string, { IPAM: { Config: Array<{ Gateway: string }> } }>;
    expect(networks.lab0.IPAM.Config[0].Gateway).toBe("10.20.0.1");
    expect(out.verification).toBeUndefined(); // verify=false: paths exported, no LabProbe
    const paths = (await value(out.expectedPaths)) as Array<{ name: string }>;
    expect(paths.filter((p) => p.name.endsWith("-on-lab0"))).toHaveLength(12);
    await settle();
    const publish = made.find((m) => m.type.endsWith(":PortPublish"))!;
    expect(publish.inputs).toMatchObject({ hostPort: 0, address: "10.20.0.10", port: 5000, bridge: "lab0" });
    expect(made.filter((m) => m.type.endsWith(":LabProbe"))).toEqual([]);
  });

  it("docker-modes: networks, containers and the LabProbe, all renamable from config", async () => {
    made.length = 0;
    const out = dockerModes(withConfig({ sandbox: "s2", defaultBridge: "dk0", databaseSubnet: "10.99.0.0/24", webName: "front", webHostPort: "9080", verify: "true" }));
    const containers = (await value(out.containers)) as Record<string, { mode: string; published: string[] }>;
    expect(Object.fromEntries(Object.entries(containers).map(([k, c]) => [k, c.mode]))).toEqual({
      front: "bridge",
      backend: "bridge",
      db: "bridge",
      app: "bridge",
      sidecar: "container",
      hostsvc: "host",
      nonet: "none",
    });
    expect(containers.front.published).toEqual(["0.0.0.0:9080->80/tcp"]);
    const networks = (await value(out.networks)) as Record<string, { Options: Record<string, string>; IPAM: { Config: Array<{ Subnet: string }> } }>;
    expect(networks.bridge.Options["com.docker.network.bridge.name"]).toBe("dk0");
    expect(networks.database.IPAM.Config[0].Subnet).toBe("10.99.0.0/24");
    await settle();
    const probe = made.find((m) => m.type.endsWith(":LabProbe"))!;
    const probes = probe.inputs.probes as Array<{ name: string; from: string }>;
    expect(probes.map((p) => p.name)).toEqual(expect.arrayContaining(["http:outside-to-front:80", "ping:app-to-db-on-br-database-isolated", "ping:nonet-to-egress"]));
    expect(probe.inputs.trigger).toMatch(/^[0-9a-f]{16}$/);
  });
});
