import type { EcsPortMapping, EcsProtocol } from "./types";

/**
 * Host port rules of bridge network mode on an ECS container instance. Pure.
 *
 * - Reserved ports: ECS keeps 22 (SSH), 2375 and 2376 (the Docker daemon) and 51678–51680
 *   (the ECS agent and its introspection/credentials endpoints) for the instance itself
 *   (the agent's ECS_RESERVED_PORTS); no task may take them.
 * - The ephemeral range: a dynamic mapping (`hostPort: 0`) gets a port from it, and the
 *   kernel hands the same range out to outgoing connections. A static port there collides
 *   sooner or later; ECS says not to use it. ECS's default range is 32768–65535 (the ALB
 *   security group rule for dynamic ports opens exactly that); an instance with another
 *   ip_local_port_range can say so with `ephemeralPortRange`.
 * - One static host port per protocol per instance: Docker refuses a second bind with
 *   `Bind for 0.0.0.0:8080 failed: port is already allocated`.
 */
export const ECS_RESERVED_PORTS: readonly number[] = [22, 2375, 2376, 51678, 51679, 51680];
export const ECS_EPHEMERAL_PORT_RANGE: readonly [number, number] = [32768, 65535];

/** A port mapping with every field written out, as the container definition carries it. */
export interface NormalizedPortMapping {
  containerPort: number;
  /** 0: dynamic. */
  hostPort: number;
  protocol: EcsProtocol;
}

export interface PortRules {
  reservedPorts: readonly number[];
  ephemeralPortRange: readonly [number, number];
}

export const DEFAULT_PORT_RULES: PortRules = { reservedPorts: ECS_RESERVED_PORTS, ephemeralPortRange: ECS_EPHEMERAL_PORT_RANGE };

const show = (v: unknown) => JSON.stringify(v);
const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

/** "51678–51680" for a run of consecutive ports, "22" for one. */
export function formatPorts(ports: readonly number[]): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    runs.push(j - i >= 2 ? `${sorted[i]}–${sorted[j]}` : sorted.slice(i, j + 1).join(", "));
    i = j + 1;
  }
  return runs.join(", ");
}

const isDefaultReserved = (r: readonly number[]) => formatPorts(r) === formatPorts(ECS_RESERVED_PORTS);
const isDefaultRange = (r: readonly [number, number]) => r[0] === ECS_EPHEMERAL_PORT_RANGE[0] && r[1] === ECS_EPHEMERAL_PORT_RANGE[1];

/** Problems of the rules themselves (reservedPorts, ephemeralPortRange). */
export function portRuleProblems(rules: { reservedPorts?: unknown; ephemeralPortRange?: unknown }): string[] {
  const out: string[] = [];
  if (rules.reservedPorts !== undefined) {
    if (!Array.isArray(rules.reservedPorts)) out.push(`reservedPorts ${show(rules.reservedPorts)} must be a list of ports`);
    else rules.reservedPorts.forEach((p, i) => !isInt(p, 1, 65535) && out.push(`reservedPorts[${i}] ${show(p)} must be an integer from 1 to 65535`));
  }
  const r = rules.ephemeralPortRange;
  if (r !== undefined && (!Array.isArray(r) || r.length !== 2 || !isInt(r[0], 1, 65535) || !isInt(r[1], 1, 65535) || r[0] > r[1])) {
    out.push(`ephemeralPortRange ${show(r)} must be [first, last] with 1 ≤ first ≤ last ≤ 65535, e.g. [32768, 65535] (ECS's default)`);
  }
  return out;
}

/**
 * Validate one mapping and write its defaults out. `field` is its path, e.g.
 * "containers[0].portMappings[1]". Returns the normalized mapping, or the problems.
 */
export function checkPortMapping(field: string, m: EcsPortMapping, rules: PortRules = DEFAULT_PORT_RULES): { mapping?: NormalizedPortMapping; problems: string[] } {
  const problems: string[] = [];
  if (m === null || typeof m !== "object") return { problems: [`${field} ${show(m)} must be an object { containerPort, hostPort?, protocol? }`] };
  const protocol = m.protocol ?? "tcp";
  const hostPort = m.hostPort ?? 0;
  if (!isInt(m.containerPort, 1, 65535)) problems.push(`${field}.containerPort ${show(m.containerPort)} must be an integer from 1 to 65535`);
  if (protocol !== "tcp" && protocol !== "udp") problems.push(`${field}.protocol ${show(protocol)} must be "tcp" or "udp"`);
  if (!isInt(hostPort, 0, 65535)) {
    problems.push(`${field}.hostPort ${show(hostPort)} must be an integer from 1 to 65535 for a static port, or 0 for a dynamic one from the ephemeral range`);
  } else if (hostPort !== 0) {
    const [lo, hi] = rules.ephemeralPortRange;
    if (rules.reservedPorts.includes(hostPort)) {
      const why = isDefaultReserved(rules.reservedPorts)
        ? "ECS keeps 22 for SSH, 2375 and 2376 for the Docker daemon and 51678–51680 for the ECS agent"
        : `reservedPorts: ${formatPorts(rules.reservedPorts)}`;
      problems.push(`${field}.hostPort ${hostPort} is reserved on the container instance (${why}); a task cannot bind it: choose another port below ${lo}, or 0 for a dynamic one`);
    } else if (hostPort >= lo && hostPort <= hi) {
      const whose = isDefaultRange(rules.ephemeralPortRange) ? "ECS's default ephemeral port range" : "ephemeralPortRange";
      problems.push(
        `${field}.hostPort ${hostPort} lies in the ephemeral port range ${lo}–${hi} (${whose}; set ephemeralPortRange if your instances' ip_local_port_range differs), ` +
          `from which ECS hands out dynamic host ports and the kernel outgoing connections' ports, so a static port there can be taken at any time: ` +
          `choose a port below ${lo}, or 0 to let ECS pick one`,
      );
    }
  }
  if (problems.length > 0) return { problems };
  return { mapping: { containerPort: m.containerPort, hostPort, protocol }, problems };
}

/** Docker's refusal of a second bind on one host port. */
export function portAllocatedMessage(hostPort: number, hostIp = "0.0.0.0"): string {
  return `Bind for ${hostIp}:${hostPort} failed: port is already allocated`;
}
