import { portPublishBatchCreateScript, portPublishBatchDeleteScript, splitBatchOutput } from "../host/portPublishBatchScripts";
import { PlacedMapping, PublishSpec, portPublishCreateScript, portPublishDeleteScript } from "../host/portPublishScripts";
import type { ExecResult, Transport } from "../transport/types";
import { inHostQueue } from "./hostLock";

/**
 * PortPublish creates (and deletes) that wait for the same host are written together: when
 * the host's lock slot (hostLock.ts) comes free, every create queued for that host by then —
 * up to MAX_BATCH — goes in one script (portPublishBatchScripts.ts: one lock, one
 * iptables-save, one iptables-restore), and each caller gets the answer the single script
 * would have given it. A lone one runs the single script, unchanged. While one batch runs,
 * the next one gathers.
 *
 * Why: a lab's port mappings are created at once (one per container), and each needs the
 * host-wide lock. One locked script per mapping, one after the other, was the longest chain
 * of `up` and `destroy` at 250 containers.
 */
export const MAX_BATCH = 64;

interface Item<S> {
  spec: S;
  /** The caller's transport (not queued: the batch already holds the host's slot). Open while the caller waits. */
  t: Transport;
  resolve(r: ExecResult): void;
  reject(e: unknown): void;
}

interface Kind<S> {
  single(spec: S): string;
  batch(specs: S[]): string;
}

interface Pending<S> {
  items: Item<S>[];
  running: boolean;
}

const CREATE: Kind<PublishSpec> = { single: portPublishCreateScript, batch: portPublishBatchCreateScript };
const DELETE: Kind<PlacedMapping> = { single: portPublishDeleteScript, batch: portPublishBatchDeleteScript };

const queues = new Map<string, Pending<unknown>>();

/** Run portPublishCreateScript(spec) on the host (`key`: connectionIdentity), batched with other creates queued for it. */
export function createInBatch(t: Transport, key: string, spec: PublishSpec): Promise<ExecResult> {
  return enqueue(CREATE, `create ${key}`, key, t, spec);
}

/** Run portPublishDeleteScript(m) on the host, batched with other deletes queued for it. */
export function deleteInBatch(t: Transport, key: string, m: PlacedMapping): Promise<ExecResult> {
  return enqueue(DELETE, `delete ${key}`, key, t, m);
}

/** Queues with work waiting or running (for leak checks). */
export function batchQueueCount(): number {
  return queues.size;
}

function enqueue<S>(kind: Kind<S>, qkey: string, host: string, t: Transport, spec: S): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    let q = queues.get(qkey) as Pending<S> | undefined;
    if (!q) queues.set(qkey, (q = { items: [], running: false }) as Pending<unknown>);
    q.items.push({ spec, t, resolve, reject });
    kick(kind, qkey, host, q);
  });
}

function kick<S>(kind: Kind<S>, qkey: string, host: string, q: Pending<S>): void {
  if (q.running || q.items.length === 0) return;
  q.running = true;
  void inHostQueue(host, () => runBatch(kind, q.items.splice(0, MAX_BATCH))).finally(() => {
    q.running = false;
    if (q.items.length > 0) kick(kind, qkey, host, q);
    else if (queues.get(qkey) === (q as Pending<unknown>)) queues.delete(qkey);
  });
}

async function runSingle<S>(kind: Kind<S>, it: Item<S>): Promise<void> {
  try {
    it.resolve(await it.t.run(kind.single(it.spec)));
  } catch (e) {
    it.reject(e);
  }
}

/** Never throws: every item is resolved or rejected. */
async function runBatch<S>(kind: Kind<S>, items: Item<S>[]): Promise<void> {
  if (items.length === 1) return runSingle(kind, items[0]);
  let r: ExecResult;
  try {
    r = await items[0].t.run(kind.batch(items.map((i) => i.spec)));
  } catch (e) {
    // No answer at all (connection lost, timeout): each caller fails as its single script would.
    for (const it of items) it.reject(e);
    return;
  }
  const parts = splitBatchOutput(r.stdout, items.length);
  const unanswered: Item<S>[] = [];
  items.forEach((it, i) => {
    const p = parts[i];
    if (p.code === undefined) unanswered.push(it);
    else it.resolve({ command: r.command, code: p.code, stdout: p.stdout, stderr: p.code === 0 ? "" : r.stderr });
  });
  // The batch failed before answering these (a create's restore failed and was undone, say):
  // one by one, so each gets its own error, or goes through if another mapping was the trouble.
  for (const it of unanswered) await runSingle(kind, it);
}
