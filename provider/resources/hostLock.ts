import type { HostConnection } from "../transport/connection";
import type { Transport } from "../transport/types";
import { connectionIdentity, onHost } from "./contract";

/**
 * Scripts that take the host-wide lock (`flock /run/bridgelab.lock`: every iptables edit of
 * PortPublish, Egress and BridgeIsolation) are let out to a host at most IN_FLIGHT at a time
 * from this process.
 *
 * They are serialized on the host anyway, but a script waiting there for the lock still
 * holds one of the connection's few SSH channels (MAX_CHANNELS in sshPool.ts): 250 port
 * mappings created at once filled every channel with waiters, and the namespaces and veths
 * that could have run alongside queued behind them. Two in flight keep the lock busy (the
 * next script is already waiting on the host when the lock is released, no round trip in
 * between) and leave the other channels free; the flock still orders this process against
 * other processes.
 */
export const IN_FLIGHT = 2;

interface HostQueue {
  running: number;
  waiting: Array<() => void>;
}
const queues = new Map<string, HostQueue>();

/** Run `fn` once fewer than IN_FLIGHT earlier ones queued under `key` are running (first come, first served). */
export async function inHostQueue<T>(key: string, fn: () => Promise<T>): Promise<T> {
  let q = queues.get(key);
  if (!q) queues.set(key, (q = { running: 0, waiting: [] }));
  const queue = q;
  if (queue.running >= IN_FLIGHT) await new Promise<void>((resolve) => queue.waiting.push(resolve));
  else queue.running++;
  try {
    return await fn();
  } finally {
    const next = queue.waiting.shift();
    // The slot passes straight to the next waiter; the last one out forgets the host.
    if (next) next();
    else if (--queue.running === 0) queues.delete(key);
  }
}

/** How many hosts have lock-taking scripts queued or running (for leak checks). */
export function hostQueueCount(): number {
  return queues.size;
}

/** `t` with every run in the queue of host `key`. */
export function queued(t: Transport, key: string): Transport {
  return {
    label: t.label,
    close: () => t.close(),
    run: (script, opts) => inHostQueue(key, () => t.run(script, opts)),
  };
}

/** onHost, with every run of `fn` in the host's queue. */
export function onHostLocked<T>(c: HostConnection, fn: (t: Transport) => Promise<T>): Promise<T> {
  const key = connectionIdentity(c);
  return onHost(c, (t) => fn(queued(t, key)));
}
