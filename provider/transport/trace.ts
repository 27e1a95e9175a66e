import * as fs from "node:fs";
import { ExecResult, RunOptions, Transport } from "./types";

/**
 * When BRIDGELAB_TRACE_FILE is set, every remote run appends one JSON line to it:
 * {"host":"sandbox:lab","ms":12,"code":0,"script":"<first line>"}. Tests use it to prove
 * that an unchanged resource makes no remote call; benchmarks count round trips with it.
 * Appends of one short line are atomic, so concurrent plugin calls don't interleave.
 */
export function traced(t: Transport): Transport {
  const file = process.env.BRIDGELAB_TRACE_FILE;
  if (!file) return t;
  return {
    label: t.label,
    close: () => t.close(),
    async run(script: string, opts?: RunOptions): Promise<ExecResult> {
      const start = Date.now();
      let code = -1;
      try {
        const r = await t.run(script, opts);
        code = r.code;
        return r;
      } finally {
        const first = script.split("\n").find((l) => l.trim() && !l.startsWith("set ")) ?? "";
        fs.appendFileSync(file, JSON.stringify({ host: t.label, ms: Date.now() - start, code, script: first.slice(0, 160) }) + "\n");
      }
    },
  };
}

/**
 * When BRIDGELAB_DEBUG_HANDLES_FILE is set, every host operation (onHost) appends, once its
 * transport is closed, one JSON line with what this process then holds:
 * {"pid":123,"fds":24,"sockets":3,"pipes":6,"sshOpen":1,"sshDials":1,"sshHeld":0} (sshHeld: SSH
 * transports opened and not yet closed, by this and concurrent operations). The soak test reads
 * it to find file descriptors, transports or SSH connections that outlive the plugin's
 * operations. Unset (the default): nothing is read or written.
 */
export function recordHandles(): void {
  const file = process.env.BRIDGELAB_DEBUG_HANDLES_FILE;
  if (!file) return;
  let fds = 0, sockets = 0, pipes = 0;
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    let target = "";
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the directory's own fd, closed by now
    }
    fds++;
    if (target.startsWith("socket:")) sockets++;
    else if (target.startsWith("pipe:")) pipes++;
  }
  // Required here, not at the top: tracing alone must not load the SSH stack.
  const { sshPoolHolders, sshPoolStats } = require("./sshPool") as typeof import("./sshPool");
  const ssh = sshPoolStats();
  fs.appendFileSync(file, JSON.stringify({ pid: process.pid, fds, sockets, pipes, sshOpen: ssh.open, sshDials: ssh.dials, sshHeld: sshPoolHolders() }) + "\n");
}
