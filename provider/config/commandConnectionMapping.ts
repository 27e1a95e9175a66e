import type { SshConnection } from "../transport/connection";
import { checkConnection } from "../transport/connectionCheck";

/**
 * @pulumi/command's `remote.ConnectionArgs` → bridgelab's SshConnection, field by field. Pure:
 * no Pulumi, no I/O (sshFromCommandConnection.ts does the Outputs). @pulumi/command 1.x:
 *
 *   host, port, user, password, privateKey   same name, same meaning (defaults 22 and "root" in both)
 *   privateKeyPassword                        passphrase
 *   agentSocketPath                           agent
 *   hostKey                                   hostKey (a public key line: remote.Command verifies it too)
 *   proxy { …the fields above… }              jumpHost (like `ssh -J`: bridgelab tunnels through it)
 *   dialErrorLimit N                          dialAttempts N + 1 (remote.Command gives up after N
 *                                             failed dials plus one: N errors are allowed)
 *   perDialTimeout S                          readyTimeoutMs S × 1000 (remote.Command bounds the TCP
 *                                             connect; bridgelab bounds connect, handshake and login)
 *
 * What has no equivalent is refused, naming the field: dialErrorLimit -1 (retry forever),
 * perDialTimeout 0 (no time limit), a field this bridgelab does not know. remote.Command skips
 * host key verification without hostKey; bridgelab never does, so a connection without one
 * needs `options.hostKey` or an explicit `options.insecureSkipHostKeyCheck`.
 */

/** The fields of remote.ConnectionArgs, as plain values. */
export interface CommandConnectionValues extends CommandProxyValues {
  proxy?: CommandProxyValues;
}

/** The fields of remote.ProxyConnectionArgs, as plain values. */
export interface CommandProxyValues {
  host: string;
  port?: number;
  user?: string;
  password?: string;
  privateKey?: string;
  privateKeyPassword?: string;
  agentSocketPath?: string;
  hostKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
}

/** What a remote.Command connection cannot say and bridgelab needs, or may want. */
export interface CommandMappingValues {
  /**
   * The host's key, when the connection has no hostKey: a public key line or its `SHA256:`
   * fingerprint (`ssh-keygen -lf`). Only bridgelab checks it; a key line in the connection's
   * own hostKey is checked by remote.Command too.
   */
  hostKey?: string;
  /** The same for the proxy (jump host), when `proxy.hostKey` is not set. */
  proxyHostKey?: string;
  /** Skip host key verification for the host and its proxy (throwaway hosts only). @default false */
  insecureSkipHostKeyCheck?: boolean;
  /** Run bridgelab's scripts through `sudo -n`. @default true unless the user is root */
  sudo?: boolean;
}

export const COMMAND_CONNECTION_FIELDS = [
  "host",
  "port",
  "user",
  "password",
  "privateKey",
  "privateKeyPassword",
  "agentSocketPath",
  "hostKey",
  "dialErrorLimit",
  "perDialTimeout",
  "proxy",
] as const;
const PROXY_FIELDS = COMMAND_CONNECTION_FIELDS.filter((f) => f !== "proxy");
const OPTION_FIELDS = ["hostKey", "proxyHostKey", "insecureSkipHostKeyCheck", "sudo"];

/** bridgelab allows 1–100 dials (connectionCheck.ts), so remote.Command's limit may be 0–99. */
export const MAX_DIAL_ERROR_LIMIT = 99;
/** bridgelab's readyTimeoutMs is at most 600 000 ms. */
export const MAX_PER_DIAL_TIMEOUT = 600;

/** A connection refused, with every problem found (one sentence each). Never holds a secret. */
export class CommandConnectionError extends Error {
  constructor(readonly problems: string[]) {
    super(`sshFromCommandConnection: ${problems.join("; ")}`);
    this.name = "CommandConnectionError";
  }
}

/**
 * Is a value known yet? At the call, before Pulumi resolves anything, Outputs are not: their
 * fields count as given, and their values are checked once they resolve.
 */
export type Known = (v: unknown) => boolean;
const always: Known = () => true;

/**
 * The problems with a connection and its options, named by remote.ConnectionArgs' own fields.
 * With `known`, fields whose value is not known yet are only counted as present.
 */
export function commandConnectionProblems(c: unknown, o: unknown = {}, known: Known = always): string[] {
  const problems: string[] = [];
  if (!isObject(c)) return [`connection must be a remote.ConnectionArgs object ({ host, user, privateKey, … }); got ${typeOf(c)}`];
  if (!isObject(o)) return [`options must be an object ({ hostKey, proxyHostKey, insecureSkipHostKeyCheck, sudo }); got ${typeOf(o)}`];
  unknownFields(o, OPTION_FIELDS, "options", problems);
  const insecure = o.insecureSkipHostKeyCheck;
  if (insecure !== undefined && known(insecure) && typeof insecure !== "boolean") problems.push(`options.insecureSkipHostKeyCheck ${show(insecure)} is invalid: expected true or false`);
  if (o.sudo !== undefined && known(o.sudo) && typeof o.sudo !== "boolean") problems.push(`options.sudo ${show(o.sudo)} is invalid: expected true or false`);

  hostProblems(c, "connection", COMMAND_CONNECTION_FIELDS, o.hostKey, "options.hostKey", insecure === true, known, problems);
  if (c.proxy !== undefined && known(c.proxy)) {
    if (!isObject(c.proxy)) problems.push(`connection.proxy must be a remote.ProxyConnectionArgs object ({ host, user, … }); got ${typeOf(c.proxy)}`);
    else hostProblems(c.proxy, "connection.proxy", PROXY_FIELDS, o.proxyHostKey, "options.proxyHostKey", insecure === true, known, problems);
  } else if (o.proxyHostKey !== undefined && c.proxy === undefined) {
    problems.push("options.proxyHostKey is set but connection.proxy is not: it pins the proxy (jump host) key");
  }
  return problems;
}

function hostProblems(
  c: Record<string, unknown>,
  field: string,
  fields: readonly string[],
  pin: unknown,
  pinField: string,
  insecure: boolean,
  known: Known,
  problems: string[],
): void {
  unknownFields(c, fields, field, problems);
  const f = (name: string) => `${field}.${name}`;
  const given = (v: unknown) => v !== undefined && v !== null;

  const limit = c.dialErrorLimit;
  if (given(limit) && known(limit)) {
    if (limit === -1) {
      problems.push(
        `${f("dialErrorLimit")} -1 (dial again without limit) has no bridgelab equivalent: bridgelab gives up after a bounded number of dials ` +
          `(dialAttempts 1–${MAX_DIAL_ERROR_LIMIT + 1}), so a host that is gone fails instead of hanging. Give 0–${MAX_DIAL_ERROR_LIMIT} ` +
          `(remote.Command dials dialErrorLimit + 1 times)`,
      );
    } else if (!(Number.isInteger(limit) && (limit as number) >= 0 && (limit as number) <= MAX_DIAL_ERROR_LIMIT)) {
      problems.push(`${f("dialErrorLimit")} ${show(limit)} is invalid: expected an integer 0–${MAX_DIAL_ERROR_LIMIT} (-1, unlimited, has no bridgelab equivalent)`);
    }
  }
  const timeout = c.perDialTimeout;
  if (given(timeout) && known(timeout)) {
    if (timeout === 0) {
      problems.push(
        `${f("perDialTimeout")} 0 (no time limit) has no bridgelab equivalent: bridgelab bounds every dial (readyTimeoutMs). Give 1–${MAX_PER_DIAL_TIMEOUT} seconds`,
      );
    } else if (!(Number.isInteger(timeout) && (timeout as number) >= 1 && (timeout as number) <= MAX_PER_DIAL_TIMEOUT)) {
      problems.push(`${f("perDialTimeout")} ${show(timeout)} is invalid: expected whole seconds 1–${MAX_PER_DIAL_TIMEOUT}`);
    }
  }
  if (given(c.privateKeyPassword) && !given(c.privateKey)) {
    problems.push(`${f("privateKeyPassword")} is set but ${f("privateKey")} is not: it only unlocks a private key`);
  }
  if (given(c.agentSocketPath) && known(c.agentSocketPath) && (typeof c.agentSocketPath !== "string" || c.agentSocketPath === "")) {
    problems.push(`${f("agentSocketPath")} ${show(c.agentSocketPath)} is invalid: expected the path of an ssh-agent socket`);
  }

  // Host keys: remote.Command ignores the key without hostKey; bridgelab always checks it.
  const own = c.hostKey;
  if (given(own) && known(own) && typeof own === "string" && /^\s*SHA256:/.test(own)) {
    problems.push(
      `${f("hostKey")} ${show(own)} is a fingerprint: remote.Command reads hostKey as a public key line ("ssh-ed25519 AAAA…") and cannot use it. ` +
        `Put the key line there (both then verify it), or give the fingerprint as ${pinField} (bridgelab only)`,
    );
  }
  if (given(own) && given(pin) && known(own) && known(pin) && String(own).trim() !== String(pin).trim()) {
    problems.push(`${f("hostKey")} and ${pinField} differ: give the host's key once (${f("hostKey")}, which remote.Command verifies too)`);
  }
  if (insecure && (given(own) || given(pin))) {
    problems.push(`options.insecureSkipHostKeyCheck is true but ${given(own) ? f("hostKey") : pinField} pins the key: pin it or skip the check, not both`);
  }
  if (!insecure && !given(own) && !given(pin)) {
    problems.push(
      `${f("hostKey")} is missing: remote.Command skips host key verification without it, and bridgelab does not connect to a host whose key it cannot check. ` +
        `Set ${f("hostKey")} to the host's public key line ("ssh-ed25519 AAAA…", which remote.Command then verifies too), ` +
        `or give ${pinField} (a key line or its SHA256: fingerprint), or options.insecureSkipHostKeyCheck: true for a throwaway host`,
    );
  }
}

/**
 * The SshConnection for a connection whose values are all known. Throws CommandConnectionError
 * with every problem: the mapping's, then bridgelab's own check of the result (checkConnection),
 * named by remote.ConnectionArgs' fields (`connection.proxy.host`, not `connection.jumpHost.host`).
 */
export function mapCommandConnection(c: CommandConnectionValues, o: CommandMappingValues = {}, env: NodeJS.ProcessEnv = process.env): SshConnection {
  const problems = commandConnectionProblems(c, o);
  if (problems.length > 0) throw new CommandConnectionError(problems);
  const insecure = o.insecureSkipHostKeyCheck === true;
  const target = mapHost(c, o.hostKey, insecure);
  const user = target.user ?? "root";
  const mapped: SshConnection = {
    ...target,
    ...(c.proxy ? { jumpHost: mapHost(c.proxy, o.proxyHostKey, insecure) } : {}),
    ...((o.sudo ?? user !== "root") ? { sudo: true } : {}),
  };
  const checked = checkConnection(mapped, env).map(inCommandTerms);
  if (checked.length > 0) throw new CommandConnectionError(checked);
  return mapped;
}

function mapHost(c: CommandProxyValues, pin: string | undefined, insecure: boolean): SshConnection {
  const hostKey = c.hostKey ?? pin;
  const out: SshConnection = { kind: "ssh", host: c.host };
  const set = <K extends keyof SshConnection>(k: K, v: SshConnection[K] | undefined | null) => {
    if (v !== undefined && v !== null) out[k] = v;
  };
  set("port", c.port);
  set("user", c.user);
  set("password", c.password);
  set("privateKey", c.privateKey);
  set("passphrase", c.privateKeyPassword);
  set("agent", c.agentSocketPath);
  set("hostKey", hostKey?.trim());
  if (insecure) out.insecureSkipHostKeyCheck = true;
  if (c.dialErrorLimit !== undefined && c.dialErrorLimit !== null) out.dialAttempts = c.dialErrorLimit + 1;
  if (c.perDialTimeout !== undefined && c.perDialTimeout !== null) out.readyTimeoutMs = c.perDialTimeout * 1000;
  return out;
}

/** bridgelab's field names in a checkConnection problem → remote.ConnectionArgs' names. */
export function inCommandTerms(problem: string): string {
  return problem
    .replace(/\bjumpHost\b/g, "proxy")
    .replace(/\bconnection((?:\.proxy)?)\.passphrase\b/g, "connection$1.privateKeyPassword")
    .replace(/\bconnection((?:\.proxy)?)\.agent\b/g, "connection$1.agentSocketPath")
    .replace(/\bconnection((?:\.proxy)?)\.dialAttempts\b/g, "connection$1.dialErrorLimit (+1)")
    .replace(/\bconnection((?:\.proxy)?)\.readyTimeoutMs\b/g, "connection$1.perDialTimeout (×1000 ms)");
}

function unknownFields(o: Record<string, unknown>, known: readonly string[], field: string, problems: string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k) || o[k] === undefined) continue;
    const near = known.find((n) => n.toLowerCase() === k.toLowerCase());
    if (near) problems.push(`${field}.${k} is not a field bridgelab can map (did you mean ${near}?)`);
    else if (field === "options") problems.push(`options.${k} is not an option: the options are ${known.join(", ")}`);
    else {
      problems.push(
        `${field}.${k} is not a field bridgelab can map (it maps ${known.join(", ")}): a field of a newer @pulumi/command with no bridgelab ` +
          `equivalent yet. Leave it out of the connection given to bridgelab`,
      );
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? "a string" : typeof v;
}

/** A value in a message: numbers and booleans as they are, strings quoted and cut; never an object (it may hold a secret). */
function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? v.slice(0, 59) + "…" : v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return `(${typeOf(v)})`;
}
