import type * as pulumi from "@pulumi/pulumi";

/**
 * What the dynamic-provider plugin loads: `require("bridgelab/internal/providers").providerFor(NAME)`.
 *
 * Every resource's `__provider` in state is a small shim (lazyProvider.ts) that holds only a
 * provider name from the list below and loads this module, by package name, from the Pulumi
 * project it runs in. This module specifier and these names are therefore a contract with every
 * state file ever written: never rename or remove one (add new ones beside them).
 *
 * Each provider's module is required on first use, so a plugin serving a lab never loads
 * EcsHostCheck's parsers, and one serving EcsHostCheck never loads iptables' builders.
 */
export const PROVIDERS_MODULE = "bridgelab/internal/providers";

export const providerNames = [
  "netNamespaceProvider",
  "bridgeProvider",
  "vethPairProvider",
  "egressProvider",
  "bridgeIsolationProvider",
  "portPublishProvider",
  "processProvider",
  "labProbeProvider",
  "ecsHostCheckProvider",
] as const;

export type ProviderName = (typeof providerNames)[number];

/* eslint-disable @typescript-eslint/no-require-imports */
const modules: Record<ProviderName, () => Record<string, unknown>> = {
  netNamespaceProvider: () => require("./netNamespace"),
  bridgeProvider: () => require("./bridge"),
  vethPairProvider: () => require("./vethPair"),
  egressProvider: () => require("./egress"),
  bridgeIsolationProvider: () => require("./bridgeIsolation"),
  portPublishProvider: () => require("./portPublish"),
  processProvider: () => require("./process"),
  labProbeProvider: () => require("./labProbe"),
  ecsHostCheckProvider: () => require("./ecsHostCheck"),
};

/** The provider object called NAME; an unknown name (state from a newer bridgelab) is an error saying so. */
export function providerFor(name: string): pulumi.dynamic.ResourceProvider {
  const load = (modules as Record<string, (() => Record<string, unknown>) | undefined>)[name];
  if (!load) {
    throw new Error(
      `bridgelab: no provider "${name}" in this version of bridgelab (it knows ${providerNames.join(", ")}); ` +
        `the state was written by another version: install that version, or a newer one, in this project`,
    );
  }
  return load()[name] as pulumi.dynamic.ResourceProvider;
}
