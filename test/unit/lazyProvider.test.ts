import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../../provider/resources/lazyProvider";
import { providerFor, providerNames } from "../../provider/resources/providers";

// What state records of the provider: the shim lazyProvider makes, serialized as Pulumi does.
// It must hold no path of this machine, be the same text whatever the directory, and load the
// installed bridgelab by name from the plugin's directory — failing clearly where there is none.
const repo = path.resolve(__dirname, "..", "..");
const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
const serialized = async (name: (typeof providerNames)[number]) => {
  const provider = lazyProvider(name);
  return (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
};

/** Evaluates a serialized provider as the plugin does, with `dir` as the working directory. */
function inPlugin<T>(dir: string, text: string, fn: (p: pulumi.dynamic.ResourceProvider) => T): T {
  const cwd = process.cwd();
  const key = Symbol.for("bridgelab.providers.v2");
  // The plugin's realm (Node's own global, not jest's sandbox) caches the loaded package.
  const g = requireFromString("module.exports = globalThis") as Record<symbol, unknown>;
  const cached = g[key];
  delete g[key];
  process.chdir(dir);
  try {
    return fn(requireFromString(text).handler());
  } finally {
    process.chdir(cwd);
    g[key] = cached;
  }
}

describe("the serialized provider shim", () => {
  it("holds a provider name and the package specifier, no path of this machine", async () => {
    const text = await serialized("bridgeProvider");
    expect(text).toContain('"bridgeProvider"');
    expect(text).toContain("bridgelab/internal/providers");
    expect(text).not.toContain(repo);
    expect(text).not.toContain(os.hostname());
    expect(text).not.toMatch(/\/(work|home|root|tmp)\//);
    expect(text.length).toBeLessThan(5000);
  });

  it("is one object per provider (Pulumi serializes each once per program) and the same text from any directory", async () => {
    expect(lazyProvider("egressProvider")).toBe(lazyProvider("egressProvider"));
    const here = await serialized("egressProvider");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-shim-"));
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      const provider = lazyProvider("egressProvider");
      expect((await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text).toBe(here);
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads the installed bridgelab from the project directory (here: this checkout, by its own name)", async () => {
    const text = await serialized("netNamespaceProvider");
    const result = await inPlugin(path.join(repo, "labs"), text, (p) => p.check!({}, { name: "bad name!", connection: { kind: "sandbox", name: "x" } }));
    expect(result.failures).toEqual([expect.objectContaining({ property: "name" })]);
  });

  it("where bridgelab is not installed, says so and how to fix it", async () => {
    const text = await serialized("bridgeProvider");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-noinstall-"));
    try {
      expect(() => inPlugin(dir, text, (p) => p.check!({}, {}))).toThrow(
        /bridgelab: the provider code cannot be loaded: require\("bridgelab\/internal\/providers"\) fails from .*bridgelab-noinstall-.*Install bridgelab in the Pulumi project \(`npm install bridgelab`\)/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every provider name resolves; an unknown one (state from another version) is named", () => {
    for (const name of providerNames) expect(typeof providerFor(name).create).toBe("function");
    expect(() => providerFor("wormholeProvider")).toThrow(/no provider "wormholeProvider" in this version of bridgelab/);
  });
});
