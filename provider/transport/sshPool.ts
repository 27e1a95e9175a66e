import { createHmac, randomBytes } from "node:crypto";
import { SshLink, dialSsh } from "./sshDial";
import { ResolvedSsh } from "./sshOptions";

/**
 * One SSH connection per host, shared by every transport in the process.
 *
 * The Pulumi dynamic-provider plugin loads one copy of the provider module per distinct
 * serialized provider, so module-level state would give each resource its own pool. The
 * pool therefore lives on `globalThis[Symbol.for("bridgelab.sshPool.v1")]`, created on
 * first use (never at module load). Its shape is versioned in the symbol name.
 *
 * - Key: `user@host:port`, the host key trust (pinned fingerprint, unpinned or insecure),
 *   an HMAC of the credentials under a random per-process salt (the secret itself is never
 *   stored or printed), and the route (proxy command hash, jump chain).
 * - Concurrent first uses share one dial. A failed dial is forgotten, so the next use dials
 *   again.
 * - At most MAX_CHANNELS commands run at once on a connection (OpenSSH's MaxSessions
 *   defaults to 10; two are left for the kill channel of a timed-out command); more wait.
 * - A dropped connection is evicted: runs in flight on it fail, the next run re-dials.
 * - A connection with nothing running is closed after its idle timeout; once no open
 *   transport holds it, after LINGER_MS. Timers are unref'd.
 */

const MAX_CHANNELS = 8;
const LINGER_MS = 1_000;
const CLOSE_WAIT_MS = 5_000;

export interface SshPoolStats {
  /** Connection attempts, jump hosts included. */
  dialAttempts: number;
  /** Connections established (authenticated), jump hosts included. */
  dials: number;
  /** Commands started. */
  runs: number;
  /** Pooled connections currently open. */
  open: number;
}

interface PoolEntry {
  key: string;
  link?: SshLink;
  dialing?: Promise<SshLink>;
  /** Runs using or waiting for this connection. */
  active: number;
  /** Channels in use. */
  channels: number;
  queue: (() => void)[];
  idleTimer?: NodeJS.Timeout;
  idleTimeoutMs: number;
}

interface PoolState {
  salt: Buffer;
  entries: Map<string, PoolEntry>;
  /** Open transports per key. */
  holders: Map<string, number>;
  stats: Omit<SshPoolStats, "open">;
}

function poolState(): PoolState {
  const g = globalThis as unknown as Record<symbol, PoolState | undefined>;
  const sym = Symbol.for("bridgelab.sshPool.v1");
  let p = g[sym];
  if (!p) {
    p = { salt: randomBytes(32), entries: new Map(), holders: new Map(), stats: { dialAttempts: 0, dials: 0, runs: 0 } };
    g[sym] = p;
  }
  return p;
}

/**
 * The pool key of a resolved connection. Contains no secret: credentials and the proxy
 * command enter only through an HMAC keyed with `salt`.
 */
export function sshPoolKey(r: ResolvedSsh, salt: Buffer): string {
  const mac = (s: string) => createHmac("sha256", salt).update(s).digest("base64url").slice(0, 22);
  const host = r.host.includes(":") ? `[${r.host}]` : r.host;
  const trust = r.insecureSkipHostKeyCheck ? "insecure" : r.pin ? r.pin.fingerprint : "unpinned";
  const creds = mac(JSON.stringify([r.privateKey ?? null, r.passphrase ?? null, r.password ?? null, r.agent ?? null]));
  const route = r.jump ? ` via(${sshPoolKey(r.jump, salt)})` : r.proxyCommand ? ` proxy#${mac(r.proxyCommand)}` : "";
  return `${r.user}@${host}:${r.port} hostkey=${trust} creds#${creds}${route}`;
}

/** Fingerprint of a key for logs: short, stable within the process, no secret. */
export function sshPoolKeyOf(r: ResolvedSsh): string {
  return sshPoolKey(r, poolState().salt);
}

/**
 * Run `fn` with the pooled connection for `r`, dialing it if needed, holding one of its
 * channel slots for the duration.
 */
export async function withPooledSsh<T>(r: ResolvedSsh, fn: (link: SshLink) => Promise<T>): Promise<T> {
  const pool = poolState();
  const key = sshPoolKey(r, pool.salt);
  for (let attempt = 0; ; attempt++) {
    const entry = entryFor(pool, key, r);
    entry.active++;
    clearIdle(entry);
    try {
      const link = await linkOf(pool, entry, r);
      await takeChannel(entry);
      try {
        // Lost before this run started: nothing ran, so dialing again is safe (once).
        if (link.closed && attempt === 0) continue;
        pool.stats.runs++;
        return await fn(link);
      } finally {
        giveChannel(entry);
      }
    } finally {
      entry.active--;
      scheduleIdle(pool, entry);
    }
  }
}

/** Note that a transport for `r` is open (it keeps the connection for the idle timeout). */
export function holdSsh(r: ResolvedSsh): void {
  const pool = poolState();
  const key = sshPoolKey(r, pool.salt);
  pool.holders.set(key, (pool.holders.get(key) ?? 0) + 1);
}

/** A transport for `r` closed: once none holds the connection and none runs, it closes soon. */
export function releaseSsh(r: ResolvedSsh): void {
  const pool = poolState();
  const key = sshPoolKey(r, pool.salt);
  const n = (pool.holders.get(key) ?? 0) - 1;
  if (n > 0) pool.holders.set(key, n);
  else pool.holders.delete(key);
  const entry = pool.entries.get(key);
  if (entry) scheduleIdle(pool, entry);
}

function entryFor(pool: PoolState, key: string, r: ResolvedSsh): PoolEntry {
  const existing = pool.entries.get(key);
  if (existing && !existing.link?.closed) return existing;
  const entry: PoolEntry = { key, active: 0, channels: 0, queue: [], idleTimeoutMs: r.idleTimeoutMs };
  pool.entries.set(key, entry);
  return entry;
}

function linkOf(pool: PoolState, entry: PoolEntry, r: ResolvedSsh): Promise<SshLink> {
  if (entry.link) return Promise.resolve(entry.link);
  entry.dialing ??= dialSsh(r, {
    attempt: () => void pool.stats.dialAttempts++,
    connected: () => void pool.stats.dials++,
  }).then(
    (link) => {
      entry.link = link;
      entry.dialing = undefined;
      link.onClose(() => {
        clearIdle(entry);
        if (pool.entries.get(entry.key) === entry) pool.entries.delete(entry.key);
      });
      return link;
    },
    (e) => {
      entry.dialing = undefined;
      if (pool.entries.get(entry.key) === entry) pool.entries.delete(entry.key);
      throw e;
    },
  );
  return entry.dialing;
}

function takeChannel(entry: PoolEntry): Promise<void> {
  if (entry.channels < MAX_CHANNELS) {
    entry.channels++;
    return Promise.resolve();
  }
  return new Promise((resolve) => entry.queue.push(resolve)); // the slot is handed over as is
}

function giveChannel(entry: PoolEntry): void {
  const next = entry.queue.shift();
  if (next) next();
  else entry.channels--;
}

function clearIdle(entry: PoolEntry): void {
  if (entry.idleTimer) clearTimeout(entry.idleTimer);
  entry.idleTimer = undefined;
}

function scheduleIdle(pool: PoolState, entry: PoolEntry): void {
  clearIdle(entry);
  if (entry.active > 0 || !entry.link || entry.link.closed) return;
  const held = (pool.holders.get(entry.key) ?? 0) > 0;
  const ms = held ? entry.idleTimeoutMs : Math.min(LINGER_MS, entry.idleTimeoutMs);
  entry.idleTimer = setTimeout(() => {
    if (entry.active > 0) return;
    if (pool.entries.get(entry.key) === entry) pool.entries.delete(entry.key);
    entry.link?.close();
  }, ms);
  entry.idleTimer.unref();
}

/** Counters since the process started (or since the pool was first used). */
export function sshPoolStats(): SshPoolStats {
  const pool = poolState();
  let open = 0;
  for (const e of pool.entries.values()) if (e.link && !e.link.closed) open++;
  return { ...pool.stats, open };
}

/** Open transports holding a connection (holdSsh not yet matched by releaseSsh): 0 once every transport is closed. */
export function sshPoolHolders(): number {
  let n = 0;
  for (const h of poolState().holders.values()) n += h;
  return n;
}

/**
 * Close every pooled connection (commands still running on them fail with "connection
 * lost") and wait, up to a few seconds, until they are closed. Tests and the CLI call this
 * before exiting.
 */
export async function closeAllSshConnections(): Promise<void> {
  const pool = poolState();
  const entries = [...pool.entries.values()];
  pool.entries.clear();
  pool.holders.clear();
  const links: SshLink[] = [];
  for (const e of entries) {
    clearIdle(e);
    if (e.link) links.push(e.link);
    else if (e.dialing) {
      const l = await e.dialing.catch(() => undefined);
      if (l) links.push(l);
    }
  }
  await Promise.all(links.map((l) => closeAndWait(l)));
}

function closeAndWait(link: SshLink): Promise<void> {
  link.close();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, CLOSE_WAIT_MS);
    t.unref();
    void link.whenClosed.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
