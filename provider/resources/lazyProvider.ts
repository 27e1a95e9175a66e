import type * as pulumi from "@pulumi/pulumi";
import type { ProviderName } from "./providers";

/**
 * What Pulumi serializes into every resource's `__provider`: this shim, not the provider.
 *
 * Pulumi captures a dynamic provider by value, following every function it reaches; with
 * transports, pools and timers behind it that is large and brittle. The shim holds only a
 * provider name and, inside the plugin, loads bridgelab by package name from the Pulumi project
 * the plugin runs in:
 *
 *   require("bridgelab/internal/providers").providerFor("bridgeProvider")
 *
 * resolved first from the plugin's working directory (the project's directory, where Pulumi.yaml
 * is) and then from the plugin's own location (node_modules/@pulumi/pulumi/cmd/dynamic-provider of
 * that project: bridgelab is its sibling). State therefore holds no path of the machine that ran
 * `up`: a CI runner, a colleague's clone or the same project moved refreshes and destroys it with
 * the bridgelab installed there. Node's module cache is process-wide, so every resource of a run
 * shares one copy of the provider code (and its SSH pool).
 *
 * The serialized text of a shim is fixed by the provider name alone; it never changes with the
 * machine, the directory or the bridgelab version, so it is never a diff.
 */
export function lazyProvider(name: ProviderName): pulumi.dynamic.ResourceProvider {
  // One shim object per provider: Pulumi caches a dynamic provider's serialization by object
  // (PULUMI_NODEJS_CACHE_DYNAMIC_PROVIDERS, on by default), so each provider's closure is
  // serialized once per program instead of once per resource (tens of ms each).
  let shim = shims.get(name);
  if (!shim) shims.set(name, (shim = makeShim(name)));
  return shim;
}

const shims = new Map<string, pulumi.dynamic.ResourceProvider>();

/**
 * Everything below runs inside the plugin, from the serialized text: it may use only its
 * parameter, literals and require() (which there resolves from the plugin's working directory).
 */
function makeShim(name: string): pulumi.dynamic.ResourceProvider {
  const load = (): pulumi.dynamic.ResourceProvider => {
    const key = Symbol.for("bridgelab.providers.v2");
    const g = globalThis as unknown as Record<symbol, { providerFor(n: string): pulumi.dynamic.ResourceProvider } | undefined>;
    let mod = g[key];
    if (!mod) {
      const spec = "bridgelab/internal/providers";
      const { createRequire } = require("module");
      const p = require("path");
      const bases: string[] = [p.join(process.cwd(), "Pulumi.yaml")];
      if (require.main && require.main.filename) bases.push(require.main.filename);
      const tried: string[] = [];
      for (const base of bases) {
        try {
          mod = createRequire(base)(spec);
          break;
        } catch (e) {
          const err = e as { code?: string; message?: string };
          // Only "bridgelab is not installed here" moves on; a broken install is reported as is.
          if (err.code !== "MODULE_NOT_FOUND" || !String(err.message).includes(`'${spec}'`)) throw e;
          tried.push(p.dirname(base));
        }
      }
      if (!mod) {
        throw new Error(
          `bridgelab: the provider code cannot be loaded: require("${spec}") fails from ${tried.join(" and from ")}. ` +
            `Install bridgelab in the Pulumi project (\`npm install bridgelab\`) and run Pulumi in that project's directory.`,
        );
      }
      g[key] = mod;
    }
    return mod.providerFor(name);
  };
  return {
    check: (olds, news) => load().check!(olds, news),
    diff: (id, olds, news) => load().diff!(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read!(id, props),
    update: (id, olds, news) => load().update!(id, olds, news),
    delete: (id, props) => load().delete!(id, props),
  };
}
