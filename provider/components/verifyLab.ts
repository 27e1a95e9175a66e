import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { LabProbe } from "../resources/labProbe";
import type { HostConnectionInput } from "../resources/connectionInput";
import { UPLINK } from "../sandbox/sandboxLayout";
import type { Container } from "./container";
import { ExpectedPath, expectedPaths } from "./expectedPaths";
import { topologyOf } from "./lab";
import type { Network } from "./network";
import type { Topology } from "./topology";

/**
 * Verification for a lab made of Networks and Containers, in one call: the paths the lab must
 * and must not have, derived from its topology (expectedPaths.ts: container to container, host
 * to container, egress, published ports from the host, from other containers and from the
 * outside, isolation between networks), and a LabProbe that checks every one on the host once
 * the lab is up. `up` fails naming each broken path.
 *
 *   const verification = verifyLab("verification", { connection, networks: [br0], containers: [netns0, netns1] });
 *   export const verified = verification.summary;      // "14/14 paths as expected"
 *
 * On a sandbox host the outside (its stand-in internet) probes the published ports at the
 * host's uplink address; elsewhere give `publicAddress` (and `probeFromOutside` only where a
 * probe can run outside: a sandbox host).
 */
export interface VerifyLabArgs {
  /** The host the lab is on. */
  connection: pulumi.Input<HostConnectionInput>;
  networks: Network[];
  containers: Container[];
  /**
   * The host's address as the outside sees it: published ports are probed there (from the host,
   * and from the outside where probeFromOutside). May be an Output (a new instance's address).
   * @default 198.51.100.2 on a sandbox host, none elsewhere
   */
  publicAddress?: pulumi.Input<string>;
  /** An address beyond the host that containers with egress must reach. @default 203.0.113.1 (a sandbox host's stand-in internet) */
  egressTarget?: string;
  /** Probe from the sandbox host's outside. @default true on a sandbox host (the only kind that has one) */
  probeFromOutside?: boolean;
  /** Expect a container to reach itself through its own published port (see expectedPaths.ts). @default false */
  selfHairpin?: boolean;
}

export interface LabVerification {
  /** The lab's topology (for `bridgelab graph --outputs`). */
  topology: pulumi.Output<Topology>;
  /** The declared paths, known at preview whenever addresses and ports are. */
  expectedPaths: pulumi.Output<ExpectedPath[]>;
  probe: LabProbe;
  /** The reachability matrix probed on the host. */
  matrix: LabProbe["matrix"];
  /** "14/14 paths as expected". */
  summary: LabProbe["summary"];
}

/** The lab's topology and the paths it must and must not have: verifyLab without the probe. */
export function labPaths(args: VerifyLabArgs): { topology: pulumi.Output<Topology>; expectedPaths: pulumi.Output<ExpectedPath[]> } {
  // Only the kind and where the host is are read here, never a credential: a connection kept
  // secret (a key in it) must not make the topology and the probes secret too.
  const kind = pulumi.unsecret(pulumi.output(args.connection).apply((c) => c.kind));
  const host = pulumi.unsecret(pulumi.all([pulumi.output(args.connection), args.publicAddress]).apply(([c, publicAddress]) => {
    const label = c.kind === "sandbox" ? `sandbox ${c.name}` : c.kind === "ssh" ? `ssh ${c.user ?? "root"}@${c.host}` : c.kind === "ssm" ? `ssm ${c.instanceId}` : "local";
    const address = publicAddress ?? (c.kind === "sandbox" ? UPLINK.hostAddress.split("/")[0] : undefined);
    return { name: label, ...(address ? { address } : {}) };
  }));
  // From declared facts (no pids): known at preview whenever addresses and ports are, so a
  // preview checks the probes too.
  const declared = topologyOf(host, args.networks, args.containers, { declared: true });
  const expected = pulumi.all([declared, kind]).apply(([t, k]) =>
    expectedPaths(t, {
      egressTarget: args.egressTarget ?? UPLINK.internetAddress,
      outside: args.probeFromOutside ?? k === "sandbox",
      selfHairpin: args.selfHairpin ?? false,
    }),
  );
  return { topology: topologyOf(host, args.networks, args.containers), expectedPaths: expected };
}

export function verifyLab(name: string, args: VerifyLabArgs, opts?: pulumi.CustomResourceOptions): LabVerification {
  const { topology, expectedPaths: paths } = labPaths(args);
  const probe = new LabProbe(
    name,
    {
      connection: args.connection,
      probes: paths,
      // Re-verify whenever the lab changed (an MTU, a name, a restarted workload), not only when the probe set did.
      trigger: topology.apply((t) => createHash("sha256").update(JSON.stringify(t)).digest("hex").slice(0, 16)),
    },
    { ...opts, dependsOn: [...args.networks, ...args.containers, ...dependsOnOf(opts)] },
  );
  return { topology, expectedPaths: paths, probe, matrix: probe.matrix, summary: probe.summary };
}

function dependsOnOf(opts: pulumi.CustomResourceOptions | undefined): pulumi.Resource[] {
  const d = opts?.dependsOn;
  if (!d) return [];
  return (Array.isArray(d) ? d : [d]).filter((r): r is pulumi.Resource => pulumi.Resource.isInstance(r));
}
