import * as pulumi from "@pulumi/pulumi";
import { Container, Network, labPaths, verifyLab } from "../provider";
import type { HostConnectionInput } from "../provider";
import type { Topology } from "../provider/components/topology";

/**
 * What every lab stack adds after its networks and containers: the library's verifyLab (the
 * topology, the paths it must and must not have, a LabProbe checking them once everything is
 * up) with its options from stack config, all optional:
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

export function verificationFromConfig(
  config: pulumi.Config,
  connection: pulumi.Input<HostConnectionInput>,
  networks: Network[],
  containers: Container[],
  publicAddress?: pulumi.Input<string>,
): Verification {
  const options = {
    publicAddress: publicAddress ?? config.get("publicAddress"),
    egressTarget: config.get("egressTarget"),
    probeFromOutside: config.getBoolean("probeFromOutside"),
  };
  if (config.getBoolean("verify") ?? true) {
    const v = verifyLab("verification", { connection, networks, containers, ...options });
    return { topology: v.topology, expectedPaths: v.expectedPaths, verification: v.matrix, verificationSummary: v.summary };
  }
  return labPaths({ connection, networks, containers, ...options });
}
