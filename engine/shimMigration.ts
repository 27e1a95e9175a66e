/**
 * State written by bridgelab 0.1 holds, in every resource's `__provider`, a shim that loads the
 * provider's TypeScript source by path: `relative: "provider/resources/bridge.ts"` from the
 * plugin's directory, else `absolute: "/home/…/provider/resources/bridge.ts"`, through
 * `providerLoader.js` beside it. That works only inside a checkout of the bridgelab repository
 * at that place. bridgelab 0.2 serializes a shim that loads the installed package by name
 * (lazyProvider.ts); refresh and destroy run the *stored* shim, so old state is migrated:
 *
 *   - the bundled engine rewrites old shims when it loads a state file (and says so);
 *   - Pulumi CLI users run `pulumi stack export | npx bridgelab state migrate | pulumi stack import`
 *     (or simply `pulumi up` with the same program: every resource it still declares is
 *     rewritten, because a "same" step stores the new inputs).
 *
 * The new text is produced exactly as Pulumi's SDK produces it for a program
 * (`runtime.serializeFunction(() => provider)`), so the next `up` sees no difference.
 */
import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../provider/resources/lazyProvider";
import { type ProviderName, providerNames } from "../provider/resources/providers";

/** The provider name inside a bridgelab 0.1 shim, or undefined when `text` is not one. */
export function oldShimProviderName(text: unknown): ProviderName | undefined {
  if (typeof text !== "string" || !text.includes("providerLoader.js")) return undefined;
  const m = /exportName: "([A-Za-z]+)"/.exec(text);
  const name = m?.[1] as ProviderName | undefined;
  return name && providerNames.includes(name) ? name : undefined;
}

const texts = new Map<ProviderName, Promise<string>>();

/** The `__provider` text a program using this bridgelab stores for provider NAME. */
export function currentShimText(name: ProviderName): Promise<string> {
  let t = texts.get(name);
  if (!t) {
    const provider = lazyProvider(name);
    t = pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true }).then((f) => f.text);
    texts.set(name, t);
  }
  return t;
}

interface WithProvider {
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

/**
 * Rewrites every bridgelab 0.1 shim among the resources' inputs and outputs, in place.
 * Returns how many resources changed.
 */
export async function migrateShims(resources: WithProvider[]): Promise<number> {
  let changed = 0;
  for (const r of resources) {
    let touched = false;
    for (const props of [r.inputs, r.outputs]) {
      const name = props ? oldShimProviderName(props.__provider) : undefined;
      if (props && name) {
        props.__provider = await currentShimText(name);
        touched = true;
      }
    }
    if (touched) changed++;
  }
  return changed;
}
