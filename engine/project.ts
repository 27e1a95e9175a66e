/**
 * Reads a Pulumi project the way the CLI and the Node.js language host would: the project name and
 * entry point from Pulumi.yaml, stack config from Pulumi.<stack>.yaml, and turns config into the
 * PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS environment the SDK reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseYaml } from "./sdk";

export interface Project {
  name: string;
  dir: string;
  /** Program argument for the runner: Pulumi.yaml `main`, or "." (the runner's own resolution). */
  program: string;
  /**
   * Where the CLI runs the program and the provider plugins (its getPwdMain): `main` when it is a
   * directory, the directory of `main` when it is a file, else the project directory.
   */
  pwd: string;
  /** `runtime.options.typescript` (default true): whether the runner registers ts-node. */
  typescript: boolean;
  /** Set when the program would not run what the author expects; logged as a warning. */
  warning?: string;
  /** Project-level config defaults from Pulumi.yaml, already namespaced. */
  defaults: Record<string, string>;
}

export interface StackConfig {
  /** `namespace:key` → string value. */
  values: Record<string, string>;
  /** Keys (namespaced) whose values are secrets. */
  secretKeys: string[];
}

function readYaml(file: string): Record<string, unknown> {
  const doc = parseYaml(fs.readFileSync(file, "utf8"));
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${file} is not a YAML mapping`);
  return doc as Record<string, unknown>;
}

/** Config values are strings on the wire; the CLI JSON-encodes anything else. */
function configString(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function qualifyKey(key: string, project: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

export function loadProject(dir: string): Project {
  const file = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(file)) throw new Error(`no Pulumi.yaml in program directory ${dir}`);
  const doc = readYaml(file);
  const name = doc.name;
  if (typeof name !== "string" || name === "") throw new Error(`${file} has no project name`);

  const runtime = doc.runtime;
  const runtimeName = typeof runtime === "string" ? runtime : (runtime as { name?: unknown } | undefined)?.name;
  if (runtimeName !== "nodejs") throw new Error(`${file}: runtime ${String(runtimeName)} is not supported (only nodejs)`);
  const options = (typeof runtime === "object" && runtime !== null ? (runtime as { options?: Record<string, unknown> }).options : undefined) ?? {};
  const typescript = options.typescript !== false;

  const defaults: Record<string, string> = {};
  const projectConfig = doc.config;
  if (projectConfig && typeof projectConfig === "object") {
    for (const [k, v] of Object.entries(projectConfig as Record<string, unknown>)) {
      const value = v && typeof v === "object" && !Array.isArray(v) ? (v as { default?: unknown; value?: unknown }) : { value: v };
      const d = "default" in value ? value.default : value.value;
      if (d !== undefined) defaults[qualifyKey(k, name)] = configString(d);
    }
  }

  let program = ".";
  let warning: string | undefined;
  if (typeof doc.main === "string" && doc.main !== "") {
    program = doc.main;
  } else {
    // The runner resolves "." through the *nearest* package.json's main/exports. A program
    // directory without its own package.json inside this repository would therefore run the repo's
    // package main instead of its index.ts. The real CLI has the same trap; we run the obvious
    // index file and warn, so the stack author can add `main:` to Pulumi.yaml.
    const index = ["index.ts", "index.js"].find((f) => fs.existsSync(path.join(dir, f)));
    const ownManifest = fs.existsSync(path.join(dir, "package.json"));
    const outer = ownManifest ? undefined : findUp(path.dirname(path.resolve(dir)), "package.json");
    if (index && outer) {
      const pkg = JSON.parse(fs.readFileSync(outer, "utf8")) as { main?: unknown; exports?: unknown };
      if (pkg.main !== undefined || pkg.exports !== undefined) {
        program = index;
        warning =
          `${file} has no "main" and ${dir} has no package.json: the real Pulumi CLI would run the entry point of ` +
          `${outer} instead of ${index}; the test engine runs ${index}. Add "main: ${index}" to Pulumi.yaml.`;
      }
    }
  }
  let pwd = dir;
  const mainPath = path.resolve(dir, program);
  if (program !== "." && fs.existsSync(mainPath)) {
    if (fs.statSync(mainPath).isDirectory()) {
      pwd = mainPath;
      program = ".";
    } else {
      pwd = path.dirname(mainPath);
      program = path.basename(mainPath);
    }
  }
  return { name, dir, program, pwd, typescript, warning, defaults };
}

function findUp(start: string, fileName: string): string | undefined {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, fileName);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Merges Pulumi.yaml defaults, Pulumi.<stack>.yaml and the overrides (later wins). Encrypted
 * (`secure:`) values cannot be decrypted without the CLI's secrets provider, so they are refused with
 * a pointer to `secretConfig` / `--secret`.
 */
export function loadStackConfig(
  project: Project,
  stack: string,
  overrides: Record<string, string> = {},
  secretOverrides: Record<string, string> = {},
): StackConfig {
  const values: Record<string, string> = { ...project.defaults };
  const secret = new Set<string>();
  const file = path.join(project.dir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(file)) {
    const config = readYaml(file).config;
    if (config && typeof config === "object") {
      for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
        const key = qualifyKey(k, project.name);
        if (v && typeof v === "object" && !Array.isArray(v) && "secure" in v) {
          throw new Error(
            `${file}: ${k} is an encrypted (secure) value, which the test engine cannot decrypt; ` +
              `pass it with secretConfig / --secret ${k}=VALUE instead`,
          );
        }
        values[key] = configString(v);
      }
    }
  }
  for (const [k, v] of Object.entries(overrides)) {
    const key = qualifyKey(k, project.name);
    values[key] = v;
    secret.delete(key);
  }
  for (const [k, v] of Object.entries(secretOverrides)) {
    const key = qualifyKey(k, project.name);
    values[key] = v;
    secret.add(key);
  }
  return { values, secretKeys: [...secret].sort() };
}
