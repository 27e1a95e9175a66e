import { TOPOLOGY_VERSION, Topology } from "../components/topology";
import { UPLINK } from "../sandbox/sandboxLayout";
import type { RenderOptions } from "./renderSvg";

/**
 * Where `bridgelab graph` finds a topology in a JSON document, pure: the topology itself, a
 * stack's outputs (`pulumi stack output --json`: { topology: … }), the bundled engine's state
 * file ({ outputs: { topology: … } }), `pulumi stack export`, or a file backend's checkpoint.
 */
export function topologyFromJson(doc: unknown, source: string): Topology {
  const o = (v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  // Pulumi's own formats: `pulumi stack export` ({ deployment }) and a file backend's checkpoint
  // ({ checkpoint: { latest } }), where the outputs sit on the root pulumi:pulumi:Stack resource.
  const deployment = o(o(o(doc)?.checkpoint)?.latest) ?? o(o(doc)?.deployment);
  const resources = Array.isArray(deployment?.resources) ? (deployment!.resources as unknown[]) : [];
  const root = resources.map(o).find((r) => r?.type === "pulumi:pulumi:Stack");
  const candidates = [doc, o(doc)?.topology, o(o(doc)?.outputs)?.topology, o(root?.outputs)?.topology];
  const found = candidates.find((c) => o(c) && "bridges" in o(c)! && "namespaces" in o(c)!);
  if (!found) {
    throw new Error(
      `${source} holds no topology: give a stack's outputs (\`pulumi stack output --json\`, \`pulumi stack export\`) or the bundled engine's state file ` +
        `of a lab that exports \`topology\` (netns-lab, docker-modes), or draw the host as it is with --live`,
    );
  }
  const t = found as Topology;
  if (t.version !== TOPOLOGY_VERSION) throw new Error(`${source}: topology version ${JSON.stringify(t.version)} is not one this bridgelab draws (${TOPOLOGY_VERSION})`);
  for (const k of ["bridges", "namespaces", "veths", "containers", "ports"] as const) {
    if (!Array.isArray(t[k])) throw new Error(`${source}: topology.${k} must be a list`);
  }
  if (!t.host || typeof t.host.name !== "string") throw new Error(`${source}: topology.host.name must be a string`);
  return t;
}

/** The box on top: a sandbox host's outside with its addresses, or just "outside". */
export function outsideFor(t: Topology): RenderOptions["outside"] {
  if (t.host.name.startsWith("sandbox ")) return { label: "outside (stand-in internet)", addresses: [UPLINK.gateway, UPLINK.internetAddress] };
  return { label: "outside", addresses: [] };
}
