import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Host key pinning: what a pin may look like, how a presented key is fingerprinted, and
 * the messages a failed check produces. Pure apart from hashing: no I/O.
 *
 * A pin is either an OpenSSH public key line or its fingerprint exactly as
 * `ssh-keygen -lf` prints it:
 *
 *   ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI… root@lab-1      (a line of ~/.ssh/known_hosts, without the host)
 *   SHA256:uXR0Z4t0Bo8mGOS8pVbq+Hx2l7oYmW+9sVbC2YH4wG0      (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)
 */

/** A parsed pin. `keyLine` pins the exact key (and so its type); `fingerprint` pins its SHA-256. */
export type HostKeyPin =
  | { kind: "keyLine"; keyType: string; blob: Buffer; fingerprint: string }
  | { kind: "fingerprint"; fingerprint: string };

export const HOST_KEY_RULE =
  'an OpenSSH public key line ("ssh-ed25519 AAAA…") or a SHA-256 fingerprint as `ssh-keygen -lf` prints it ("SHA256:" and 43 base64 characters)';

/** `SHA256:` + unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -lf` prints it. */
export function sshFingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n < 1 || n > 64 || blob.length < 4 + n) return undefined;
  const type = blob.subarray(4, 4 + n).toString("latin1");
  return /^[a-z0-9][a-z0-9@.+-]*$/i.test(type) ? type : undefined;
}

/**
 * Parse a pin; throws an Error naming the rule when `text` is neither form. Surrounding
 * whitespace is ignored, and a fingerprint may carry base64 padding (`=`), which is dropped.
 */
export function parseHostKeyPin(text: string): HostKeyPin {
  const s = text.trim();
  const fp = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(s);
  if (fp) return { kind: "fingerprint", fingerprint: `SHA256:${fp[1]}` };
  const line = /^([a-z0-9][a-z0-9@.+-]*)\s+([A-Za-z0-9+/]+={0,2})(\s+.*)?$/i.exec(s);
  if (line) {
    const blob = Buffer.from(line[2], "base64");
    const inner = keyTypeOfBlob(blob);
    if (inner === undefined || inner !== line[1]) {
      throw new Error(
        `host key ${JSON.stringify(abbreviate(s))} is not a valid ${line[1]} public key: its base64 does not encode a ${line[1]} key`,
      );
    }
    return { kind: "keyLine", keyType: line[1], blob, fingerprint: sshFingerprint(blob) };
  }
  throw new Error(`host key ${JSON.stringify(abbreviate(s))} is invalid: expected ${HOST_KEY_RULE}`);
}

/** True when `text` is a valid pin. */
export function isHostKeyPin(text: string): boolean {
  try {
    parseHostKeyPin(text);
    return true;
  } catch {
    return false;
  }
}

/** Does the presented key blob satisfy the pin? */
export function hostKeyMatches(pin: HostKeyPin, presented: Buffer): boolean {
  if (pin.kind === "keyLine") return pin.blob.length === presented.length && timingSafeEqual(pin.blob, presented);
  return pin.fingerprint === sshFingerprint(presented);
}

/**
 * The host key algorithms to offer when a key line is pinned, so that a server with several
 * host keys presents the pinned one (an RSA key may be signed with SHA-2). A fingerprint
 * does not say its type: then the client's default preference applies (ed25519 first).
 */
export function hostKeyAlgorithmsFor(pin: HostKeyPin | undefined): string[] | undefined {
  if (pin?.kind !== "keyLine") return undefined;
  if (pin.keyType === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return [pin.keyType];
}

/** What the host presented, for messages: `ssh-ed25519 key SHA256:…`. */
export interface PresentedHostKey {
  keyType: string;
  fingerprint: string;
}

export function describePresented(blob: Buffer): PresentedHostKey {
  return { keyType: keyTypeOfBlob(blob) ?? "unknown-type", fingerprint: sshFingerprint(blob) };
}

/** The message for a host that presented a key while nothing is pinned. */
export function unpinnedHostKeyMessage(presented: PresentedHostKey): string {
  return (
    `host key is not pinned: the host presented an ${presented.keyType} key with fingerprint ${presented.fingerprint}. ` +
    `Check that fingerprint out of band (on the host: \`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub\`), then pin it ` +
    `with connection.hostKey = "${presented.fingerprint}" (or the public key line); ` +
    `for a throwaway host, set connection.insecureSkipHostKeyCheck = true instead. No credentials or commands were sent.`
  );
}

/** The message for a host whose key does not match the pin. */
export function mismatchedHostKeyMessage(pin: HostKeyPin, presented: PresentedHostKey): string {
  const expected = pin.kind === "keyLine" ? `an ${pin.keyType} key with fingerprint ${pin.fingerprint}` : `a key with fingerprint ${pin.fingerprint}`;
  return (
    `host key mismatch: expected ${expected}, but the host presented an ${presented.keyType} key with fingerprint ` +
    `${presented.fingerprint}. Either the host was reinstalled or something is intercepting the connection; ` +
    `no credentials or commands were sent. If the change is expected, pin the new key with connection.hostKey = "${presented.fingerprint}".`
  );
}

function abbreviate(s: string, max = 80): string {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}
