import { dockerMissing, startSandboxDocker, stopSandboxDocker, type SandboxDocker } from "../provider/sandbox/sandboxDocker";
import { DOCKER_IMAGE, dockerArgv } from "../provider/sandbox/sandboxDockerScripts";
import { shJoin } from "../provider/host/quote";
import { SandboxTransport } from "../provider/transport/sandbox";
import { CommandError } from "../provider/transport/types";
import { makeSandbox } from "../test/support/sandboxFixture";

/**
 * The bench's Docker column: real Docker (Debian's docker.io, inside a sandbox host of its own,
 * provider/sandbox/sandboxDocker.ts) publishing N containers' port 80 on dynamic host ports,
 * timed in the same run and on the same kind of sandbox host as bridgelab, the floor and the
 * naive baseline. Each step is one script run directly in the sandbox host (nsenter), as the
 * floor's is, with the engine's own client:
 *
 *   up, serially     for i in $(seq N); do docker run -d -p 0:80 bridgelab/busybox httpd -f -p 80 -h /www; done
 *   up, 8 at a time  seq N | xargs -P 8 -I{} docker run -d -p 0:80 bridgelab/busybox httpd -f -p 80 -h /www
 *   down             docker rm -f $(docker ps -aq)            (the client removes them in parallel)
 *
 * What Docker does per container that bridgelab's bench lab does not: a rootfs (the vfs driver
 * copies the image's 2 MB of busybox for each container), cgroups, a process (busybox httpd)
 * started by containerd and runc, a docker-proxy per address family, /etc/hosts and resolv.conf.
 * What bridgelab does that Docker does not: reach the host over SSH, and record every object
 * in Pulumi's state through the engine (the program, the plugin, one round trip per resource).
 */
export const DOCKER_PARALLEL = 8;

/** What one N's Docker column holds in latest.json: medians, or why it was skipped. */
export type DockerRow =
  | { skipped: string }
  | {
      version: string;
      image: string;
      storageDriver: "vfs";
      parallel: number;
      /** Runs measured (each: an up serially and one 8 at a time, a down after each). */
      runs: number;
      upSerialMs: number;
      upParallelMs: number;
      downMs: number;
    };

/** Why the Docker column cannot run here (Docker or busybox-static missing), or undefined. */
export function dockerColumnSkipReason(): string | undefined {
  return dockerMissing();
}

/** A script's time limit: 250 serial `docker run` take minutes on a loaded 2-core machine. */
const TIMEOUT_MS = 60 * 60_000;

export interface DockerHost {
  engine: SandboxDocker;
  /** Times one script run in the sandbox host (its wall time in ms); fails on a non-zero exit. */
  timed(script: string): Promise<number>;
  /** Runs a script, returns its stdout. */
  sh(script: string): Promise<string>;
  dispose(): Promise<void>;
}

/** A sandbox host (name from PREFIX) with Docker started in it. */
export async function dockerHost(prefix: string): Promise<DockerHost> {
  const box = await makeSandbox(prefix);
  let engine: SandboxDocker;
  try {
    engine = await startSandboxDocker(box.name);
  } catch (e) {
    await box.dispose();
    throw e;
  }
  const t = new SandboxTransport(box.name);
  const sh = async (script: string) => {
    const r = await t.run(script, { timeoutMs: TIMEOUT_MS });
    if (r.code !== 0) throw new CommandError(t.label, r, "bench docker");
    return r.stdout;
  };
  return {
    engine,
    sh,
    timed: async (script) => {
      const t0 = performance.now();
      await sh(script);
      return performance.now() - t0;
    },
    dispose: async () => {
      try {
        await stopSandboxDocker(box.name);
      } finally {
        await box.dispose();
      }
    },
  };
}

const docker = (args: string[]) => shJoin(dockerArgv(args));
const RUN = docker(["run", "-d", "-p", "0:80", DOCKER_IMAGE, "httpd", "-f", "-p", "80", "-h", "/www"]);

/** N containers, one `docker run` after the other. */
export function dockerUpSerialScript(n: number): string {
  return `set -e\nfor i in $(seq 1 ${n}); do ${RUN} >/dev/null; done\n`;
}

/** N containers, PARALLEL `docker run` at a time (xargs exits 123 when one failed). */
export function dockerUpParallelScript(n: number, parallel = DOCKER_PARALLEL): string {
  return `set -e\nseq 1 ${n} | xargs -P ${parallel} -I{} ${RUN} >/dev/null\n`;
}

/** Every container removed with one `docker rm -f`. */
export function dockerDownScript(): string {
  return `set -e\nids=$(${docker(["ps", "-aq"])})\n[ -z "$ids" ] || ${docker(["rm", "-f"])} $ids >/dev/null\n`;
}

/**
 * After an up: N containers running, each with a dynamic host port, a DNAT rule and its
 * docker-proxies. After a down (n = 0): no container, no DNAT rule, no docker-proxy in this
 * host. Throws naming what differs.
 */
export async function expectDockerState(h: DockerHost, n: number, what: string): Promise<void> {
  const out = await h.sh(
    [
      `echo "containers=$(${docker(["ps", "-aq"])} | wc -l)"`,
      `echo "published=$(${docker(["ps", "--format", "{{.Ports}}"])} | grep -c '0\\.0\\.0\\.0:[0-9]*->80/tcp')"`,
      `echo "dnat=$(iptables -w -t nat -S DOCKER | grep -c -- '-j DNAT')"`,
      'me=$(readlink /proc/self/ns/net); p=0; for pid in $(pgrep -x docker-proxy); do [ "$(readlink /proc/$pid/ns/net 2>/dev/null)" != "$me" ] || p=$((p + 1)); done; echo "proxies=$p"',
    ].join("\n"),
  );
  const got = Object.fromEntries(out.trim().split("\n").map((l) => l.split("=")).map(([k, v]) => [k, Number(v)]));
  const want = { containers: n, published: n, dnat: n };
  for (const [k, v] of Object.entries(want)) if (got[k] !== v) throw new Error(`docker ${what}: ${k} ${got[k]}, expected ${v} (${out.trim().replace(/\n/g, " ")})`);
  // One docker-proxy per published port and address family (two with IPv6 on the host, one without).
  if (n === 0 ? got.proxies !== 0 : got.proxies < n) throw new Error(`docker ${what}: ${got.proxies} docker-proxy processes for ${n} containers`);
}
