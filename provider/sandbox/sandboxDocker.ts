import * as fs from "node:fs";
import * as path from "node:path";
import { SandboxTransport } from "../transport/sandbox";
import { CommandError } from "../transport/types";
import { sandboxExists } from "./sandboxHost";
import { sandboxPaths, sandboxRoot } from "./sandboxLayout";
import {
  BUSYBOX,
  DOCKERD_CANDIDATES,
  DOCKER_CLIENT,
  DOCKER_IMAGE,
  DOCKER_MARKER_FILE,
  DOCKER_SOCKET,
  EXIT_DOCKER_MISSING,
  EXIT_DOCKER_RUNNING,
  dockerImageScript,
  dockerReadyScript,
  dockerStartScript,
  dockerStopScript,
} from "./sandboxDockerScripts";

/**
 * Docker inside a sandbox host: start, ready, stop. The scripts and the layout are in
 * sandboxDockerScripts.ts; the equivalent by hand is `bridgelab sandbox docker start NAME`,
 * then `bridgelab sandbox exec NAME -- docker run …`, then `bridgelab sandbox docker stop NAME`.
 *
 * A started sandbox host carries a marker, $ROOT/NAME/docker.json, so that
 * `bridgelab sandbox delete` (deleteSandbox) stops Docker first: a container's processes live
 * in namespaces of their own, which deleting the sandbox host alone would not reach.
 */
export interface SandboxDocker {
  sandbox: string;
  /** The engine's version, as `docker version` reports it (20.10.24+dfsg1). */
  version: string;
  /** The image every container can run: busybox, imported from the host's busybox-static. */
  image: string;
  /** The daemon's socket inside the sandbox host. */
  socket: string;
  /** The client to use (the engine's own: /usr/bin/docker). */
  client: string;
}

/** Docker (or busybox-static) is not installed on this machine. */
export class DockerMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DockerMissingError";
  }
}

/** The marker a started sandbox host carries. */
export function dockerMarker(name: string, root = sandboxRoot()): string {
  return path.join(sandboxPaths(name, root).dir, DOCKER_MARKER_FILE);
}

/** Whether Docker was started in sandbox host NAME (and not stopped since). */
export function sandboxDockerStarted(name: string, root = sandboxRoot()): boolean {
  return fs.existsSync(dockerMarker(name, root));
}

/**
 * Why Docker cannot run in a sandbox host on this machine, or undefined when it can: the
 * daemon, the engine's own client and a static busybox must be installed (Debian/Ubuntu:
 * `apt-get install docker.io busybox-static`). Sandbox hosts share the machine's files.
 */
export function dockerMissing(): string | undefined {
  const missing: string[] = [];
  if (!DOCKERD_CANDIDATES.some((f) => fs.existsSync(f))) missing.push(`dockerd (${DOCKERD_CANDIDATES.join(" or ")})`);
  if (!fs.existsSync(DOCKER_CLIENT)) missing.push(`the docker client ${DOCKER_CLIENT}`);
  if (!fs.existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (busybox-static)`);
  if (!missing.length) return undefined;
  return `Docker is not installed: no ${missing.join(", no ")} (Debian/Ubuntu: apt-get install docker.io busybox-static)`;
}

/**
 * Start dockerd inside sandbox host NAME, wait until it answers, and import the image.
 * All-or-nothing: a failure after the daemon started stops it again (and puts the host back)
 * before the error is thrown. Refuses a sandbox host where Docker already runs.
 */
export interface StartSandboxDockerOptions {
  /** More dockerd flags, after bridgelab's: `["--userland-proxy=false"]`. @default [] */
  daemonArgs?: string[];
  /** How long to wait for the daemon to answer. @default 30 */
  readyTimeoutSec?: number;
}

export async function startSandboxDocker(name: string, root = sandboxRoot(), opts: StartSandboxDockerOptions = {}): Promise<SandboxDocker> {
  if (!sandboxExists(name, root)) throw new Error(`sandbox host "${name}" does not exist; create it with \`bridgelab sandbox create ${name}\``);
  const missing = dockerMissing();
  if (missing) throw new DockerMissingError(missing);
  const t = new SandboxTransport(name, root);
  const context = `Docker in sandbox host "${name}"`;
  const started = await t.run(dockerStartScript(name, opts.daemonArgs), { timeoutMs: 60_000 });
  if (started.code === EXIT_DOCKER_MISSING) throw new DockerMissingError(started.stderr.trim());
  if (started.code !== 0) {
    // A refusal (already running) changed nothing; any other failure may have mounted cgroups.
    if (started.code !== EXIT_DOCKER_RUNNING) await t.run(dockerStopScript(), { timeoutMs: 60_000 }).catch(() => undefined);
    throw new CommandError(t.label, started, context);
  }
  fs.writeFileSync(dockerMarker(name, root), JSON.stringify({ startedAt: new Date().toISOString(), socket: DOCKER_SOCKET }) + "\n");
  try {
    const timeoutSec = opts.readyTimeoutSec ?? 30;
    const ready = await t.run(dockerReadyScript(timeoutSec), { timeoutMs: (timeoutSec + 30) * 1000 });
    if (ready.code !== 0) {
      const why = ready.code === 2 ? "dockerd exited" : `dockerd did not answer on ${DOCKER_SOCKET} within ${timeoutSec} s`;
      throw new Error(`${context}: ${why}; the end of its log:\n${ready.stderr.trim()}`);
    }
    const image = await t.run(dockerImageScript(DOCKER_IMAGE), { timeoutMs: 120_000 });
    if (image.code !== 0) throw new CommandError(t.label, image, `${context}: importing ${DOCKER_IMAGE}`);
    return { sandbox: name, version: ready.stdout.trim(), image: DOCKER_IMAGE, socket: DOCKER_SOCKET, client: DOCKER_CLIENT };
  } catch (e) {
    await stopSandboxDocker(name, root).catch(() => undefined);
    throw e;
  }
}

/**
 * Stop Docker in sandbox host NAME and put the host back as start found it (see
 * dockerStopScript): containers, networks, the daemon, cgroups, mounts, iptables, docker0,
 * sysctls, files. Idempotent: returns false when Docker was not started there.
 */
export async function stopSandboxDocker(name: string, root = sandboxRoot()): Promise<boolean> {
  const marker = dockerMarker(name, root);
  if (!sandboxExists(name, root)) {
    fs.rmSync(marker, { force: true });
    return false;
  }
  const t = new SandboxTransport(name, root);
  const r = await t.run(dockerStopScript(), { timeoutMs: 120_000 });
  if (r.code !== 0) throw new CommandError(t.label, r, `stopping Docker in sandbox host "${name}"`);
  const was = fs.existsSync(marker);
  fs.rmSync(marker, { force: true });
  return was;
}
