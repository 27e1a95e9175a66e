import * as pulumi from "@pulumi/pulumi";
import type { Container } from "./container";
import { ExpectedPath, ExpectedPathOptions, expectedPaths } from "./expectedPaths";
import type { Network } from "./network";
import { Topology, TopologyHost, buildTopology } from "./topology";

/**
 * A lab's topology from its components' facts, as an Output for a stack to export. The
 * pure work is buildTopology's (topology.ts). With `declared`, the workloads' pids are left
 * out, so the topology is known at preview whenever the addresses and ports are (what the
 * expected paths need).
 */
export function topologyOf(host: pulumi.Input<TopologyHost>, networks: Network[], containers: Container[], options: { declared?: boolean } = {}): pulumi.Output<Topology> {
  return pulumi
    .all([pulumi.output(host), pulumi.all(networks.map((n) => n.facts)), pulumi.all(containers.map((c) => (options.declared ? c.declaredFacts : c.facts)))])
    .apply(([h, nets, cs]) => buildTopology({ host: h as TopologyHost, networks: nets, containers: cs }));
}

/** The paths the lab must and must not have, from its topology (expectedPaths.ts). */
export function expectedPathsOf(topology: pulumi.Output<Topology>, options: ExpectedPathOptions = {}): pulumi.Output<ExpectedPath[]> {
  return topology.apply((t) => expectedPaths(t, options));
}
