import * as fs from "node:fs";
import * as path from "node:path";
import {
  hostKeyAlgorithmsFor,
  hostKeyMatches,
  isHostKeyPin,
  keyTypeOfBlob,
  mismatchedHostKeyMessage,
  parseHostKeyPin,
  sshFingerprint,
  unpinnedHostKeyMessage,
} from "../../provider/transport/sshHostKey";

// Reference: test/fixtures/ssh/*.pub made by ssh-keygen, and keygen-lf.txt is
// `ssh-keygen -lf` of each, so fingerprints are compared with OpenSSH's own output.
const dir = path.join(__dirname, "..", "fixtures", "ssh");
const files = ["host_ed25519.pub", "host_ecdsa.pub", "host_rsa.pub"];
const lines = files.map((f) => fs.readFileSync(path.join(dir, f), "utf8").trim());
const keygen = fs
  .readFileSync(path.join(dir, "keygen-lf.txt"), "utf8")
  .trim()
  .split("\n")
  .map((l) => l.split(" ")[1]);
const blobOf = (line: string) => Buffer.from(line.split(" ")[1], "base64");

describe("sshFingerprint", () => {
  it.each(files.map((f, i) => [f, lines[i], keygen[i]]))("%s matches ssh-keygen -lf", (_f, line, expected) => {
    expect(sshFingerprint(blobOf(line))).toBe(expected);
    expect(sshFingerprint(blobOf(line))).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/); // no '=' padding
  });

  it("reads the key type inside the blob", () => {
    expect(lines.map((l) => keyTypeOfBlob(blobOf(l)))).toEqual(["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]);
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0]))).toBeUndefined();
    expect(keyTypeOfBlob(Buffer.from([0, 0, 1, 0, 65]))).toBeUndefined();
  });
});

describe("parseHostKeyPin", () => {
  it("accepts a key line, with or without a comment, and fingerprints it", () => {
    const pin = parseHostKeyPin(lines[0]);
    expect(pin).toMatchObject({ kind: "keyLine", keyType: "ssh-ed25519", fingerprint: keygen[0] });
    expect(parseHostKeyPin(lines[0].split(" ").slice(0, 2).join(" "))).toMatchObject({ fingerprint: keygen[0] });
    expect(parseHostKeyPin(`  ${lines[2]}\n`)).toMatchObject({ kind: "keyLine", keyType: "ssh-rsa", fingerprint: keygen[2] });
  });

  it("accepts a fingerprint as ssh-keygen prints it, and tolerates one '=' of padding", () => {
    expect(parseHostKeyPin(keygen[1])).toEqual({ kind: "fingerprint", fingerprint: keygen[1] });
    expect(parseHostKeyPin(keygen[1] + "=")).toEqual({ kind: "fingerprint", fingerprint: keygen[1] });
  });

  it.each([
    ["an MD5 fingerprint", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"],
    ["a truncated SHA256", "SHA256:MtwnqdimtaaO0JL/zeNoI95f1rNCv9suXazLnE6vhd"],
    ["lowercase prefix", "sha256:MtwnqdimtaaO0JL/zeNoI95f1rNCv9suXazLnE6vhd8"],
    ["a bare base64 blob", lines[0].split(" ")[1]],
    ["an empty string", ""],
    ["a hostname", "lab-1.example.com"],
  ])("rejects %s", (_what, text) => {
    expect(() => parseHostKeyPin(text)).toThrow(/host key .* is invalid: expected an OpenSSH public key line/);
    expect(isHostKeyPin(text)).toBe(false);
  });

  it("rejects a key line whose type does not match its blob", () => {
    const forged = `ssh-rsa ${lines[0].split(" ")[1]}`;
    expect(() => parseHostKeyPin(forged)).toThrow(/is not a valid ssh-rsa public key/);
  });
});

describe("hostKeyMatches", () => {
  const ed = blobOf(lines[0]);
  const ec = blobOf(lines[1]);
  it("compares a key line byte for byte and a fingerprint by hash", () => {
    expect(hostKeyMatches(parseHostKeyPin(lines[0]), ed)).toBe(true);
    expect(hostKeyMatches(parseHostKeyPin(lines[0]), ec)).toBe(false);
    expect(hostKeyMatches(parseHostKeyPin(keygen[1]), ec)).toBe(true);
    expect(hostKeyMatches(parseHostKeyPin(keygen[1]), ed)).toBe(false);
  });

  it("offers only the pinned key's algorithms when a key line is pinned", () => {
    expect(hostKeyAlgorithmsFor(parseHostKeyPin(lines[0]))).toEqual(["ssh-ed25519"]);
    expect(hostKeyAlgorithmsFor(parseHostKeyPin(lines[2]))).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(hostKeyAlgorithmsFor(parseHostKeyPin(keygen[0]))).toBeUndefined();
    expect(hostKeyAlgorithmsFor(undefined)).toBeUndefined();
  });

  it("messages name the presented type and fingerprint, the expected one, and how to pin", () => {
    const presented = { keyType: "ssh-ed25519", fingerprint: keygen[0] };
    const unpinned = unpinnedHostKeyMessage(presented);
    expect(unpinned).toContain(`ssh-ed25519 key with fingerprint ${keygen[0]}`);
    expect(unpinned).toContain(`connection.hostKey = "${keygen[0]}"`);
    expect(unpinned).toContain("insecureSkipHostKeyCheck");
    const mismatch = mismatchedHostKeyMessage(parseHostKeyPin(lines[1]), presented);
    expect(mismatch).toContain(`expected an ecdsa-sha2-nistp256 key with fingerprint ${keygen[1]}`);
    expect(mismatch).toContain(`presented an ssh-ed25519 key with fingerprint ${keygen[0]}`);
  });
});
