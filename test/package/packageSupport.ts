import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * What the package tests share: bridgelab packed as users get it (`npm pack`), installed from
 * the tarball into temporary projects outside the repository with @pulumi/pulumi from the npm
 * registry, and commands run there as a user types them (`npx bridgelab …`, `tsc`, `node -e`).
 *
 * One install serves several projects: a workspace directory holds node_modules, and the
 * projects live in subdirectories of it, where Node's resolution and npx's PATH (every
 * ancestor's node_modules/.bin) find the installed packages. `npx --no-install` makes sure npx
 * never fetches a "bridgelab" from the registry instead.
 */
export const repo = path.resolve(__dirname, "..", "..");
export const examplesDir = path.join(repo, "examples");
export const version: string = (JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { version: string }).version;

/** The examples in the repository: every examples/NAME with a Pulumi.yaml. */
export function exampleNames(): string[] {
  return fs
    .readdirSync(examplesDir)
    .filter((n) => fs.existsSync(path.join(examplesDir, n, "Pulumi.yaml")))
    .sort();
}

export interface PackageJson {
  name: string;
  main?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

export const readJson = <T = unknown>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (its process group) after this long. @default 5 minutes */
  timeoutMs?: number;
}

/** Runs a command to completion (never through a shell), capturing its output. */
export function run(command: string, args: string[], o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[package test: ${command} ${args.join(" ")} killed after ${o.timeoutMs ?? 300_000} ms]`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, o.timeoutMs ?? 300_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The same, failing with the command's output when it exits non-zero. */
export async function runOk(command: string, args: string[], o: RunOptions): Promise<RunResult> {
  const r = await run(command, args, o);
  if (r.code !== 0) {
    throw new Error(`\`${command} ${args.join(" ")}\` in ${o.cwd} exited ${r.code ?? r.signal}:\n${tail(r.stdout, 60)}\n${tail(r.stderr, 60)}`);
  }
  return r;
}

export const tail = (text: string, lines: number) => text.split("\n").slice(-lines).join("\n");

/** A temporary directory outside the repository, removed by `dispose` (also after a failure). */
export function tempDir(prefix: string): { dir: string; dispose: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bridgelab-${prefix}-`));
  return { dir, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `npm pack` of the repository into `dest`: the tarball users install. dist/ is current (jest's
 * globalSetup builds it), so the `prepack` build is skipped. Returns the tarball's path.
 */
export async function packTarball(dest: string): Promise<string> {
  const r = await runOk("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dest], { cwd: repo });
  const [info] = JSON.parse(r.stdout) as Array<{ filename: string }>;
  const file = path.join(dest, info.filename);
  if (!fs.existsSync(file)) throw new Error(`npm pack reported ${info.filename}, but ${file} does not exist`);
  return file;
}

/**
 * The dependencies a set of examples declare, together: what one shared install needs. The
 * bridgelab dependency becomes the tarball; `extra` adds or overrides entries.
 */
export function unionOfExamples(names: string[], tarball: string, extra: Partial<PackageJson> = {}): PackageJson {
  const deps: Record<string, string> = {};
  const devDeps: Record<string, string> = {};
  const allow: Record<string, boolean> = {};
  for (const n of names) {
    const p = readJson<PackageJson>(path.join(examplesDir, n, "package.json"));
    Object.assign(deps, p.dependencies);
    Object.assign(devDeps, p.devDependencies);
    Object.assign(allow, p.allowScripts);
  }
  return {
    name: "bridgelab-package-test",
    dependencies: { ...deps, bridgelab: `file:${tarball}`, ...extra.dependencies },
    devDependencies: { ...devDeps, ...extra.devDependencies },
    allowScripts: { ...allow, ...extra.allowScripts },
  };
}

export interface Install {
  /** The install's output (npm writes its warnings to stderr). */
  output: string;
  ms: number;
}

/**
 * `npm install` in `dir` with `pkg` as its package.json, as a user runs it (npm 11: install
 * scripts gated by the package.json's allowScripts). `--prefer-offline` takes packages from the
 * npm cache when it has them; the registry is asked only for what is missing.
 */
export async function npmInstall(dir: string, pkg: PackageJson, o: { node?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Install> {
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ private: true, ...pkg }, null, 2) + "\n");
  const args = ["install", "--prefer-offline", "--no-audit", "--no-fund"];
  // With another node: the machine's npm run by that node, so that engines checks see it.
  const r = o.node ? await runOk(o.node, [npmCli(), ...args], { cwd: dir, env: o.env, timeoutMs: 600_000 }) : await runOk("npm", args, { cwd: dir, env: o.env, timeoutMs: 600_000 });
  return { output: r.stdout + r.stderr, ms: r.ms };
}

/** The npm CLI script of the npm on PATH. */
export function npmCli(): string {
  const npm = fs.realpathSync(whichSync("npm"));
  const cli = path.join(path.dirname(npm), "npm-cli.js");
  if (!fs.existsSync(cli)) throw new Error(`npm-cli.js not found beside ${npm}`);
  return cli;
}

function whichSync(cmd: string): string {
  for (const d of (process.env.PATH ?? "").split(":")) {
    const p = path.join(d, cmd);
    if (d && fs.existsSync(p)) return p;
  }
  throw new Error(`${cmd} is not on PATH`);
}

/** Packages npm 11 names as having install scripts not covered by the project's allowScripts. */
export function uncoveredInstallScripts(output: string): string[] {
  return output
    .split("\n")
    .map((l) => /^npm warn install-scripts\s+(\S+)@\S+\s+\(/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** `npx --no-install bridgelab ARGS` in `cwd`. */
export function bridgelab(args: string[], o: RunOptions): Promise<RunResult> {
  return run("npx", ["--no-install", "bridgelab", ...args], o);
}

/** `tsc --noEmit -p DIR` with the typescript installed in the workspace; the diagnostics, or "" when clean. */
export async function typeCheck(projectDir: string, env?: NodeJS.ProcessEnv): Promise<{ diagnostics: string; ms: number }> {
  const r = await run("npx", ["--no-install", "tsc", "--noEmit", "--pretty", "false", "-p", projectDir], { cwd: projectDir, env, timeoutMs: 300_000 });
  if (r.code !== 0 && r.stdout.trim() === "") throw new Error(`tsc failed to run in ${projectDir} (exit ${r.code}): ${r.stderr}`);
  return { diagnostics: r.stdout.trim(), ms: r.ms };
}

/**
 * Sets `key: value` in a stack config file as `pulumi config set` would: replaces the key's line
 * (commented out or not) or adds it under `config:`. Values are written as JSON strings (valid
 * YAML double-quoted scalars).
 */
export function setStackConfig(file: string, key: string, value: string): void {
  const text = fs.readFileSync(file, "utf8");
  const line = `  ${key}: ${JSON.stringify(value)}`;
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^\\s*(?:#\\s*)?${escaped}:.*$`, "m");
  const next = re.test(text) ? text.replace(re, () => line) : text.replace(/^config:\s*$/m, (m) => `${m}\n${line}`);
  if (!next.includes(line)) throw new Error(`could not set ${key} in ${file}`);
  fs.writeFileSync(file, next);
}

/** Copies a project directory (and its .bridgelab state) elsewhere, as a clone on another machine would hold it. */
export function copyProject(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, filter: (src) => path.basename(src) !== "node_modules" });
}

/** Lines of a trace file (BRIDGELAB_TRACE_FILE): one per remote call; a missing file is none. */
export function traceLines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** Seconds, for the timing lines the tests print. */
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
