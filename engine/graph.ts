/**
 * Dependency order between resources. A resource depends on its explicit dependencies, on every
 * resource behind one of its property dependencies, and on its parent — the same edges the real
 * engine uses to order deletions (dependents are deleted before what they depend on).
 */
import type { StateResource } from "./types";

export function dependenciesOf(r: StateResource): Set<string> {
  const deps = new Set<string>(r.dependencies);
  for (const urns of Object.values(r.propertyDependencies ?? {})) for (const u of urns) deps.add(u);
  if (r.parent) deps.add(r.parent);
  deps.delete(r.urn);
  return deps;
}

/**
 * Stable topological order: every resource after the resources it depends on, otherwise keeping the
 * given order. This is the order of the state file, so that a reader sees dependencies first.
 */
export function topoOrder(resources: StateResource[]): StateResource[] {
  const byUrn = new Map<string, number[]>();
  resources.forEach((r, i) => byUrn.set(r.urn, [...(byUrn.get(r.urn) ?? []), i]));
  const done = new Set<number>();
  const visiting = new Set<number>();
  const out: StateResource[] = [];
  const visit = (i: number): void => {
    if (done.has(i) || visiting.has(i)) return; // a cycle (never produced by the SDK) is cut here
    visiting.add(i);
    for (const dep of dependenciesOf(resources[i])) for (const j of byUrn.get(dep) ?? []) visit(j);
    visiting.delete(i);
    done.add(i);
    out.push(resources[i]);
  };
  resources.forEach((_, i) => visit(i));
  return out;
}

/**
 * Runs `fn` on every resource, each one only after `fn` has finished for every resource in the set
 * that depends on it; independent resources run concurrently, as in the real engine. If a dependent
 * fails, its dependencies are not touched (deleting them could break the survivor) and are reported
 * as failed too.
 */
export async function inReverseDependencyOrder(
  resources: StateResource[],
  fn: (r: StateResource) => Promise<void>,
): Promise<Array<{ resource: StateResource; error: Error }>> {
  const dependents = new Map<number, number[]>();
  const byUrn = new Map<string, number[]>();
  resources.forEach((r, i) => byUrn.set(r.urn, [...(byUrn.get(r.urn) ?? []), i]));
  resources.forEach((r, i) => {
    for (const dep of dependenciesOf(r)) {
      for (const j of byUrn.get(dep) ?? []) dependents.set(j, [...(dependents.get(j) ?? []), i]);
    }
  });

  const failures: Array<{ resource: StateResource; error: Error }> = [];
  const promises = new Map<number, Promise<boolean>>();
  const visiting = new Set<number>();
  const run = (i: number): Promise<boolean> => {
    const existing = promises.get(i);
    if (existing) return existing;
    visiting.add(i);
    const waits = (dependents.get(i) ?? []).filter((j) => !visiting.has(j)).map(run);
    const p = Promise.all(waits).then(async (results) => {
      const r = resources[i];
      if (results.some((ok) => !ok)) {
        failures.push({ resource: r, error: new Error(`${r.urn} was not deleted because a resource depending on it could not be deleted`) });
        return false;
      }
      try {
        await fn(r);
        return true;
      } catch (e) {
        failures.push({ resource: r, error: e as Error });
        return false;
      }
    });
    promises.set(i, p);
    visiting.delete(i);
    return p;
  };
  await Promise.all(resources.map((_, i) => run(i)));
  return failures;
}
