/**
 * Unit tests of the engine's pure parts: secret propagation, state encryption, deletion order and
 * URNs. Fast, no processes.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { changesOf } from "../../engine/deployment";
import { inReverseDependencyOrder, topoOrder } from "../../engine/graph";
import { LogSink } from "../../engine/logs";
import { annotateSecrets, changedKeys, forPlugin, makeSecret, redact, secretSig, secretStrings, sigKey, unknownValue } from "../../engine/properties";
import { StateCrypter } from "../../engine/secrets";
import type { StateResource } from "../../engine/types";
import { makeUrn, urnName, urnType } from "../../engine/urn";

const secret = (v: unknown) => makeSecret(v as never);

describe("secrets in properties", () => {
  test("outputs inherit secretness from inputs with the same key, recursing into objects", () => {
    const ins = { a: secret("x"), b: { inner: secret(1), plain: 2 }, c: [secret("y")], d: "plain" };
    const outs = { a: "x", b: { inner: 1, plain: 2 }, c: ["y"], d: "plain", e: "new" };
    expect(annotateSecrets(outs, ins)).toEqual({ a: secret("x"), b: { inner: secret(1), plain: 2 }, c: secret(["y"]), d: "plain", e: "new" });
  });

  test("the plugin sees plain values; becoming secret is not a change", () => {
    expect(forPlugin({ a: secret({ b: secret("c") }) })).toEqual({ a: { b: "c" } });
    expect(changedKeys({ a: "x", b: 1 }, { a: secret("x"), b: 2 })).toEqual(["b"]);
  });

  test("display hides secrets and unknowns", () => {
    expect(redact({ a: secret("x"), b: unknownValue, c: [1] })).toEqual({ a: "[secret]", b: "[unknown]", c: [1] });
  });
});

describe("scrubbing secrets from logs and errors", () => {
  const pem = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDv2Yf0nO1kT9d7xQ3b1u0cR1e9wJt7bQe2v6fJ1m8y0wAAAJg1nL9nNZy/",
    "-----END OPENSSH PRIVATE KEY-----",
  ].join("\n");
  const connection = { kind: "ssh", host: "10.0.0.5", user: "root", port: 22, privateKey: pem };
  const project = "urn:pulumi:dev::ssh::pulumi-nodejs:dynamic/bridgelab:Bridge::br0";

  function sink(...values: unknown[]): LogSink {
    const logs = new LogSink();
    for (const v of values) logs.addSecrets(secretStrings(v as never));
    return logs;
  }

  test("a secret connection object: the key is scrubbed (whole and line by line), host, user, kind and port stay readable", () => {
    expect([...secretStrings({ connection: secret(connection) })]).toEqual([pem]);
    const logs = sink({ connection: secret(connection) });
    expect(logs.scrub("ssh root@10.0.0.5:22 refused an ssh-ed25519 key")).toBe("ssh root@10.0.0.5:22 refused an ssh-ed25519 key");
    expect(logs.scrub(`${project} failed`)).toBe(`${project} failed`);
    expect(logs.scrub(`bad key:\n${pem}`)).toBe("bad key:\n[secret]");
    // A message holding one line of the key (as a parser error would) loses that line.
    const line = pem.split("\n")[2];
    expect(logs.scrub(`unexpected "${line}"`)).toBe('unexpected "[secret]"');
    // The armour lines are in every key: not secret on their own.
    expect(logs.scrub("expected -----BEGIN OPENSSH PRIVATE KEY-----")).toBe("expected -----BEGIN OPENSSH PRIVATE KEY-----");
  });

  test("inside a secret object: credential-like keys at any depth, and long leaves; never short strings", () => {
    const value = {
      user: "deploy-user",
      password: "hunter2-pw",
      auth: { apiToken: "t0k3n-abc", nested: { whatever: "plain-but-long-enough-to-be-a-token" } },
      credentials: { name: "service-account" },
      passphrase: "abc",
      aws: { secretAccessKey: "wJalrXUtnFEMI/K7MDENG", region: "eu-west-1" },
      list: [{ key: "k-123456" }],
    };
    expect([...secretStrings(secret(value))].sort()).toEqual(
      ["abc", "hunter2-pw", "k-123456", "plain-but-long-enough-to-be-a-token", "service-account", "t0k3n-abc", "wJalrXUtnFEMI/K7MDENG"].sort(),
    );
    const logs = sink(secret(value));
    expect(logs.scrub("deploy-user in eu-west-1 with hunter2-pw and t0k3n-abc")).toBe("deploy-user in eu-west-1 with [secret] and [secret]");
    expect(logs.scrub("passphrase abc")).toBe("passphrase abc"); // under 6 characters: never scrubbed
  });

  test("a secret string counts whole, whatever its key; plain values and short secrets do not count", () => {
    expect([...secretStrings({ host: secret("bastion.example"), user: "root", list: secret(["one-token", "two-token"]) })].sort()).toEqual(
      ["bastion.example", "one-token", "two-token"],
    );
    const logs = sink({ a: secret("hunter22"), b: secret("ssh"), c: secret(22) });
    expect(logs.scrub("hunter22 over ssh on 22")).toBe("[secret] over ssh on 22");
  });
});

describe("changes named by an update", () => {
  const old = (over: Partial<StateResource>): StateResource => ({
    urn: "u", type: "t", custom: true, id: "i", parent: "", dependencies: [],
    inputs: { __provider: "p1", a: 1, b: "x" }, outputs: { __provider: "p1", a: 1, b: "x", status: "ok" }, ...over,
  });
  const some = { changes: "some" as const, replaces: [], deleteBeforeReplace: false };

  test("inputs that differ from the old inputs, or (provider asked) from the old outputs, plus recorded output drift", () => {
    expect(changesOf(old({}), { __provider: "p1", a: 2, b: "x" }, some)).toEqual(["a"]);
    // b drifted (its output no longer matches), a changed: both.
    expect(changesOf(old({ outputs: { a: 1, b: "y" } }), { __provider: "p1", a: 2, b: "x" }, some)).toEqual(["a", "b"]);
    // Drift seen only in an output no input matches, recorded by refresh.
    expect(changesOf(old({ drift: ["status", "b"] }), { __provider: "p1", a: 1, b: "x" }, some)).toEqual(["status"]);
    // A nested change names its top-level key.
    expect(changesOf(old({ inputs: { n: { deep: [1] } }, outputs: {} }), { n: { deep: [2] } }, some)).toEqual(["n"]);
  });

  test("the provider's code counts only without a diff method, or when nothing else explains the change", () => {
    expect(changesOf(old({}), { __provider: "p2", a: 2, b: "x" }, some)).toEqual(["a"]);
    expect(changesOf(old({}), { __provider: "p2", a: 1, b: "x" }, some)).toEqual(["__provider"]);
    expect(changesOf(old({}), { __provider: "p2", a: 2, b: "x" }, { ...some, changes: "unknown" })).toEqual(["__provider", "a"]);
    // Without a diff method the outputs are not consulted.
    expect(changesOf(old({ outputs: { b: "y" } }), { __provider: "p1", a: 2, b: "x" }, { ...some, changes: "unknown" })).toEqual(["a"]);
  });
});

describe("state encryption", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-crypter-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a key file is created with mode 0600 and round-trips secrets", () => {
    const file = path.join(dir, "keyfile.json");
    const c = new StateCrypter(file, undefined, undefined);
    const sealed = c.encryptTree({ a: secret({ deep: "value" }), b: "plain" });
    expect(JSON.stringify(sealed)).not.toContain("value");
    expect(sealed).toMatchObject({ a: { [sigKey]: secretSig, ciphertext: expect.any(String) }, b: "plain" });
    expect(c.config).toEqual({ provider: "keyfile" });
    expect(fs.statSync(`${file}.key`).mode & 0o777).toBe(0o600);
    expect(new StateCrypter(file, c.config, undefined).decryptTree(sealed)).toEqual({ a: secret({ deep: "value" }), b: "plain" });
  });

  test("a passphrase derives the key; the wrong one is reported, not ignored", () => {
    const file = path.join(dir, "pass.json");
    const c = new StateCrypter(file, undefined, "correct horse");
    const sealed = c.encryptTree(secret("s"));
    expect(c.config).toMatchObject({ provider: "passphrase", salt: expect.any(String) });
    expect(fs.existsSync(`${file}.key`)).toBe(false);
    expect(new StateCrypter(file, c.config, "correct horse").decryptTree(sealed)).toEqual(secret("s"));
    expect(() => new StateCrypter(file, c.config, "wrong").decryptTree(sealed)).toThrow(/cannot decrypt a secret in state file/);
    expect(() => new StateCrypter(file, c.config, undefined).decryptTree(sealed)).toThrow(/BRIDGELAB_ENGINE_PASSPHRASE/);
  });
});

describe("dependency order", () => {
  const res = (urn: string, deps: string[] = [], parent = ""): StateResource => ({
    urn, type: "t", custom: true, id: urn, parent, inputs: {}, outputs: {}, dependencies: deps,
  });

  test("state order puts dependencies first; deletion runs dependents first", async () => {
    const a = res("a");
    const b = res("b", ["a"]);
    const comp = res("comp");
    const child = { ...res("child"), parent: "comp", propertyDependencies: { x: ["b"] } };
    const order = topoOrder([child, b, comp, a]).map((r) => r.urn);
    expect(order.indexOf("a")).toBeLessThan(order.indexOf("b"));
    expect(order.indexOf("b")).toBeLessThan(order.indexOf("child"));
    expect(order.indexOf("comp")).toBeLessThan(order.indexOf("child"));

    const done: string[] = [];
    const failures = await inReverseDependencyOrder([a, b, comp, child], async (r) => {
      await new Promise((resolve) => setImmediate(resolve));
      done.push(r.urn);
    });
    expect(failures).toEqual([]);
    expect(done.indexOf("child")).toBeLessThan(done.indexOf("b"));
    expect(done.indexOf("child")).toBeLessThan(done.indexOf("comp"));
    expect(done.indexOf("b")).toBeLessThan(done.indexOf("a"));
  });

  test("a failed delete keeps what it depends on", async () => {
    const done: string[] = [];
    const failures = await inReverseDependencyOrder([res("a"), res("b", ["a"])], async (r) => {
      if (r.urn === "b") throw new Error("busy");
      done.push(r.urn);
    });
    expect(done).toEqual([]);
    expect(failures.map((f) => [f.resource.urn, f.error.message])).toEqual([
      ["b", "busy"],
      ["a", "a was not deleted because a resource depending on it could not be deleted"],
    ]);
  });
});

test("URNs nest a child's type under its parent's, except under the stack", () => {
  const stack = makeUrn("dev", "p", "", "pulumi:pulumi:Stack", "p-dev");
  const comp = makeUrn("dev", "p", stack, "my:index:Comp", "c");
  const child = makeUrn("dev", "p", comp, "pulumi-nodejs:dynamic/x:Y", "c-y");
  expect(comp).toBe("urn:pulumi:dev::p::my:index:Comp::c");
  expect(child).toBe("urn:pulumi:dev::p::my:index:Comp$pulumi-nodejs:dynamic/x:Y::c-y");
  expect(urnType(child)).toBe("pulumi-nodejs:dynamic/x:Y");
  expect(urnName(child)).toBe("c-y");
});
