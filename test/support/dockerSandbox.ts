import { dockerMissing, startSandboxDocker, stopSandboxDocker, type SandboxDocker, type StartSandboxDockerOptions } from "../../provider/sandbox/sandboxDocker";
import { dockerArgv } from "../../provider/sandbox/sandboxDockerScripts";
import { shJoin } from "../../provider/host/quote";
import { SandboxTransport } from "../../provider/transport/sandbox";
import type { ExecResult } from "../../provider/transport/types";
import { meaningfulIptables } from "./hostSnapshot";
import { makeSandbox } from "./sandboxFixture";

/**
 * A sandbox host with real Docker running inside it (provider/sandbox/sandboxDocker.ts), for
 * the tests that compare bridgelab with Docker. Without Docker on the machine those tests are
 * skipped, and the skipped test's title says why (test/support/summaryReporter.js names it in
 * the run's summary): CI installs docker.io and busybox-static, so there they run.
 */
export type DockerBox = Awaited<ReturnType<typeof makeSandbox>> & {
  engine: SandboxDocker;
  /** `/usr/bin/docker ARGS…` inside the sandbox host: its exit status and output. */
  docker(...args: string[]): Promise<ExecResult>;
  /** The same, failing the test on a non-zero exit; its stdout, trimmed. */
  dockerOk(...args: string[]): Promise<string>;
};

/** Why the Docker tests cannot run here, or undefined when they can. */
export const dockerSkipReason: string | undefined = dockerMissing();

/** `describe`, or one skipped test saying why when Docker is not installed. */
export function describeWithDocker(title: string, body: () => void): void {
  if (dockerSkipReason) describe(title, () => it.skip(`skipped: ${dockerSkipReason}`, () => undefined));
  else describe(title, body);
}

/** A fresh sandbox host (unique name from PREFIX) with Docker started in it; `dispose` stops Docker and deletes the host. */
export async function makeDockerSandbox(prefix: string, opts: StartSandboxDockerOptions = {}): Promise<DockerBox> {
  const box = await makeSandbox(prefix);
  let engine: SandboxDocker;
  try {
    engine = await startSandboxDocker(box.name, undefined, opts);
  } catch (e) {
    await box.dispose();
    throw e;
  }
  const t = new SandboxTransport(box.name);
  const docker = (...args: string[]) => t.run(shJoin(dockerArgv(args)), { timeoutMs: 120_000 });
  return {
    ...box,
    engine,
    docker,
    dockerOk: async (...args: string[]) => {
      const r = await docker(...args);
      if (r.code !== 0) throw new Error(`docker ${args.join(" ")} on ${box.name} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout.trim();
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

/**
 * What Docker could leave in a sandbox host, comparable with `toEqual`: links, addresses and
 * routes (`ip -j`), the iptables rules, non-built-in chains and policies other than ACCEPT
 * (`iptables-save`; the empty built-in tables Docker's first rule creates cannot be removed
 * with iptables-nft, and hold nothing), ip_forward and bridge-nf-call-iptables, every other
 * net sysctl (a checksum), the names in /run and the sandbox's mount points (but the sandbox
 * roots', /run/bridgelab/…: copies of the machine's, where other runs' sandbox hosts come and go).
 */
export async function dockerHostState(box: Pick<DockerBox, "sh">): Promise<Record<string, string[]>> {
  const out = await box.sh(
    [
      "echo @links; ip -j link show | tr -d '\\n'; echo",
      "echo @addrs; ip -j -4 addr show | tr -d '\\n'; echo",
      "echo @routes; ip -j -4 route show table all | tr -d '\\n'; echo",
      "echo @iptables; iptables-save | grep -v '^#' | sed 's/ \\[[0-9]*:[0-9]*\\]$//'",
      "echo @sysctls; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables",
      "sysctl -a 2>/dev/null | grep '^net\\.' | grep -v -E 'nf_conntrack_count|stat|random' | md5sum",
      "echo @run; ls -A /run",
      // Not the sandbox roots' mounts (copies of the machine's, from when the sandbox host was made: other runs' sandbox hosts come and go there).
      "echo @mounts; awk '$5 !~ /^\\/run\\/bridgelab\\// { print $5 }' /proc/self/mountinfo",
    ].join("\n"),
  );
  const s: Record<string, string[]> = {};
  let key = "";
  for (const line of out.split("\n")) {
    if (line.startsWith("@")) s[(key = line.slice(1))] = [];
    else if (key && line) s[key].push(line);
  }
  s.iptables = meaningfulIptables(s.iptables);
  const strip = (json: string, keys: string[]) => JSON.stringify(JSON.parse(json || "[]"), (k, v) => (keys.includes(k) ? undefined : v));
  // Counters and the kernel's bookkeeping of a link differ between two reads; what a link is does not.
  s.links = [strip(s.links[0], ["stats", "stats64", "txqlen", "operstate", "linkmode", "group", "link_index"])];
  return s;
}
