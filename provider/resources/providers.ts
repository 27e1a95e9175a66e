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

/** The resource each provider serves, for messages. */
const KINDS: Record<ProviderName, string> = {
  netNamespaceProvider: "NetNamespace",
  bridgeProvider: "Bridge",
  vethPairProvider: "VethPair",
  egressProvider: "Egress",
  bridgeIsolationProvider: "BridgeIsolation",
  portPublishProvider: "PortPublish",
  processProvider: "Process",
  labProbeProvider: "LabProbe",
  ecsHostCheckProvider: "EcsHostCheck",
};

/**
 * Providers whose create and update first check the host (preflight.ts). Not EcsHostCheck: it
 * changes nothing, and an ECS instance reached over SSM runs Docker's iptables and no bridgelab
 * object (its own script reports what it cannot read). LabProbe is checked: its probes need
 * ping, curl, bash and timeout, and on a lab's host the check has run already.
 */
const PREFLIGHTED = new Set<ProviderName>(providerNames.filter((n) => n !== "ecsHostCheckProvider"));

const wrapped = new Map<string, pulumi.dynamic.ResourceProvider>();

/** The provider object called NAME; an unknown name (state from a newer bridgelab) is an error saying so. */
export function providerFor(name: string): pulumi.dynamic.ResourceProvider {
  const load = (modules as Record<string, (() => Record<string, unknown>) | undefined>)[name];
  if (!load) {
    throw new Error(
      `bridgelab: no provider "${name}" in this version of bridgelab (it knows ${providerNames.join(", ")}); ` +
        `the state was written by another version: install that version, or a newer one, in this project`,
    );
  }
  let provider = wrapped.get(name);
  if (!provider) wrapped.set(name, (provider = withHostRules(name as ProviderName, load()[name] as pulumi.dynamic.ResourceProvider)));
  return provider;
}

/**
 * The rules every provider follows about its host, in one place:
 *
 * - create and update first await the host's preflight check (once per host per run), so a
 *   host that lacks a tool is refused before anything on it changes;
 * - read and delete of an object on a sandbox host that no longer exists (HostGoneError) report
 *   it gone, and succeed: everything in the sandbox went with it;
 * - read and delete of an object on a host listed in BRIDGELAB_GONE_HOSTS do the same without
 *   contacting the host (a terminated VM);
 * - read and delete that cannot reach the host (HostUnreachableError) fail, naming the host and
 *   the way out for a host that is gone for good. A host that is only down is never taken for
 *   gone; an authentication failure or a host key mismatch is reported as it is.
 */
function withHostRules(name: ProviderName, p: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  const kind = KINDS[name];
  const preflighted = PREFLIGHTED.has(name);
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const out: pulumi.dynamic.ResourceProvider = {
    create: async (inputs: any) => {
      if (preflighted) await preflightOf().preflight(inputs?.connection);
      return p.create(inputs);
    },
  };
  if (p.check) out.check = (olds: any, news: any) => p.check!(olds, news);
  if (p.diff) out.diff = (id: string, olds: any, news: any) => p.diff!(id, olds, news);
  if (p.update) {
    out.update = async (id: string, olds: any, news: any) => {
      if (preflighted) await preflightOf().preflight(news?.connection);
      return p.update!(id, olds, news);
    };
  }
  if (p.read) {
    out.read = async (id: string, props: any) => {
      const rules = goneHostsOf();
      if (rules.declaredGone(props?.connection, kind, id, "read")) return { id: "", props: {} };
      try {
        return await p.read!(id, props);
      } catch (e) {
        if (rules.goneHost(e, props?.connection)) return { id: "", props: {} };
        throw rules.unreachable(e, props?.connection, kind, id, "read");
      }
    };
  }
  if (p.delete) {
    out.delete = async (id: string, props: any) => {
      const rules = goneHostsOf();
      if (rules.declaredGone(props?.connection, kind, id, "delete")) return;
      try {
        await p.delete!(id, props);
      } catch (e) {
        if (rules.goneHost(e, props?.connection)) return;
        throw rules.unreachable(e, props?.connection, kind, id, "delete");
      }
    };
  }
  /* eslint-enable @typescript-eslint/no-explicit-any */
  return out;
}

/* eslint-disable @typescript-eslint/no-require-imports */
/** Loaded on first use, like the providers: a plugin that only reads never loads the requirements. */
const preflightOf = (): typeof import("./preflight") => require("./preflight");
const goneHostsOf = (): typeof import("./goneHosts") => require("./goneHosts");
