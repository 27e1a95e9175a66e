import { portPublishBatchCreateScript, splitBatchOutput } from "../host/portPublishBatchScripts";
import { PublishSpec, portPublishCreateScript } from "../host/portPublishScripts";
import type { ExecResult, Transport } from "../transport/types";
import { inHostQueue } from "./hostLock";

/**
 * PortPublish creates that wait for the same host are written together: when the host's
 * lock slot (hostLock.ts) comes free, every create queued for that host by then — up to
 * MAX_BATCH — goes in one script (portPublishBatchScripts.ts: one lock, one iptables-save,
 * one iptables-restore), and each caller gets the answer the single create script would have
 * given it. A lone create runs the single script, unchanged. While one batch runs, the next
 * one gathers.
 *
 * Measured on the bench lab (N = 250, one port each): the creates were the longest chain of
 * `up`, one locked script after another; batched, they take a few scripts.
 */
export const MAX_BATCH = 64;

interface Item {
  spec: PublishSpec;
  /** The caller's transport (not queued: the batch already holds the host's slot). Open while the caller waits. */
  t: Transport;
  resolve(r: ExecResult): void;
  reject(e: unknown): void;
}

interface HostBatches {
  pending: Item[];
  running: boolean;
}

const hosts = new Map<string, HostBatches>();

/** Run portPublishCreateScript(spec) on the host, batched with other creates queued for it (`key`: connectionIdentity). */
export function createInBatch(t: Transport, key: string, spec: PublishSpec): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    let h = hosts.get(key);
    if (!h) hosts.set(key, (h = { pending: [], running: false }));
    h.pending.push({ spec, t, resolve, reject });
    kick(key, h);
  });
}

/** Hosts with creates queued or running (for leak checks). */
export function batchedHostCount(): number {
  return hosts.size;
}

function kick(key: string, h: HostBatches): void {
  if (h.running || h.pending.length === 0) return;
  h.running = true;
  void inHostQueue(key, () => runBatch(h.pending.splice(0, MAX_BATCH))).finally(() => {
    h.running = false;
    if (h.pending.length > 0) kick(key, h);
    else if (hosts.get(key) === h) hosts.delete(key);
  });
}

async function runSingle(it: Item): Promise<void> {
  try {
    it.resolve(await it.t.run(portPublishCreateScript(it.spec)));
  } catch (e) {
    it.reject(e);
  }
}

/** Never throws: every item is resolved or rejected. */
async function runBatch(items: Item[]): Promise<void> {
  if (items.length === 1) return runSingle(items[0]);
  let r: ExecResult;
  try {
    r = await items[0].t.run(portPublishBatchCreateScript(items.map((i) => i.spec)));
  } catch (e) {
    // No answer at all (connection lost, timeout): each caller fails as its single script would.
    for (const it of items) it.reject(e);
    return;
  }
  const parts = splitBatchOutput(r.stdout, items.length);
  const unanswered: Item[] = [];
  items.forEach((it, i) => {
    const p = parts[i];
    if (p.code === undefined) unanswered.push(it);
    else it.resolve({ command: portPublishCreateScript(it.spec), code: p.code, stdout: p.stdout, stderr: p.code === 0 ? "" : r.stderr });
  });
  // The batch's restore failed (its undo ran; those mappings are not on the host): one by one,
  // so each gets its own error, or goes in if another mapping's rule was the trouble.
  for (const it of unanswered) await runSingle(it);
}
