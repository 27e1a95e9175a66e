import * as fs from "node:fs";
import * as path from "node:path";
import { ParsedTaskDefinition, parseTaskDefinition } from "../provider/ecs/taskDefinitionJson";

/**
 * Where an ECS task definition comes from, in the stacks ecs-bridge and ecs-bridge-local:
 * exactly one of
 *
 *   variant             "static" or "dynamic": seed 000's two exercises (labs/taskDefinitions/)
 *   taskDefinitionFile  a register-task-definition JSON file, relative to the project directory
 *   taskDefinition      the JSON itself (an object in Pulumi.<stack>.yaml, or a JSON string)
 *
 * The JSON is validated by parseTaskDefinition: bridge network mode, the host port rules, …
 */
export interface TaskDefinitionSource {
  variant?: string;
  taskDefinitionFile?: string;
  taskDefinition?: unknown;
}

export const VARIANTS: Record<string, string> = {
  static: "ecs-networking-demo-bridge-mode-stat.json",
  dynamic: "ecs-networking-demo-bridge-mode-dyn.json",
};

/**
 * Seed 000's task definitions ship in the package's labs/taskDefinitions/: found above this file,
 * which runs from dist/stacks/ (installed) or stacks/ (the sources under ts-jest).
 */
export function variantFile(variant: string): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "labs", "taskDefinitions", VARIANTS[variant]);
    if (fs.existsSync(file)) return file;
    if (path.dirname(dir) === dir) throw new Error(`bridgelab: labs/taskDefinitions/${VARIANTS[variant]} is missing from the installed package`);
  }
}

/** `where` names the source in errors: "bridgelab:" for stack config keys, "bridgelab:tasks[1]." for a list entry. */
export function loadTaskDefinition(source: TaskDefinitionSource, where: string, defaultVariant?: string): ParsedTaskDefinition & { source: string } {
  const given = (["variant", "taskDefinitionFile", "taskDefinition"] as const).filter((k) => source[k] !== undefined);
  if (given.length > 1) {
    throw new Error(`${given.map((k) => `${where}${k}`).join(" and ")} conflict: each chooses the task definition; give one of them`);
  }
  if (given.length === 0 && defaultVariant === undefined) throw new Error(`${where}: give variant ("static" or "dynamic"), taskDefinitionFile or taskDefinition`);
  if (source.taskDefinition !== undefined) {
    const name = `${where}taskDefinition`;
    return { ...parseTaskDefinition(source.taskDefinition, name), source: name };
  }
  if (source.taskDefinitionFile !== undefined) {
    const f = source.taskDefinitionFile;
    if (typeof f !== "string" || f === "") throw new Error(`${where}taskDefinitionFile ${JSON.stringify(f)} must be a file name`);
    const file = path.resolve(f);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new Error(`${where}taskDefinitionFile ${JSON.stringify(f)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it is relative to the project directory ${process.cwd()}`);
    }
    return { ...parseTaskDefinition(text, f), source: f };
  }
  const variant = source.variant ?? defaultVariant!;
  if (typeof variant !== "string" || !(variant in VARIANTS)) {
    throw new Error(`${where}variant ${JSON.stringify(variant)} must be one of ${Object.keys(VARIANTS).map((v) => JSON.stringify(v)).join(", ")} (seed 000's exercises)`);
  }
  const file = variantFile(variant);
  return { ...parseTaskDefinition(fs.readFileSync(file, "utf8"), path.basename(file)), source: `labs/taskDefinitions/${VARIANTS[variant]}` };
}
