import { isIP } from "node:net";
import { SshConnection } from "./connection";
import { HostKeyPin, parseHostKeyPin } from "./sshHostKey";

/**
 * An SshConnection with its defaults applied, plus the label every message uses. Pure:
 * reads only the environment it is given (for `$SSH_AUTH_SOCK`).
 */
export interface ResolvedSsh {
  /** `ssh:user@host:port`: names the host in every message. */
  label: string;
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
  agent?: string;
  /** Undefined when nothing is pinned. */
  pin?: HostKeyPin;
  insecureSkipHostKeyCheck: boolean;
  jump?: ResolvedSsh;
  proxyCommand?: string;
  sudo: boolean;
  readyTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  dialAttempts: number;
  idleTimeoutMs: number;
}

export const SSH_DEFAULTS = {
  port: 22,
  user: "root",
  readyTimeoutMs: 20_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  dialAttempts: 3,
  idleTimeoutMs: 10_000,
} as const;

export const SSH_HOST_RULE = "a DNS name (letters, digits, '-', '_' and dots) or an IPv4/IPv6 address";
export const SSH_USER_RULE = "1–64 characters: letters, digits, '_', '.' and '-', not starting with '-'";

export function isSshHost(host: string): boolean {
  if (isIP(host)) return true;
  return host.length <= 253 && /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(host);
}

export function isSshUser(user: string): boolean {
  return /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/.test(user);
}

/** `ssh:admin@10.0.0.5:22`, `ssh:root@[fd00::1]:22`. Contains no secret. */
export function sshLabel(c: Pick<SshConnection, "host" | "port" | "user">): string {
  const host = isIP(c.host) === 6 ? `[${c.host}]` : c.host;
  return `ssh:${c.user ?? SSH_DEFAULTS.user}@${host}:${c.port ?? SSH_DEFAULTS.port}`;
}

/** The label plus the route: `ssh:root@10.0.0.5:22 via ssh:admin@bastion:22`. */
export function describeSsh(c: SshConnection): string {
  let s = sshLabel(c);
  if (c.jumpHost) s += ` via ${describeSsh(c.jumpHost)}`;
  else if (c.proxyCommand) s += " via proxyCommand";
  return c.sudo ? s + " (sudo)" : s;
}

/**
 * Apply defaults. Throws on a host key pin that does not parse (checkConnection reports
 * that, and everything else, earlier and with all problems at once).
 */
export function resolveSsh(c: SshConnection, env: NodeJS.ProcessEnv = process.env): ResolvedSsh {
  const label = sshLabel(c);
  let pin: HostKeyPin | undefined;
  if (c.hostKey !== undefined && c.hostKey !== "") {
    try {
      pin = parseHostKeyPin(c.hostKey);
    } catch (e) {
      throw new Error(`${label}: connection.hostKey: ${(e as Error).message}`);
    }
  }
  const agent = c.agent || (!c.privateKey && !c.password ? env.SSH_AUTH_SOCK || undefined : undefined);
  return {
    label,
    host: c.host,
    port: c.port ?? SSH_DEFAULTS.port,
    user: c.user ?? SSH_DEFAULTS.user,
    privateKey: c.privateKey || undefined,
    passphrase: c.passphrase || undefined,
    password: c.password ?? undefined,
    agent,
    pin,
    insecureSkipHostKeyCheck: c.insecureSkipHostKeyCheck === true,
    jump: c.jumpHost ? resolveSsh(c.jumpHost, env) : undefined,
    proxyCommand: c.proxyCommand || undefined,
    sudo: c.sudo === true,
    readyTimeoutMs: c.readyTimeoutMs ?? SSH_DEFAULTS.readyTimeoutMs,
    keepaliveIntervalMs: c.keepaliveIntervalMs ?? SSH_DEFAULTS.keepaliveIntervalMs,
    keepaliveCountMax: c.keepaliveCountMax ?? SSH_DEFAULTS.keepaliveCountMax,
    dialAttempts: c.dialAttempts ?? SSH_DEFAULTS.dialAttempts,
    idleTimeoutMs: c.idleTimeoutMs ?? SSH_DEFAULTS.idleTimeoutMs,
  };
}

/** The authentication methods that will be offered, in order. */
export function authMethods(r: Pick<ResolvedSsh, "privateKey" | "agent" | "password">): string[] {
  const m: string[] = [];
  if (r.privateKey) m.push("publickey");
  if (r.agent) m.push("agent");
  if (r.password !== undefined) m.push("password", "keyboard-interactive");
  return m;
}
