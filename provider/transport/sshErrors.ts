import { TransportError } from "./types";

/**
 * Errors of the SSH transport. Each names the host (`ssh:user@host:port`) through
 * TransportError, and none carries a secret: text that may come from outside (ssh2, a proxy
 * command's stderr) goes through `redact` first.
 */

/** The host's key was not pinned or did not match the pin. Never retried. */
export class HostKeyError extends TransportError {
  constructor(
    host: string,
    message: string,
    readonly presentedFingerprint: string,
    readonly presentedKeyType: string,
  ) {
    super(host, message);
    this.name = "HostKeyError";
  }
}

/** The host refused every authentication method tried. Never retried. */
export class SshAuthError extends TransportError {
  constructor(
    host: string,
    readonly user: string,
    readonly methods: string[],
    detail?: string,
  ) {
    super(
      host,
      `authentication failed for user "${user}" (tried: ${methods.join(", ") || "none"})` +
        (detail ? `: ${detail}` : "") +
        `. Check that the key is in ~${user}/.ssh/authorized_keys on the host, or the password.`,
    );
    this.name = "SshAuthError";
  }
}

/** The credentials could not be used at all (unreadable key, wrong passphrase). Never retried. */
export class SshCredentialError extends TransportError {
  constructor(host: string, message: string) {
    super(host, message);
    this.name = "SshCredentialError";
  }
}

/** Errors that retrying a dial cannot fix. */
export function isPermanentDialError(e: unknown): boolean {
  return e instanceof HostKeyError || e instanceof SshAuthError || e instanceof SshCredentialError;
}

/**
 * Replace every occurrence of a secret (and of each long line of a multi-line secret, such
 * as a private key's base64 body) with `[redacted]`.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    needles.add(s);
    for (const line of s.split(/\r?\n/)) if (line.trim().length >= 8) needles.add(line.trim());
  }
  for (const n of [...needles].sort((a, b) => b.length - a.length)) out = out.split(n).join("[redacted]");
  return out;
}
