import * as fs from "node:fs";
import * as path from "node:path";
import { type CommandSpec, UsageError, flag, nearest, parseCommand, str } from "./args";
import { packageRoot, version } from "./packageInfo";

export const EXAMPLES_DIR = path.join(packageRoot(), "examples");
export const DEFAULT_EXAMPLE = "netns-lab";

export const NEW_USAGE = `usage: bridgelab new DIR [--example NAME] [--bridgelab SPEC] [--force]
       bridgelab new --list

  Makes DIR a new Pulumi TypeScript project from one of bridgelab's examples (Pulumi.yaml,
  Pulumi.dev.yaml, package.json depending on bridgelab, tsconfig.json, index.ts), ready for
  \`npm install\` and then \`pulumi up\` or \`npx bridgelab engine up\`.

  --example NAME    which example (default ${DEFAULT_EXAMPLE}; --list shows them)
  --bridgelab SPEC  the bridgelab dependency written to package.json (default ^VERSION of
                    this bridgelab; e.g. a tarball: file:/path/bridgelab-0.2.0.tgz)
  --force           write into a DIR that is not empty
  --list            list the examples`;

const spec: CommandSpec = {
  name: "bridgelab new",
  usage: NEW_USAGE,
  options: { example: { type: "string" }, bridgelab: { type: "string" }, force: { type: "boolean" }, list: { type: "boolean" } },
  positionals: { min: 0, max: 1 },
};

export interface Example {
  name: string;
  description: string;
}

/** The examples shipped with this bridgelab: every examples/NAME with a Pulumi.yaml. */
export function listExamples(dir = EXAMPLES_DIR): Example[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => fs.existsSync(path.join(dir, n, "Pulumi.yaml")))
    .sort()
    .map((name) => {
      const yaml = fs.readFileSync(path.join(dir, name, "Pulumi.yaml"), "utf8");
      const description = /^description:\s*(.+)$/m.exec(yaml)?.[1]?.trim() ?? "";
      return { name, description };
    });
}

/** Files of an example to copy: everything but installed or generated things. */
function exampleFiles(root: string, rel = ""): string[] {
  const skip = new Set(["node_modules", ".bridgelab", "package-lock.json", "bin"]);
  return fs.readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    if (skip.has(e.name)) return [];
    const r = path.join(rel, e.name);
    return e.isDirectory() ? exampleFiles(root, r) : [r];
  });
}

/**
 * Copies example NAME into DIR, naming the project after DIR and pinning the bridgelab dependency.
 * Returns the files written (relative to DIR).
 */
export function scaffold(dir: string, example: string, opts: { bridgelab?: string; force?: boolean } = {}, examplesDir = EXAMPLES_DIR): string[] {
  const from = path.join(examplesDir, example);
  if (!fs.existsSync(path.join(from, "Pulumi.yaml"))) {
    const names = listExamples(examplesDir).map((e) => e.name);
    const near = nearest(example, names);
    throw new UsageError(`--example ${JSON.stringify(example)} is not one of bridgelab's examples${near ? `: did you mean ${near}?` : ""} (${names.join(", ")})`, spec.name);
  }
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !opts.force) {
    throw new UsageError(`${dir} is not empty: choose a new directory, or --force to write into it`, spec.name);
  }
  const project = projectNameOf(dir);
  const exampleProject = /^name:\s*(\S+)\s*$/m.exec(fs.readFileSync(path.join(from, "Pulumi.yaml"), "utf8"))?.[1] ?? example;
  const files = exampleFiles(from);
  for (const rel of files) {
    const target = path.join(dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    let text = fs.readFileSync(path.join(from, rel), "utf8");
    if (rel === "package.json") {
      const pkg = JSON.parse(text) as { name: string; dependencies?: Record<string, string> };
      pkg.name = project.toLowerCase().replace(/^[._]+/, "") || "lab";
      pkg.dependencies = sortedKeys({ ...pkg.dependencies, bridgelab: opts.bridgelab ?? `^${version()}` });
      text = JSON.stringify(pkg, null, 2) + "\n";
    } else if (rel === "Pulumi.yaml") {
      text = text.replace(/^name:.*$/m, `name: ${project}`);
    } else if (/^Pulumi\.[^/]+\.yaml$/.test(rel)) {
      text = renameConfigNamespace(text, exampleProject, project);
    }
    fs.writeFileSync(target, text);
  }
  return files.sort();
}

/** The project name for DIR: its base name, with what Pulumi and npm refuse replaced by '-'. */
export function projectNameOf(dir: string): string {
  return path.basename(path.resolve(dir)).replace(/[^A-Za-z0-9_.-]/g, "-");
}

/**
 * Stack config keys in the project's own namespace (`docker-lab-ssh:host`, what
 * `pulumi config set host …` writes) follow the project's new name, commented-out ones too;
 * other namespaces (`bridgelab:`, `aws:`) stay.
 */
export function renameConfigNamespace(yaml: string, from: string, to: string): string {
  if (from === to) return yaml;
  const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return yaml.replace(new RegExp(`^(\\s*(?:#\\s*)?)${escaped}:(?=[A-Za-z0-9_])`, "gm"), `$1${to}:`);
}

function sortedKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function newCommand(args: string[]): Promise<number> {
  const p = parseCommand(spec, args);
  if (!p) {
    console.log(NEW_USAGE);
    return 0;
  }
  if (flag(p, "list")) {
    for (const e of listExamples()) console.log(`${e.name.padEnd(16)} ${e.description}`);
    return 0;
  }
  const dir = p.positionals[0];
  if (!dir) throw new UsageError("missing DIR: bridgelab new DIR [--example NAME]", spec.name);
  const example = str(p, "example") ?? DEFAULT_EXAMPLE;
  const files = scaffold(dir, example, { bridgelab: str(p, "bridgelab"), force: flag(p, "force") });
  console.log(nextSteps(dir, example, files));
  return 0;
}

/** What to do after `bridgelab new`: install, make the sandbox host the stack uses (if any), up. */
export function nextSteps(dir: string, example: string, files: string[]): string {
  const stackConfig = path.join(dir, "Pulumi.dev.yaml");
  const sandbox = fs.existsSync(stackConfig) ? /^\s*bridgelab:sandbox:\s*["']?([A-Za-z0-9_.-]+)/m.exec(fs.readFileSync(stackConfig, "utf8"))?.[1] : undefined;
  return [
    `bridgelab new: ${dir} from example "${example}" (${files.join(", ")})`,
    "",
    "Next:",
    `  cd ${dir}`,
    "  npm install",
    ...(sandbox ? [`  npx bridgelab sandbox create ${sandbox}   # the sandbox host the stack builds on (as root: namespaces on this machine)`] : []),
    ...(files.includes("README.md") ? ["  # set the stack's config in Pulumi.dev.yaml (README.md says what each key does)"] : []),
    "  npx bridgelab engine up        # without the Pulumi CLI: bridgelab's engine, state in .bridgelab/",
    "  # or, with the Pulumi CLI:",
    "  pulumi login --local && pulumi stack init dev && pulumi up",
  ].join("\n");
}
