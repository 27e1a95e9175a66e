/**
 * Operations on resources already in the state: delete (used by up, replace and destroy), refresh
 * and destroy. Each completed provider call is followed by a state write.
 */
import type { RunContext } from "./context";
import { foreignProviderInfo, foreignProviderMessage } from "./foreignProviders";
import { inReverseDependencyOrder } from "./graph";
import { annotateSecrets, changedKeys, secretStrings } from "./properties";
import type { PropertyMap } from "./sdk";
import type { ResourceSummary, StateResource } from "./types";

export const dynamicTypePrefix = "pulumi-nodejs:dynamic";

export function isDynamic(type: string): boolean {
  return type === dynamicTypePrefix || type.startsWith(`${dynamicTypePrefix}:`) || type.startsWith(`${dynamicTypePrefix}/`);
}

/**
 * Deletes one resource through the plugin (components, `get` resources and retainOnDelete ones are
 * only dropped from the state) and records that in the state. A protected resource is refused, as
 * the real engine does.
 */
export async function deleteResource(ctx: RunContext, r: StateResource, entry: ResourceSummary): Promise<void> {
  if (r.protect) {
    throw new Error(`${r.urn} is protected: remove the protect option (and run up) before deleting it`);
  }
  if (r.custom && !r.external && !r.retainOnDelete) {
    if (!isDynamic(r.type)) throw new Error(`cannot delete ${r.urn}: ${foreignProviderMessage("resource", r.type, foreignProviderInfo(r.type, undefined, ctx.project.pwd))}`);
    const plugin = await ctx.plugin();
    entry.providerCalls.push("Delete");
    await plugin.delete(r.id, r.urn, r.outputs, r.inputs);
  }
  ctx.state.forget(r);
  ctx.state.save();
}

/**
 * Deletes the given resources, dependents before their dependencies, reporting each with its own
 * summary line unless `entryFor` supplies one (a replacement reports its delete on its own line).
 */
export async function deleteAll(
  ctx: RunContext,
  resources: StateResource[],
  entryFor: (r: StateResource) => ResourceSummary = (r) => ctx.report(r.urn, r.type, "delete"),
): Promise<void> {
  const failures = await inReverseDependencyOrder(resources, async (r) => {
    const entry = entryFor(r);
    try {
      await deleteResource(ctx, r, entry);
    } catch (e) {
      entry.error = ctx.logs.scrub((e as Error).message);
      throw e;
    }
  });
  for (const f of failures) ctx.fail(`delete of ${f.resource.urn} failed: ${f.error.message}`);
}

/** Every resource in the state, dependents before dependencies; the state ends empty. */
export async function destroy(ctx: RunContext): Promise<void> {
  await deleteAll(ctx, [...ctx.state.liveResources(), ...ctx.state.pendingDeletes()]);
  if (ctx.ok) {
    ctx.state.setOutputs({});
    ctx.state.save();
  }
}

/**
 * Reads every provider-managed resource: an empty id means it is gone (dropped from the state);
 * otherwise the new outputs (and inputs, if the provider returns them) replace the stored ones,
 * keeping secretness the way the real engine does for providers that do not accept secrets.
 */
export async function refresh(ctx: RunContext): Promise<void> {
  const targets = [...ctx.state.liveResources(), ...ctx.state.pendingDeletes()].filter((r) => r.custom);
  await Promise.all(
    targets.map(async (r) => {
      const entry = ctx.report(r.urn, r.type, "refresh");
      try {
        if (!isDynamic(r.type)) throw new Error(foreignProviderMessage("resource", r.type, foreignProviderInfo(r.type, undefined, ctx.project.pwd)));
        const plugin = await ctx.plugin();
        entry.providerCalls.push("Read");
        const read = await plugin.read(r.id, r.urn, r.outputs, r.inputs);
        if (!read.id) {
          entry.op = "gone";
          ctx.state.forget(r);
          ctx.state.save();
          return;
        }
        const outputs: PropertyMap = annotateSecrets(read.outputs, r.outputs);
        const inputs: PropertyMap = read.inputs ? annotateSecrets(read.inputs, r.inputs) : r.inputs;
        entry.changes = changedKeys(r.outputs, outputs);
        ctx.logs.addSecrets(secretStrings(outputs));
        Object.assign(r, { id: read.id, outputs, inputs });
        // Kept until the provider next writes the resource, so that the update it then asks for
        // can name what drifted even where no input matches (see Deployment.changesOf).
        if (entry.changes.length > 0) r.drift = [...new Set([...(r.drift ?? []), ...entry.changes])].sort();
        ctx.state.save();
      } catch (e) {
        entry.error = ctx.logs.scrub((e as Error).message);
        ctx.fail(`refresh of ${r.urn} failed: ${(e as Error).message}`);
      }
    }),
  );
}
