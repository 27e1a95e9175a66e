import { Client, ClientChannel, ConnectConfig } from "ssh2";
import { Duplex } from "node:stream";
import { HostKeyError, SshAuthError, SshCredentialError, isPermanentDialError, redact } from "./sshErrors";
import { describePresented, hostKeyAlgorithmsFor, hostKeyMatches, mismatchedHostKeyMessage, unpinnedHostKeyMessage } from "./sshHostKey";
import { ResolvedSsh, authMethods } from "./sshOptions";
import { ProxyStream, expandProxyCommand, startProxyCommand } from "./sshProxy";
import { HostUnreachableError } from "./hostErrors";
import { TransportError } from "./types";

/**
 * Dialing one SSH connection: straight over TCP, through a ProxyCommand, or through a jump
 * host (`ssh -J`): connect to the jump, open a `direct-tcpip` channel to the target
 * (forwardOut) and run the target's SSH session over that channel.
 *
 * Network failures are retried with backoff, up to `dialAttempts`, then thrown as
 * HostUnreachableError; a host key or authentication failure is never retried, and is not
 * "unreachable" (the host answered). The host key is checked during key exchange, before
 * any credential is sent.
 */

/** An established connection and what it rides on. */
export interface SshLink {
  readonly label: string;
  readonly client: Client;
  /** True once the connection (or a jump it rides on) is gone. */
  readonly closed: boolean;
  /** Why it closed, once it has. */
  readonly closeReason: string | undefined;
  /** Be told once when the connection is gone. Returns an unsubscribe function. */
  onClose(cb: (reason: string) => void): () => void;
  /** Close this connection and the jump connections below it. Idempotent. */
  close(): void;
  /** Settles when the connection and those below it are fully closed. */
  readonly whenClosed: Promise<void>;
}

/** Counts for pool statistics. */
export interface DialObserver {
  /** A connection attempt starts (jump hosts included). */
  attempt?(label: string): void;
  /** A connection is established and authenticated (jump hosts included). */
  connected?(label: string): void;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 4_000;

/** Milliseconds to wait after failed attempt `n` (1-based): 500, 1000, 2000, 4000… with ±25 % jitter. */
export function dialBackoffMs(n: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
  return Math.round(base * (0.75 + 0.5 * random()));
}

/** Dial `r`, retrying network failures. Throws a TransportError naming the host. */
export async function dialSsh(r: ResolvedSsh, obs: DialObserver = {}): Promise<SshLink> {
  let jump: SshLink | undefined;
  if (r.jump) {
    try {
      jump = await dialSsh(r.jump, obs);
    } catch (e) {
      // An unreachable jump host leaves the target unreachable; a jump host that refused us does not.
      const E = e instanceof HostUnreachableError ? HostUnreachableError : TransportError;
      throw new E(r.label, `cannot reach it through its jump host: ${(e as Error).message}`, e);
    }
  }
  try {
    return await withRetries(r, () => dialOnce(r, jump, obs));
  } catch (e) {
    jump?.close();
    throw e;
  }
}

async function withRetries(r: ResolvedSsh, attempt: () => Promise<SshLink>): Promise<SshLink> {
  const attempts = Math.max(1, r.dialAttempts);
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (isPermanentDialError(e)) throw e;
      if (n >= attempts) {
        const why = e instanceof TransportError ? e.message.slice(r.label.length + 2) : String(e);
        // A network failure (no TCP connection, the proxy command or jump could not carry one, no
        // handshake in time) is "cannot reach the host"; anything else stays a plain TransportError.
        const E = e instanceof TransportError ? HostUnreachableError : TransportError;
        throw new E(r.label, attempts > 1 ? `${why} (gave up after ${attempts} attempts)` : why, e);
      }
      await new Promise((res) => setTimeout(res, dialBackoffMs(n)));
    }
  }
}

/** One attempt: open the byte stream, run the handshake (host key check, then auth). */
async function dialOnce(r: ResolvedSsh, jump: SshLink | undefined, obs: DialObserver): Promise<SshLink> {
  obs.attempt?.(r.label);
  const secrets = [r.privateKey, r.passphrase, r.password];
  let sock: Duplex | undefined;
  let proxy: ProxyStream | undefined;
  if (jump) {
    sock = await forwardThrough(jump, r);
  } else if (r.proxyCommand) {
    proxy = startProxyCommand(expandProxyCommand(r.proxyCommand, r.host, r.port, r.user));
    sock = proxy.stream;
  }
  const proxyInfo = () => {
    if (!proxy) return "";
    const status = proxy.exitStatus();
    const tail = proxy.stderrTail();
    if (!status && !tail) return "";
    return ` (proxy command ${status ?? "running"}${tail ? `: ${redact(tail, secrets).split("\n").slice(-5).join(" | ")}` : ""})`;
  };

  const client = new Client();
  return new Promise<SshLink>((resolve, reject) => {
    let settled = false;
    let hostKeyError: HostKeyError | undefined;
    let agentProblem: string | undefined;
    const tried: string[] = [];
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      client.destroy();
      sock?.destroy();
      proxy?.kill();
      reject(e);
    };
    // A proxy command that fails usually says why on stderr as it exits: wait a moment for it.
    const failNetwork = (message: string, cause?: unknown) => {
      if (settled) return;
      if (!proxy || proxy.exitStatus()) return fail(new TransportError(r.label, message + proxyInfo(), cause));
      settled = true;
      client.destroy();
      const waited = new Promise((res) => setTimeout(res, 1000).unref());
      void Promise.race([proxy.exited, waited]).then(() => {
        proxy!.kill();
        reject(new TransportError(r.label, message + proxyInfo(), cause));
      });
    };

    client.on("error", (err: Error & { level?: string }) => {
      if (settled) return; // after ready: handled by the link
      if (err.level === "agent") {
        agentProblem = redact(err.message, secrets);
        return; // ssh2 goes on with the next method
      }
      if (hostKeyError) return fail(hostKeyError);
      if (err.level === "client-authentication") {
        return fail(new SshAuthError(r.label, r.user, tried, agentProblem ? `agent: ${agentProblem}` : undefined));
      }
      failNetwork(`cannot connect: ${redact(err.message, secrets)}`, err);
    });
    client.on("close", () => {
      if (hostKeyError) return fail(hostKeyError);
      failNetwork("connection closed during the SSH handshake");
    });
    client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
      finish(prompts.map(() => r.password ?? ""));
    });
    client.on("ready", () => {
      settled = true;
      obs.connected?.(r.label);
      resolve(makeLink(r.label, client, jump));
    });

    const offered = authMethods(r);
    const cfg: ConnectConfig = {
      host: r.host,
      port: r.port,
      username: r.user,
      privateKey: r.privateKey,
      passphrase: r.passphrase,
      password: r.password,
      agent: r.agent,
      tryKeyboard: r.password !== undefined,
      sock,
      readyTimeout: r.readyTimeoutMs,
      keepaliveInterval: r.keepaliveIntervalMs,
      keepaliveCountMax: r.keepaliveCountMax,
      hostVerifier: (key: Buffer): boolean => {
        if (r.insecureSkipHostKeyCheck) return true;
        const presented = describePresented(key);
        if (r.pin && hostKeyMatches(r.pin, key)) return true;
        const message = r.pin ? mismatchedHostKeyMessage(r.pin, presented) : unpinnedHostKeyMessage(presented);
        hostKeyError = new HostKeyError(r.label, message, presented.fingerprint, presented.keyType);
        return false;
      },
      authHandler: (authsLeft, _partial, next) => {
        void next;
        // publickey and agent both authenticate as "publickey" on the server.
        const serverSide = (m: string) => (m === "agent" ? "publickey" : m);
        while (offered.length) {
          const m = offered.shift()!;
          if (authsLeft && !authsLeft.includes(serverSide(m) as never)) continue;
          tried.push(m);
          return m as never;
        }
        return false as never;
      },
    };
    const algorithms = hostKeyAlgorithmsFor(r.pin);
    if (algorithms && !r.insecureSkipHostKeyCheck) cfg.algorithms = { serverHostKey: algorithms as never };
    try {
      client.connect(cfg);
    } catch (e) {
      // ssh2 parses the key in connect(): a missing or wrong passphrase, or not a key at all.
      fail(new SshCredentialError(r.label, `cannot use connection.privateKey: ${redact((e as Error).message, secrets)}`));
    }
  });
}

/** Open a direct-tcpip channel from the jump host to the target (`ssh -W host:port`). */
function forwardThrough(jump: SshLink, r: ResolvedSsh): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const failed = (why: string) =>
      reject(new TransportError(r.label, `jump host ${jump.label} could not open a connection to ${r.host}:${r.port}: ${why}`));
    if (jump.closed) return failed(`the jump connection is gone (${jump.closeReason})`);
    try {
      jump.client.forwardOut("127.0.0.1", 0, r.host, r.port, (err: Error | undefined, ch: ClientChannel) => {
        if (err) return failed(err.message);
        resolve(ch);
      });
    } catch (e) {
      failed((e as Error).message);
    }
  });
}

function makeLink(label: string, client: Client, jump: SshLink | undefined): SshLink {
  const listeners = new Set<(reason: string) => void>();
  let closed = false;
  let reason: string | undefined;
  let lastError: string | undefined;
  const markClosed = (why: string) => {
    if (closed) return;
    closed = true;
    reason = why;
    for (const l of [...listeners]) l(why);
    listeners.clear();
    jump?.close();
  };
  client.on("error", (err: Error) => {
    lastError = err.message;
  });
  const ownClose = new Promise<void>((res) => client.once("close", () => res()));
  const whenClosed = Promise.all([ownClose, jump?.whenClosed]).then(() => undefined);
  client.on("end", () => markClosed(lastError ?? "the server closed the connection"));
  client.on("close", () => markClosed(lastError ?? "the connection closed"));
  const unsubscribeJump = jump?.onClose((why) => markClosed(`jump host ${jump.label} lost: ${why}`));
  return {
    label,
    client,
    whenClosed,
    get closed() {
      return closed;
    },
    get closeReason() {
      return reason;
    },
    onClose(cb) {
      if (closed) {
        cb(reason!);
        return () => undefined;
      }
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    close() {
      unsubscribeJump?.();
      if (!closed) {
        client.end();
        const t = setTimeout(() => client.destroy(), 3000);
        t.unref();
        client.once("close", () => clearTimeout(t));
      }
      markClosed(reason ?? "closed by bridgelab");
    },
  };
}
