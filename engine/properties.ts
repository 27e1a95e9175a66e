/**
 * Property values as they cross the wire, and the engine-side transformations the real Pulumi
 * engine applies to them: secret tracking, unknowns during preview, resource references, and the
 * comparisons behind diffs and refresh reports.
 *
 * Sentinels are the ones in @pulumi/pulumi/runtime/rpc.js. Inside the engine a secret is kept in its
 * wire form `{ [sigKey]: secretSig, value }` so that it can be handed to the program unchanged;
 * it is removed only when talking to the dynamic-provider plugin, which does not accept secrets.
 */
import type { Json, PropertyMap } from "./sdk";

export const sigKey = "4dabf18193072939515e22adb298388d";
export const secretSig = "1b47061264138c4ac30d75fd1eb44270";
export const resourceSig = "5cf8f73096256a8f31e491e813e4eb8e";
export const outputValueSig = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
export const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type JsonObject = { [key: string]: Json };

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isSecret(v: Json | undefined): v is JsonObject {
  return isObject(v) && v[sigKey] === secretSig;
}

function isResourceRef(v: Json | undefined): v is JsonObject {
  return isObject(v) && v[sigKey] === resourceSig;
}

export function makeSecret(v: Json): Json {
  return isSecret(v) ? v : { [sigKey]: secretSig, value: v };
}

/** True when a secret appears anywhere inside `v`. */
export function containsSecrets(v: Json | undefined): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecrets);
  if (isObject(v)) return Object.values(v).some(containsSecrets);
  return false;
}

/** True when the unknown sentinel (a preview placeholder) appears anywhere inside `v`. */
export function containsUnknowns(v: Json | undefined): boolean {
  if (v === unknownValue) return true;
  if (Array.isArray(v)) return v.some(containsUnknowns);
  if (isObject(v)) return Object.values(v).some(containsUnknowns);
  return false;
}

/**
 * What the dynamic-provider plugin may see. It answers `acceptSecrets: false` to Configure and never
 * asks for resource references, so — like the real engine's MarshalProperties with KeepSecrets and
 * KeepResources off — secrets are unwrapped and a resource reference becomes its id (custom
 * resources) or its URN (components).
 */
export function forPlugin(v: Json): Json {
  if (isSecret(v)) return forPlugin(v.value ?? null);
  if (isResourceRef(v)) {
    const id = v.id;
    return typeof id === "string" && id !== "" ? id : (v.urn ?? null);
  }
  if (Array.isArray(v)) return v.map(forPlugin);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = forPlugin(x);
    return out;
  }
  return v;
}

export function mapForPlugin(m: PropertyMap): PropertyMap {
  return forPlugin(m) as PropertyMap;
}

/**
 * Copies secretness from inputs onto outputs, exactly as the real engine does for providers that do
 * not accept secrets (annotateSecrets in sdk/go/common/resource/plugin/provider_plugin.go): for a key
 * present in both, recurse when both values are objects, otherwise the whole output value becomes
 * secret if the input value contains a secret anywhere.
 */
export function annotateSecrets(outs: PropertyMap, ins: PropertyMap): PropertyMap {
  const result: PropertyMap = { ...outs };
  for (const [key, inValue] of Object.entries(ins)) {
    if (!(key in result)) continue;
    const outValue = result[key];
    if (isObject(outValue) && !isSecret(outValue) && isObject(inValue) && !isSecret(inValue)) {
      result[key] = annotateSecrets(outValue, inValue);
    } else if (!isSecret(outValue) && containsSecrets(inValue)) {
      result[key] = makeSecret(outValue);
    }
  }
  return result;
}

/** The `additionalSecretOutputs` resource option: listed top-level output keys become secret. */
export function markSecretOutputs(outs: PropertyMap, keys: string[]): PropertyMap {
  const result: PropertyMap = { ...outs };
  for (const k of keys) if (k in result) result[k] = makeSecret(result[k]);
  return result;
}

/** Structural equality; key order does not matter. */
export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Top-level keys whose values differ. Secrecy alone is not a change (a value that merely became
 * secret is the same value), so both sides are compared as the plugin sees them.
 */
export function changedKeys(olds: PropertyMap, news: PropertyMap): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => differs(olds[k], news[k])).sort();
}

/** Whether two values differ as the provider sees them (secrecy ignored). */
export function differs(a: Json | undefined, b: Json | undefined): boolean {
  return !deepEqual(forPlugin(a ?? null), forPlugin(b ?? null));
}

/** Display form: secrets as "[secret]", preview placeholders as "[unknown]". */
export function redact(v: Json): unknown {
  if (isSecret(v)) return "[secret]";
  if (v === unknownValue) return "[unknown]";
  if (isResourceRef(v)) return v.urn ?? null;
  if (Array.isArray(v)) return v.map(redact);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = redact(x);
    return out;
  }
  return v;
}

/** Keys whose values are credentials: everything under them inside a secret is scrubbed from logs. */
export const credentialKey = /key|password|passphrase|secret|token|credential/i;

/** Inside a secret object, a leaf string this long is scrubbed whatever its key (a random token looks like this). */
export const longSecretLeaf = 24;

/**
 * The strings inside secrets that logs and error messages must be scrubbed of. A secret whose value
 * is a string (or a list of strings) counts as a whole; inside a secret object only the leaves
 * under credential-like keys (`credentialKey`, at any depth below the secret) and leaf strings of
 * `longSecretLeaf`+ characters count, so that a secret connection's host, user and kind stay
 * readable in messages. (The LogSink adds the length floor and the per-line rule.)
 */
export function secretStrings(v: Json | undefined, acc: Set<string> = new Set()): Set<string> {
  // "whole": a secret's own value (or a list in it); "credential": under a credential-like key.
  type Context = "whole" | "credential" | "plain";
  const walk = (x: Json | undefined, inSecret: boolean, context: Context): void => {
    if (typeof x === "string") {
      if (inSecret && (context !== "plain" || x.length >= longSecretLeaf)) acc.add(x);
    } else if (isSecret(x)) {
      walk(x.value, true, context === "credential" ? "credential" : "whole");
    } else if (Array.isArray(x)) {
      for (const y of x) walk(y, inSecret, context);
    } else if (isObject(x)) {
      for (const [k, y] of Object.entries(x)) {
        walk(y, inSecret, context === "credential" || credentialKey.test(k) ? "credential" : "plain");
      }
    }
  };
  walk(v, false, "plain");
  return acc;
}
