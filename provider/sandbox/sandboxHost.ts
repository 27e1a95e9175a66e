import * as fs from "node:fs";
import * as path from "node:path";
import { LocalTransport } from "../transport/local";
import { runChecked } from "../transport/types";
import { shQuote as q } from "../host/quote";
import { sandboxRoot, SandboxPaths, UPLINK, assertSandboxName, enterHostArgv, isSandboxName, sandboxPaths } from "./sandboxLayout";
import { createSandboxScript, ensurePrivateRootScript, innerNetnsInodesScript } from "./sandboxScripts";
import { DOCKER_MARKER_FILE, dockerStopScript } from "./sandboxDockerScripts";
import { spawnScript } from "../transport/spawnScript";

/**
 * Sandbox hosts: Linux "machines" made of namespaces on this machine. See sandboxLayout.ts
 * for the picture. Every operation here runs on the local machine as root, and none of them
 * changes the machine's own network namespace.
 */
export interface SandboxInfo {
  name: string;
  dir: string;
  createdAt: string;
  uplink: typeof UPLINK;
}

const local = new LocalTransport();

function isNsfs(file: string): boolean {
  const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
  return mounts.split("\n").some((line) => {
    const f = line.split(" ");
    return f[4] === file && line.includes(" - nsfs ");
  });
}

export function sandboxExists(name: string, root = sandboxRoot()): boolean {
  if (!isSandboxName(name)) return false;
  const p = sandboxPaths(name, root);
  return fs.existsSync(p.meta) && isNsfs(p.net);
}

/**
 * Create sandbox host NAME. All-or-nothing: if a step fails, what was built is removed
 * before the error is thrown. Fails if NAME exists.
 */
export async function createSandbox(name: string, root = sandboxRoot()): Promise<SandboxInfo> {
  assertSandboxName(name);
  const p = sandboxPaths(name, root);
  await runChecked(local, ensurePrivateRootScript(root), `sandbox root ${root}`);
  try {
    fs.mkdirSync(p.dir); // atomic: the loser of two concurrent creates fails here
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`sandbox host "${name}" already exists (${p.dir})`);
    throw e;
  }
  try {
    await runChecked(local, createSandboxScript(name, p), `sandbox host "${name}"`);
    const info: SandboxInfo = { name, dir: p.dir, createdAt: new Date().toISOString(), uplink: UPLINK };
    fs.writeFileSync(p.meta, JSON.stringify(info, null, 2) + "\n");
    return info;
  } catch (e) {
    await deleteSandbox(name, root).catch(() => undefined);
    throw e;
  }
}

/** Create NAME unless a healthy sandbox of that name exists. */
export async function ensureSandbox(name: string, root = sandboxRoot()): Promise<SandboxInfo> {
  if (sandboxExists(name, root)) return readInfo(sandboxPaths(name, root));
  if (fs.existsSync(sandboxPaths(name, root).dir)) await deleteSandbox(name, root); // half-built: start over
  return createSandbox(name, root);
}

function readInfo(p: SandboxPaths): SandboxInfo {
  return JSON.parse(fs.readFileSync(p.meta, "utf8")) as SandboxInfo;
}

export function listSandboxes(root = sandboxRoot()): SandboxInfo[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((n) => sandboxExists(n, root))
    .sort()
    .map((n) => readInfo(sandboxPaths(n, root)));
}

function nsInode(file: string): string | undefined {
  try {
    return String(fs.statSync(file).ino);
  } catch {
    return undefined;
  }
}

/**
 * PIDs of every process living in the sandbox: in its network namespaces (the host's, the
 * outside's and every `ip netns add` one inside it) or its mount namespace.
 */
async function sandboxPids(p: SandboxPaths): Promise<number[]> {
  const netInodes = new Set<string>();
  for (const f of [p.net, p.outside]) if (isNsfs(f)) netInodes.add(nsInode(f)!);
  if (isNsfs(p.mnt)) {
    const r = await local.run(innerNetnsInodesScript(p), { timeoutMs: 15_000 });
    for (const line of r.stdout.split("\n")) if (line.trim()) netInodes.add(line.trim());
  }
  const mntInode = isNsfs(p.mnt) ? nsInode(p.mnt) : undefined;
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const net = fs.readlinkSync(`/proc/${entry}/ns/net`).match(/\[(\d+)\]/)?.[1];
      const mnt = fs.readlinkSync(`/proc/${entry}/ns/mnt`).match(/\[(\d+)\]/)?.[1];
      if ((net && netInodes.has(net)) || (mntInode && mnt === mntInode)) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

async function killAndWait(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some((pid) => fs.existsSync(`/proc/${pid}`)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Delete sandbox NAME and everything in it: its processes, namespaces (and so every link,
 * address, route and rule inside them) and its directory. Idempotent: deleting a sandbox
 * that does not exist succeeds and returns false.
 */
export async function deleteSandbox(name: string, root = sandboxRoot()): Promise<boolean> {
  assertSandboxName(name);
  const p = sandboxPaths(name, root);
  if (!fs.existsSync(p.dir)) return false;
  // Docker started in it (sandboxDocker.ts): its containers live in namespaces of their own,
  // out of reach of the kill below, so Docker is stopped first (`bridgelab sandbox docker stop`).
  if (fs.existsSync(path.join(p.dir, DOCKER_MARKER_FILE)) && sandboxExists(name, root)) {
    await spawnScript(`sandbox:${name}`, enterHostArgv(p), dockerStopScript(), { timeoutMs: 120_000 }).catch(() => undefined);
  }
  await killAndWait(await sandboxPids(p));
  for (const f of [p.mnt, p.net, p.uts, p.outside]) {
    if (isNsfs(f)) await runChecked(local, `umount ${q(f)}`, `sandbox host "${name}"`);
  }
  fs.rmSync(p.dir, { recursive: true, force: true });
  // The last sandbox out releases the root's private bind mount, leaving the machine as it was.
  if (fs.readdirSync(root).length === 0) {
    await local.run(`umount ${q(root)} 2>/dev/null; rmdir ${q(root)} ${q(path.dirname(root))} 2>/dev/null; true`);
  }
  return true;
}

