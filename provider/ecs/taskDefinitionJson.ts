import { ECS_NAME, NormalizedContainer, normalizeContainers } from "./containerDefinitions";
import { DEFAULT_PORT_RULES, PortRules } from "./portRules";
import type { EcsContainer, EcsPortMapping } from "./types";

/**
 * An ECS task definition as `aws ecs register-task-definition --cli-input-json file://…`
 * takes it (the seed's ecs-networking-demo-bridge-mode-stat.json), read into the shapes
 * EcsBridgeService and the lab-host realisation use. Pure.
 *
 * Read: family, networkMode (must be "bridge"; absent means Docker's default, bridge on
 * Linux), requiresCompatibilities (must include EC2 when given), and per container name, image, cpu, memory, memoryReservation, essential,
 * command, environment ([{name, value}]) and portMappings (containerPort, hostPort,
 * protocol). Everything else (roles, logging, linuxParameters, …) is listed in `ignored`.
 * A value still holding an envsubst placeholder (`${TaskRoleArn}`) is refused.
 */
export interface ParsedTaskDefinition {
  family: string;
  networkMode: "bridge";
  /** As EcsBridgeService takes them. */
  containers: EcsContainer[];
  /** With every default written out (hostPort 0, protocol "tcp", essential true…). */
  normalized: NormalizedContainer[];
  /** Fields present but not realised, e.g. "containerDefinitions[0].logConfiguration". */
  ignored: string[];
}

export class TaskDefinitionError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`task definition ${source}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join("\n  ")}`}`);
    this.name = "TaskDefinitionError";
    this.problems = problems;
  }
}

const show = (v: unknown) => JSON.stringify(v);
const TASK_FIELDS = new Set(["family", "networkMode", "requiresCompatibilities", "containerDefinitions"]);
const CONTAINER_FIELDS = new Set(["name", "image", "cpu", "memory", "memoryReservation", "essential", "command", "environment", "portMappings"]);
const MAPPING_FIELDS = new Set(["containerPort", "hostPort", "protocol"]);

/** Paths of string values that still hold `${…}` (an unrendered envsubst template). */
function placeholders(v: unknown, at: string, out: string[]): string[] {
  if (typeof v === "string" && /\$\{[^}]*\}/.test(v)) out.push(`${at} ${show(v)}`);
  else if (Array.isArray(v)) v.forEach((x, i) => placeholders(x, `${at}[${i}]`, out));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) placeholders(x, at ? `${at}.${k}` : k, out);
  return out;
}

/**
 * Parse a task definition given as JSON text or as an already parsed object. `source` names
 * it in errors (a file name, or a config key).
 */
export function parseTaskDefinition(input: unknown, source: string, rules: PortRules = DEFAULT_PORT_RULES): ParsedTaskDefinition {
  let doc: unknown = input;
  if (typeof input === "string") {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      throw new TaskDefinitionError(source, [`is not valid JSON: ${(e as Error).message}`]);
    }
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new TaskDefinitionError(source, [`must be a JSON object with family and containerDefinitions, got ${show(doc)}`]);
  const td = doc as Record<string, unknown>;
  const problems: string[] = [];
  const ignored: string[] = Object.keys(td).filter((k) => !TASK_FIELDS.has(k));

  const unrendered = placeholders(td, "", []);
  if (unrendered.length > 0) problems.push(`still holds envsubst placeholders (${unrendered.join(", ")}); render the template first (envsubst < FILE.template > FILE)`);

  if (typeof td.family !== "string" || !ECS_NAME.test(td.family)) problems.push(`family ${show(td.family)} may hold only letters, digits, '-' and '_' (1–255 characters)`);
  const mode = td.networkMode ?? "bridge";
  if (mode !== "bridge") problems.push(`networkMode ${show(td.networkMode)} must be "bridge" (or absent: Docker's default on Linux); this realises bridge mode only`);

  const rc = td.requiresCompatibilities;
  if (rc !== undefined && (!Array.isArray(rc) || !rc.includes("EC2"))) {
    problems.push(`requiresCompatibilities ${show(rc)} must include "EC2": bridge network mode runs on EC2 container instances (Fargate has awsvpc only)`);
  }
  const defs = td.containerDefinitions;
  const containers: EcsContainer[] = [];
  if (!Array.isArray(defs) || defs.length === 0) problems.push(`containerDefinitions ${show(defs)} must list at least one container`);
  else {
    defs.forEach((d, i) => {
      const at = `containerDefinitions[${i}]`;
      if (d === null || typeof d !== "object" || Array.isArray(d)) {
        problems.push(`${at} ${show(d)} must be an object`);
        return;
      }
      const c = d as Record<string, unknown>;
      ignored.push(...Object.keys(c).filter((k) => !CONTAINER_FIELDS.has(k)).map((k) => `${at}.${k}`));
      const out: EcsContainer = { name: c.name as string, image: c.image as string };
      for (const k of ["cpu", "memory", "memoryReservation", "essential", "command"] as const) if (c[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = c[k];
      if (c.environment !== undefined) {
        if (!Array.isArray(c.environment) || c.environment.some((e) => !e || typeof e !== "object" || typeof e.name !== "string" || typeof e.value !== "string")) {
          problems.push(`${at}.environment ${show(c.environment)} must be a list of { "name": …, "value": … } with string values`);
        } else out.environment = Object.fromEntries(c.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
      }
      if (c.portMappings !== undefined) {
        if (!Array.isArray(c.portMappings)) problems.push(`${at}.portMappings ${show(c.portMappings)} must be a list`);
        else {
          out.portMappings = c.portMappings.map((m: unknown, k: number) => {
            if (m && typeof m === "object") ignored.push(...Object.keys(m).filter((f) => !MAPPING_FIELDS.has(f)).map((f) => `${at}.portMappings[${k}].${f}`));
            return m as EcsPortMapping;
          });
        }
      }
      containers.push(out);
    });
  }
  // The container rules are EcsBridgeService's, reported with the JSON's own field names.
  const n = Array.isArray(defs) && defs.length > 0 && containers.length === defs.length ? normalizeContainers(containers, rules, "containerDefinitions") : { containers: [], problems: [] };
  problems.push(...n.problems);
  if (problems.length > 0) throw new TaskDefinitionError(source, problems);
  return { family: td.family as string, networkMode: "bridge", containers, normalized: n.containers, ignored };
}
