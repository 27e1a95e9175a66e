/**
 * Unit tests of the engine's pure parts: secret propagation, state encryption, deletion order and
 * URNs. Fast, no processes.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inReverseDependencyOrder, topoOrder } from "../../engine/graph";
import { annotateSecrets, changedKeys, forPlugin, makeSecret, redact, secretSig, sigKey, unknownValue } from "../../engine/properties";
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
