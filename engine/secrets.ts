/**
 * Encryption of secret values in the state file, so that a secret never rests in plaintext on disk
 * (the real engine does the same with its secrets provider).
 *
 * A secret `{sig: secretSig, value}` is stored as `{sig: secretSig, ciphertext}` where ciphertext is
 * base64(iv ‖ GCM tag ‖ AES-256-GCM(JSON(value))). The key comes from BRIDGELAB_ENGINE_PASSPHRASE via
 * scrypt with a random salt kept in the state file, or, without a passphrase, from a random key file
 * `STATEFILE.key` created with mode 0600. The choice is recorded in the state so a later run cannot
 * silently use the other key.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { Json } from "./sdk";
import { isObject, isSecret, secretSig, sigKey, type JsonObject } from "./properties";

export const passphraseEnv = "BRIDGELAB_ENGINE_PASSPHRASE";

export type SecretsConfig = { provider: "passphrase"; salt: string } | { provider: "keyfile" };

export class StateCrypter {
  private key: Buffer | undefined;
  /**
   * Ciphertext by plaintext, as the real engine's caching secrets manager keeps: the state is
   * written after every step, and re-encrypting every resource's unchanged secrets each time
   * made a lab of 250 containers spend most of its CPU here (O(resources²) encryptions). It
   * reveals only that two secrets in one state are equal, as Pulumi's does.
   */
  private readonly cache = new Map<string, string>();

  /**
   * @param stateFile the state file the secrets belong to (the key file sits next to it)
   * @param config how the existing state was encrypted, if it holds any secrets
   * @param passphrase BRIDGELAB_ENGINE_PASSPHRASE, if set
   */
  constructor(
    private readonly stateFile: string,
    private cfg: SecretsConfig | undefined,
    private readonly passphrase: string | undefined,
  ) {}

  /** How secrets are encrypted; undefined until the first secret has been encrypted or read. */
  get config(): SecretsConfig | undefined {
    return this.cfg;
  }

  get keyFile(): string {
    return `${this.stateFile}.key`;
  }

  /** Replaces every secret's plaintext with its ciphertext. */
  encryptTree(v: Json): Json {
    if (isSecret(v)) {
      return { [sigKey]: secretSig, ciphertext: this.encrypt(JSON.stringify(v.value ?? null)) };
    }
    if (Array.isArray(v)) return v.map((x) => this.encryptTree(x));
    if (isObject(v)) return mapValues(v, (x) => this.encryptTree(x));
    return v;
  }

  /** Inverse of encryptTree. */
  decryptTree(v: Json): Json {
    if (isSecret(v) && typeof v.ciphertext === "string") {
      return { [sigKey]: secretSig, value: JSON.parse(this.decrypt(v.ciphertext)) as Json };
    }
    if (Array.isArray(v)) return v.map((x) => this.decryptTree(x));
    if (isObject(v)) return mapValues(v, (x) => this.decryptTree(x));
    return v;
  }

  private encrypt(plaintext: string): string {
    const cached = this.cache.get(plaintext);
    if (cached !== undefined) return cached;
    const key = this.getKey(true);
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const ciphertext = Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
    this.cache.set(plaintext, ciphertext);
    return ciphertext;
  }

  private decrypt(ciphertext: string): string {
    const key = this.getKey(false);
    const raw = Buffer.from(ciphertext, "base64");
    try {
      const decipher = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const plaintext = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
      // Writing the state back keeps the ciphertext it was read with.
      this.cache.set(plaintext, ciphertext);
      return plaintext;
    } catch (e) {
      const hint =
        this.cfg?.provider === "passphrase" ? `is ${passphraseEnv} the one used before?` : `was ${this.keyFile} replaced?`;
      throw new Error(`cannot decrypt a secret in state file ${this.stateFile} (${(e as Error).message}): ${hint}`);
    }
  }

  /** Resolves the key; only encryption may create a new one (a preview never writes a key file). */
  private getKey(mayCreate: boolean): Buffer {
    if (this.key) return this.key;
    if (!this.cfg) {
      if (!mayCreate) throw new Error(`state file ${this.stateFile} holds encrypted secrets but records no secrets provider`);
      this.cfg = this.passphrase
        ? { provider: "passphrase", salt: crypto.randomBytes(16).toString("base64") }
        : { provider: "keyfile" };
    }
    if (this.cfg.provider === "passphrase") {
      if (!this.passphrase) {
        throw new Error(`state file ${this.stateFile} encrypts secrets with a passphrase: set ${passphraseEnv}`);
      }
      this.key = crypto.scryptSync(this.passphrase, Buffer.from(this.cfg.salt, "base64"), 32);
    } else {
      this.key = this.readOrCreateKeyFile(mayCreate);
    }
    return this.key;
  }

  private readOrCreateKeyFile(mayCreate: boolean): Buffer {
    if (fs.existsSync(this.keyFile)) {
      const key = Buffer.from(fs.readFileSync(this.keyFile, "utf8").trim(), "hex");
      if (key.length !== 32) throw new Error(`key file ${this.keyFile} does not hold a 32-byte hex key`);
      return key;
    }
    if (!mayCreate) throw new Error(`key file ${this.keyFile} for the secrets in ${this.stateFile} is missing`);
    const key = crypto.randomBytes(32);
    // "wx": never overwrite a key another run just created; mode 0600: the key is as sensitive as the secrets.
    fs.writeFileSync(this.keyFile, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
    return key;
  }
}

function mapValues(o: JsonObject, f: (v: Json) => Json): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) out[k] = f(v);
  return out;
}
