import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { Container, LabProbe, Network, expectedPathsOf, topologyOf } from "../provider";
import type { HostConnection } from "../provider";
import type { Topology } from "../provider/components/topology";

/**
 * What every lab stack adds after its networks and containers: the topology, the paths it
 * must and must not have, and a LabProbe that checks them on the host once everything is up
 * (`up` fails naming each broken path). Config, all optional:
 *
 *   bridgelab:publicAddress     the host's address as the outside sees it (published ports
 *                               are probed there); default 198.51.100.2 on a sandbox host
 *   bridgelab:egressTarget      an address beyond the host; default 203.0.113.1 (the
 *                               sandbox's stand-in internet)
 *   bridgelab:probeFromOutside  probe from the sandbox's outside; default true on a sandbox
 *   bridgelab:verify            false: no LabProbe (the expected paths are still exported)
 */
export interface Verification {
  topology: pulumi.Output<Topology>;
  expectedPaths: pulumi.Output<unknown>;
  /** The reachability matrix, when verify is on. */
  verification?: pulumi.Output<unknown>;
  verificationSummary?: pulumi.Output<string>;
}

export function verifyLab(
  config: pulumi.Config,
  connection: pulumi.Input<HostConnection>,
  networks: Network[],
  containers: Container[],
): Verification {
  const onSandbox = config.getSecretObject("connection") === undefined;
  const publicAddress = config.get("publicAddress") ?? (onSandbox ? "198.51.100.2" : undefined);
  const host = pulumi.output(connection).apply((c) => ({
    name: c.kind === "sandbox" ? `sandbox ${c.name}` : c.kind === "ssh" ? `ssh ${c.user ?? "root"}@${c.host}` : c.kind,
    ...(publicAddress ? { address: publicAddress } : {}),
  }));
  const topology = topologyOf(host, networks, containers);
  // From declared facts: known at preview whenever addresses and ports are, so that a
  // preview can check the probes (a whole unknown list is all a preview could show otherwise).
  const paths = expectedPathsOf(topologyOf(host, networks, containers, { declared: true }), {
    egressTarget: config.get("egressTarget") ?? "203.0.113.1",
    outside: config.getBoolean("probeFromOutside") ?? onSandbox,
  });
  const out: Verification = { topology, expectedPaths: paths };
  if (config.getBoolean("verify") ?? true) {
    const probe = new LabProbe(
      "verification",
      {
        connection,
        probes: paths,
        // Re-verify whenever the lab changed (an MTU, a name, a restarted workload), not only when the probe set did.
        trigger: topology.apply((t) => createHash("sha256").update(JSON.stringify(t)).digest("hex").slice(0, 16)),
      },
      { dependsOn: [...networks, ...containers] },
    );
    out.verification = probe.matrix;
    out.verificationSummary = probe.summary;
  }
  return out;
}
