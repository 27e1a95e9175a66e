import { DEFAULT_PORT_RULES, NormalizedPortMapping, PortRules, checkPortMapping, portAllocatedMessage } from "./portRules";
import type { EcsContainer } from "./types";

/**
 * Containers of a bridge-mode task definition: validation, defaults written out, and the
 * `containerDefinitions` JSON. Pure.
 *
 * Every port mapping carries `containerPort`, `hostPort` and `protocol` explicitly. ECS
 * stores `hostPort: 0` and `protocol: "tcp"` for a mapping that omits them, so a definition
 * without them differs from what AWS reads back and every `pulumi up` shows a diff (and
 * registers a new revision).
 */
export interface NormalizedContainer {
  name: string;
  image: string;
  cpu: number;
  memory?: number;
  memoryReservation?: number;
  essential: boolean;
  portMappings: NormalizedPortMapping[];
  command?: string[];
  environment: Array<{ name: string; value: string }>;
}

/** Container, family and cluster names: ECS allows letters, digits, '-' and '_', up to 255. */
export const ECS_NAME = /^[A-Za-z0-9_-]{1,255}$/;
export const DEFAULT_MEMORY_MIB = 128;

const show = (v: unknown) => JSON.stringify(v);
const isInt = (v: unknown, lo: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo;

/** Validate the containers (`field` is their path, "containers") and write their defaults out. */
export function normalizeContainers(containers: EcsContainer[], rules: PortRules = DEFAULT_PORT_RULES, field = "containers"): { containers: NormalizedContainer[]; problems: string[] } {
  const problems: string[] = [];
  if (!Array.isArray(containers) || containers.length === 0) return { containers: [], problems: [`${field} ${show(containers)} must list at least one container`] };
  const out: NormalizedContainer[] = [];
  containers.forEach((c, i) => {
    const at = `${field}[${i}]`;
    if (c === null || typeof c !== "object") {
      problems.push(`${at} ${show(c)} must be an object { name, image, portMappings?, … }`);
      return;
    }
    if (typeof c.name !== "string" || !ECS_NAME.test(c.name)) problems.push(`${at}.name ${show(c.name)} may hold only letters, digits, '-' and '_' (1–255 characters), as ECS requires`);
    else {
      const j = containers.findIndex((d, k) => k < i && d?.name === c.name);
      if (j >= 0) problems.push(`${at}.name ${show(c.name)} is already ${field}[${j}].name; container names are unique in a task`);
    }
    if (typeof c.image !== "string" || c.image.trim() === "" || /\s/.test(c.image)) problems.push(`${at}.image ${show(c.image)} must be an image reference such as "nginx:alpine"`);
    if (c.memory !== undefined && !isInt(c.memory, 6)) problems.push(`${at}.memory ${show(c.memory)} must be an integer number of MiB, at least 6 (Docker's minimum)`);
    if (c.memoryReservation !== undefined && !isInt(c.memoryReservation, 4)) problems.push(`${at}.memoryReservation ${show(c.memoryReservation)} must be an integer number of MiB, at least 4`);
    if (isInt(c.memory, 6) && isInt(c.memoryReservation, 4) && c.memoryReservation > c.memory) {
      problems.push(`${at}.memoryReservation ${c.memoryReservation} is above ${at}.memory ${c.memory}; the soft limit must not exceed the hard one`);
    }
    if (c.cpu !== undefined && !isInt(c.cpu, 0)) problems.push(`${at}.cpu ${show(c.cpu)} must be a whole number of CPU units (1024 = one vCPU), 0 or more`);
    if (c.essential !== undefined && typeof c.essential !== "boolean") problems.push(`${at}.essential ${show(c.essential)} must be true or false`);
    if (c.command !== undefined && (!Array.isArray(c.command) || c.command.some((a) => typeof a !== "string"))) problems.push(`${at}.command ${show(c.command)} must be a list of strings`);
    if (c.environment !== undefined && (c.environment === null || typeof c.environment !== "object" || Array.isArray(c.environment) || Object.values(c.environment).some((v) => typeof v !== "string"))) {
      problems.push(`${at}.environment ${show(c.environment)} must map names to string values`);
    }
    const mappings: NormalizedPortMapping[] = [];
    if (c.portMappings !== undefined && !Array.isArray(c.portMappings)) problems.push(`${at}.portMappings ${show(c.portMappings)} must be a list`);
    else {
      (c.portMappings ?? []).forEach((m, k) => {
        const r = checkPortMapping(`${at}.portMappings[${k}]`, m, rules);
        problems.push(...r.problems);
        if (r.mapping) mappings.push(r.mapping);
      });
    }
    const n: NormalizedContainer = {
      name: c.name,
      image: c.image,
      cpu: c.cpu ?? 0,
      essential: c.essential ?? true,
      portMappings: mappings,
      environment: Object.entries(c.environment ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => ({ name, value })),
    };
    if (c.memory !== undefined || c.memoryReservation === undefined) n.memory = c.memory ?? DEFAULT_MEMORY_MIB;
    if (c.memoryReservation !== undefined) n.memoryReservation = c.memoryReservation;
    if (c.command !== undefined) n.command = c.command;
    out.push(n);
  });
  if (out.length === containers.length && out.every((c) => c.essential === false)) {
    problems.push(`${field}: every container has essential false; ECS needs at least one essential container in a task`);
  }
  problems.push(...hostPortClashes(containers, field));
  return { containers: out, problems };
}

/** Two mappings of one task on the same static host port and protocol: Docker refuses the second. */
function hostPortClashes(containers: EcsContainer[], field: string): string[] {
  const seen: Array<{ at: string; hostPort: number; protocol: string }> = [];
  const out: string[] = [];
  containers.forEach((c, i) =>
    (Array.isArray(c?.portMappings) ? c.portMappings : []).forEach((m, k) => {
      const hostPort = m?.hostPort ?? 0;
      const protocol = m?.protocol ?? "tcp";
      if (typeof hostPort !== "number" || hostPort === 0) return;
      const at = `${field}[${i}].portMappings[${k}].hostPort`;
      const before = seen.find((s) => s.hostPort === hostPort && s.protocol === protocol);
      if (before) out.push(`${at} ${hostPort} (${protocol}) is already ${before.at} in this task: ${portAllocatedMessage(hostPort)}`);
      else seen.push({ at, hostPort, protocol });
    }),
  );
  return out;
}

/**
 * The `containerDefinitions` JSON of the task definition, keys in a fixed order:
 *
 *   [{"name":"nginx","image":"nginx:alpine","cpu":0,"memory":128,"essential":true,
 *     "portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}],"environment":[]}]
 */
export function containerDefinitionsJson(containers: NormalizedContainer[]): string {
  return JSON.stringify(
    containers.map((c) => ({
      name: c.name,
      image: c.image,
      cpu: c.cpu,
      ...(c.memory !== undefined ? { memory: c.memory } : {}),
      ...(c.memoryReservation !== undefined ? { memoryReservation: c.memoryReservation } : {}),
      essential: c.essential,
      portMappings: c.portMappings.map((m) => ({ containerPort: m.containerPort, hostPort: m.hostPort, protocol: m.protocol })),
      ...(c.command !== undefined ? { command: c.command } : {}),
      environment: c.environment,
    })),
  );
}
