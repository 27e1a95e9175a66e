/**
 * `up` and `preview`: answers the program's resource registrations by stepping each resource
 * against the state, the way the real engine's step generator does for a provider without preview
 * support:
 *
 *   new            → Check → Create            (preview: Check only; outputs = checked inputs, id unknown)
 *   existing       → Check → Diff → nothing    ("same": old outputs go back to the program)
 *                                 → Update     (preview: outputs = checked inputs)
 *                                 → replace    deleteBeforeReplace: first the dependents that would be
 *                                              replaced too (see replaceDependents), then Delete, then
 *                                              Create; otherwise Create now, Delete the old one after
 *                                              the program
 *   deleted as a dependent → Check (new inputs only) → Create ("replace", no Diff)
 *   not registered → Delete after the program, dependents first (only if everything else succeeded)
 *
 * Preview returns, like the real engine, the checked inputs as outputs of a create/update/replace:
 * values the program set are known, output-only properties and the id are unknown.
 */
import type { RunContext } from "./context";
import type { MonitorHandler } from "./monitor";
import { topoOrder } from "./graph";
import { foreignProviderInfo, foreignProviderMessage } from "./foreignProviders";
import { deleteAll, deleteResource, isDynamic } from "./operations";
import type { DiffResult } from "./plugin";
import { annotateSecrets, changedKeys, differs, markSecretOutputs, secretStrings, unknownValue } from "./properties";
import { resproto, toStruct, fromStruct, type PropertyMap } from "./sdk";
import type { ResourceOp, ResourceSummary, StateResource } from "./types";
import { makeUrn, rootStackType, urnQualifiedType, urnType } from "./urn";

/** Resource options that matter to the engine, as sent in RegisterResource. */
interface Goal {
  urn: string;
  type: string;
  parent: string;
  custom: boolean;
  inputs: PropertyMap;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  deleteBeforeReplace?: boolean;
  additionalSecretOutputs: string[];
  protect?: boolean;
  retainOnDelete?: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
}

interface StepResult {
  id: string;
  outputs: PropertyMap;
}

/** The program saw this resource fail; the failure is already recorded (avoids double reporting). */
class StepError extends Error {}

/** A dependent deleted ahead of a delete-before-replace: recreated if the program registers it again. */
interface DeletedDependent {
  old: StateResource;
  /** The input keys whose replacement made it go (the unknowns its Diff answered with replaces for). */
  keys: string[];
}

export class Deployment implements MonitorHandler {
  private readonly registered = new Set<string>();
  /** Old halves of create-before-delete replacements, with the summary line they belong to. */
  private readonly replaced = new Map<StateResource, ResourceSummary>();
  /** Dependents deleted ahead of a delete-before-replace, by URN. */
  private readonly deletedDependents = new Map<string, DeletedDependent>();
  /**
   * Summary lines opened before the program registered the resource (a dependent's Diff or Delete
   * during another resource's delete-before-replace), taken over by its own step: one line per resource.
   */
  private readonly openEntries = new Map<string, ResourceSummary>();
  private readonly errorLogs: string[] = [];
  private stackOutputs: PropertyMap | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly preview: boolean,
  ) {}

  /** Stack outputs the program registered this run, if it got that far. */
  get outputs(): PropertyMap | undefined {
    return this.stackOutputs;
  }

  /** Error messages the program logged (for reporting a program failure). */
  get programErrors(): string[] {
    return this.errorLogs;
  }

  log(severity: "debug" | "info" | "warning" | "error", message: string, urn: string): void {
    if (severity === "debug") return; // the CLI hides these unless run with -v
    if (severity === "error") this.errorLogs.push(message);
    this.ctx.logs.log(severity, urn ? `${message} (${urn})` : message);
  }

  async registerResource(req: resproto.RegisterResourceRequest): Promise<resproto.RegisterResourceResponse> {
    const goal = this.goalOf(req);
    if (this.registered.has(goal.urn)) {
      throw new Error(`duplicate resource URN ${goal.urn}: two resources have the same type and name`);
    }
    this.registered.add(goal.urn);
    this.ctx.logs.addSecrets(secretStrings(goal.inputs));
    // With result reporting (every current SDK) a failed or skipped step is answered, not thrown:
    // the program's dependent outputs become unknown and it ends normally, as with the real engine.
    // A thrown gRPC error would instead kill the program with an unhandled rejection.
    const reportsResults = req.getSupportsresultreporting();
    const resp = new resproto.RegisterResourceResponse().setUrn(goal.urn);
    if (!this.ctx.ok) {
      // As in the real engine (without --continue-on-error), nothing more is stepped after a failure.
      this.ctx.logs.log("info", `skipped ${goal.urn}: an earlier step failed`);
      if (reportsResults) return resp.setResult(resproto.Result.SKIP);
      throw new Error(`${goal.urn} was not processed: an earlier step of this ${this.ctx.opts.op} failed`);
    }
    try {
      const result = goal.custom ? await this.stepCustom(goal, req) : this.stepComponent(goal, req);
      return resp.setId(result.id).setObject(toStruct(result.outputs));
    } catch (e) {
      if (e instanceof StepError && reportsResults) return resp.setResult(resproto.Result.FAIL);
      throw e;
    }
  }

  /** `Resource.get` / the `id` option: Read by id, recorded as external (never deleted by the engine). */
  async readResource(req: resproto.ReadResourceRequest): Promise<resproto.ReadResourceResponse> {
    const type = req.getType();
    const urn = makeUrn(this.ctx.opts.stack, this.ctx.project.name, req.getParent(), type, req.getName());
    if (this.registered.has(urn)) throw new Error(`duplicate resource URN ${urn}: two resources have the same type and name`);
    this.registered.add(urn);
    const entry = this.entry(urn, type, "read");
    try {
      this.checkProvider(type, req.getProvider(), req.getVersion());
      const props = fromStruct(req.getProperties());
      const plugin = await this.ctx.plugin();
      entry.providerCalls.push("Read");
      const read = await plugin.read(req.getId(), urn, props, undefined);
      if (!read.id) throw new Error(`resource ${req.getId()} does not exist`);
      const outputs = markSecretOutputs(annotateSecrets(read.outputs, props), req.getAdditionalsecretoutputsList());
      if (!this.preview) {
        this.ctx.state.put({
          urn,
          type,
          custom: true,
          id: read.id,
          parent: req.getParent(),
          inputs: read.inputs ?? props,
          outputs,
          dependencies: req.getDependenciesList(),
          external: true,
        });
        this.ctx.state.save();
      }
      const resp = new resproto.ReadResourceResponse();
      resp.setUrn(urn);
      resp.setProperties(toStruct(outputs));
      return resp;
    } catch (e) {
      throw this.failed(entry, "read", urn, e);
    }
  }

  registerResourceOutputs(urn: string, outputs: PropertyMap): void {
    this.ctx.logs.addSecrets(secretStrings(outputs));
    const isStack = urnQualifiedType(urn) === rootStackType;
    if (isStack) this.stackOutputs = outputs;
    // After a failure, outputs may hold unknowns from failed or skipped resources: keep the old ones.
    if (this.preview || !this.ctx.ok) return;
    const r = this.ctx.state.get(urn);
    if (r) r.outputs = outputs;
    if (isStack) this.ctx.state.setOutputs(outputs);
    this.ctx.state.save();
  }

  /**
   * After the program: the resources it no longer declares, plus old halves of replacements, are
   * deleted (up) or reported as deletions (preview). Only after a successful program, as in the real
   * engine (deletes are generated only once the program has completed): after a failure — of the
   * program or of any step — the program may not have registered everything it declares, so nothing
   * is deleted or reported as deleted. Dependents deleted ahead of a delete-before-replace and not
   * declared again are already gone (their summary line says delete).
   */
  async finish(): Promise<void> {
    if (!this.ctx.ok) return;
    const unregistered = this.ctx.state
      .liveResources()
      .filter((r) => !this.registered.has(r.urn) && !this.deletedDependents.has(r.urn));
    const pending = this.ctx.state.pendingDeletes();
    if (this.preview) {
      for (const r of [...unregistered, ...pending.filter((p) => !this.replaced.has(p))]) this.entry(r.urn, r.type, "delete");
      return;
    }
    await deleteAll(this.ctx, [...unregistered, ...pending], (r) => this.replaced.get(r) ?? this.entry(r.urn, r.type, "delete"));
  }

  /** The resource's summary line: the one opened for it earlier in this run, else a new one. */
  private entry(urn: string, type: string, op: ResourceOp): ResourceSummary {
    const open = this.openEntries.get(urn);
    if (!open) return this.ctx.report(urn, type, op);
    this.openEntries.delete(urn);
    open.op = op;
    return open;
  }

  private goalOf(req: resproto.RegisterResourceRequest): Goal {
    const type = req.getType();
    const parent = req.getParent();
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => {
      if (deps.getUrnsList().length > 0) propertyDependencies[key] = deps.getUrnsList();
    });
    return {
      urn: makeUrn(this.ctx.opts.stack, this.ctx.project.name, parent, type, req.getName()),
      type,
      parent,
      custom: req.getCustom(),
      inputs: fromStruct(req.getObject()),
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete(),
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
    };
  }

  /** The state record for a goal; optional fields only when set, to keep the file readable. */
  private record(goal: Goal, id: string, inputs: PropertyMap, outputs: PropertyMap): StateResource {
    const r: StateResource = {
      urn: goal.urn,
      type: goal.type,
      custom: goal.custom,
      id,
      parent: goal.parent,
      inputs,
      outputs,
      dependencies: goal.dependencies,
    };
    if (Object.keys(goal.propertyDependencies).length > 0) r.propertyDependencies = goal.propertyDependencies;
    if (goal.deleteBeforeReplace !== undefined) r.deleteBeforeReplace = goal.deleteBeforeReplace;
    if (goal.replaceOnChanges.length > 0) r.replaceOnChanges = goal.replaceOnChanges;
    if (goal.additionalSecretOutputs.length > 0) r.additionalSecretOutputs = goal.additionalSecretOutputs;
    if (goal.protect) r.protect = true;
    if (goal.retainOnDelete) r.retainOnDelete = true;
    return r;
  }

  /** Components and the stack have no provider: they are recorded, keeping outputs they registered before. */
  private stepComponent(goal: Goal, req: resproto.RegisterResourceRequest): StepResult {
    const old = this.ctx.state.get(goal.urn);
    const entry = this.entry(goal.urn, goal.type, old ? "same" : "create");
    if (req.getRemote()) {
      throw this.failed(entry, entry.op, goal.urn, new Error("remote (multi-language) components are not supported by the test engine"));
    }
    if (!this.preview) {
      this.ctx.state.put(this.record(goal, "", goal.inputs, old?.outputs ?? {}));
      this.ctx.state.save();
    }
    return { id: "", outputs: {} };
  }

  /**
   * Only dynamic resources have a provider here (the SDK's dynamic-provider plugin); any other
   * needs its package's plugin, which the bundled engine does not run: say which, and what to do.
   */
  private checkProvider(type: string, providerRef: string, version: string): void {
    if (providerRef) {
      const providerType = urnType(providerRef.split("::").slice(0, 4).join("::"));
      throw new Error(foreignProviderMessage("resource", type, foreignProviderInfo(providerType, version, this.ctx.project.pwd)));
    }
    if (!isDynamic(type)) {
      const use = type.startsWith("pulumi:providers:") ? "provider" : "resource";
      throw new Error(foreignProviderMessage(use, type, foreignProviderInfo(type, version, this.ctx.project.pwd)));
    }
  }

  /** Functions (data sources such as aws.ssm.getParameter) all belong to provider packages. */
  invoke(req: resproto.ResourceInvokeRequest): never {
    const tok = req.getTok();
    const message = foreignProviderMessage("function", tok, foreignProviderInfo(tok, req.getVersion(), this.ctx.project.pwd));
    // The program fails on it (an unhandled rejection); the run's error says why, once.
    this.ctx.fail(`invoke of ${tok} failed: ${message}`);
    throw new Error(message);
  }

  private async stepCustom(goal: Goal, req: resproto.RegisterResourceRequest): Promise<StepResult> {
    const recreating = this.deletedDependents.get(goal.urn);
    const found = recreating ? undefined : this.ctx.state.get(goal.urn);
    const old = found && !found.external ? found : undefined;
    const entry = this.entry(goal.urn, goal.type, recreating ? "replace" : old ? "same" : "create");
    try {
      if (req.getImportid()) throw new Error("the import option is not supported by the test engine");
      this.checkProvider(goal.type, req.getProvider(), req.getVersion());
      if (recreating) return await this.recreate(goal, recreating, entry);
      return await this.step(goal, old, entry);
    } catch (e) {
      throw this.failed(entry, entry.op, goal.urn, e);
    }
  }

  private failed(entry: ResourceSummary, op: string, urn: string, e: unknown): Error {
    if (e instanceof StepError) return e;
    const message = e instanceof Error ? e.message : String(e);
    entry.error = this.ctx.logs.scrub(message);
    this.ctx.fail(`${op} of ${urn} failed: ${message}`);
    return new StepError(`${op} of ${urn} failed: ${this.ctx.logs.scrub(message)}`);
  }

  private async step(goal: Goal, old: StateResource | undefined, entry: ResourceSummary): Promise<StepResult> {
    const plugin = await this.ctx.plugin();
    const news = old ? withIgnoredChanges(goal.inputs, old.inputs, goal.ignoreChanges) : goal.inputs;

    entry.providerCalls.push("Check");
    const checked = await plugin.check(goal.urn, old?.inputs ?? {}, news);
    if (checked.failures.length > 0) throw new Error(`check failed: ${checkReasons(checked.failures)}`);
    const inputs = annotateSecrets(checked.inputs, news);

    if (!old) {
      entry.op = "create";
      if (this.preview) return { id: "", outputs: inputs };
      return this.create(goal, inputs, entry);
    }

    entry.providerCalls.push("Diff");
    const diff = await plugin.diff(old.id, goal.urn, old.outputs, inputs, old.inputs);
    const changed = changedKeys(old.inputs, inputs);
    const hasChanges = diff.changes === "some" || diff.replaces.length > 0 || (diff.changes === "unknown" && changed.length > 0);
    if (!hasChanges) {
      entry.op = "same";
      if (!this.preview) {
        this.ctx.state.put(this.record(goal, old.id, inputs, old.outputs));
        this.ctx.state.save();
      }
      return { id: old.id, outputs: old.outputs };
    }

    const visible = changesOf(old, inputs, diff);
    const replaces = new Set(diff.replaces);
    for (const k of visible) {
      if (goal.replaceOnChanges.includes("*") || goal.replaceOnChanges.includes(k)) replaces.add(k);
    }
    entry.changes = [...new Set([...visible, ...replaces])].sort();

    if (replaces.size === 0) {
      entry.op = "update";
      if (this.preview) return { id: old.id, outputs: inputs };
      entry.providerCalls.push("Update");
      const outs = await plugin.update(old.id, goal.urn, old.outputs, inputs, old.inputs);
      const outputs = markSecretOutputs(annotateSecrets(outs, inputs), goal.additionalSecretOutputs);
      this.ctx.state.put(this.record(goal, old.id, inputs, outputs));
      this.ctx.state.save();
      return { id: old.id, outputs };
    }

    entry.op = "replace";
    if (old.protect) throw new Error(`it must be replaced (${[...replaces].join(", ")} changed) but it is protected`);
    const deleteBeforeReplace = goal.deleteBeforeReplace ?? diff.deleteBeforeReplace;
    if (!deleteBeforeReplace) {
      if (this.preview) return { id: "", outputs: inputs };
      return this.create(goal, inputs, entry, old);
    }
    entry.deleteFirst = true;
    await this.replaceDependents(old);
    if (this.preview) return { id: "", outputs: inputs };
    await deleteResource(this.ctx, old, entry);
    return this.create(goal, inputs, entry);
  }

  /**
   * A dependent deleted ahead of a delete-before-replace and registered again: as in the real engine
   * its old inputs are void (the object is gone), so Check sees the new inputs only, then Create; no
   * Diff. Reported as a replacement, naming the keys that forced it and the inputs that differ.
   */
  private async recreate(goal: Goal, deleted: DeletedDependent, entry: ResourceSummary): Promise<StepResult> {
    const plugin = await this.ctx.plugin();
    entry.op = "replace";
    entry.providerCalls.push("Check");
    const checked = await plugin.check(goal.urn, {}, goal.inputs);
    if (checked.failures.length > 0) throw new Error(`check failed: ${checkReasons(checked.failures)}`);
    const inputs = annotateSecrets(checked.inputs, goal.inputs);
    const differing = changedKeys(deleted.old.inputs, inputs).filter((k) => k !== "__provider");
    entry.changes = [...new Set([...deleted.keys, ...differing])].sort();
    if (this.preview) return { id: "", outputs: inputs };
    return this.create(goal, inputs, entry);
  }

  /**
   * Before `root` is deleted for a delete-before-replace, the resources that would be replaced as a
   * consequence are deleted first, dependents before their dependencies — the real engine's
   * calculateDependentReplacements. Candidates are the resources of the old state that depend on
   * `root` transitively (dependencies and property dependencies, not parents), except those this run
   * has registered already. In state order, a candidate joins the replace set when it is a custom,
   * non-external resource with a property dependency on a member of the set and its provider's Diff,
   * with each such input replaced by an unknown (its replaceOnChanges applied), asks for a replacement.
   * A plain dependsOn edge never does. In a preview nothing is deleted, but the same Diffs run and
   * the dependents are reported (and later recreated) the same way.
   */
  private async replaceDependents(root: StateResource): Promise<void> {
    const dependents = new Set([root.urn]);
    const replaceSet = new Set([root.urn]);
    let toReplace: Array<{ r: StateResource; keys: string[]; entry: ResourceSummary }> = [];
    for (const r of topoOrder(this.ctx.state.liveResources())) {
      if (r.urn === root.urn || this.registered.has(r.urn) || this.deletedDependents.has(r.urn)) continue;
      const deps = [...r.dependencies, ...Object.values(r.propertyDependencies ?? {}).flat()];
      if (!deps.some((d) => dependents.has(d))) continue;
      dependents.add(r.urn);
      if (!r.custom || r.external) continue;

      const inputsForDiff: PropertyMap = { ...r.inputs };
      let touched = false;
      for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
        if (k in r.inputs && urns.some((u) => replaceSet.has(u))) {
          inputsForDiff[k] = unknownValue;
          touched = true;
        }
      }
      if (!touched) continue;

      const entry = this.openEntries.get(r.urn) ?? this.ctx.report(r.urn, r.type, "same");
      this.openEntries.set(r.urn, entry);
      try {
        if (!isDynamic(r.type)) throw new Error(`unsupported provider for ${r.type} in the test engine`);
        const plugin = await this.ctx.plugin();
        entry.providerCalls.push("Diff");
        const diff = await plugin.diff(r.id, r.urn, r.outputs, inputsForDiff, r.inputs);
        const changed = diff.changes === "none" ? [] : changedKeys(r.inputs, inputsForDiff).filter((k) => k !== "__provider");
        const replaces = new Set(diff.replaces);
        const onChanges = r.replaceOnChanges ?? [];
        for (const k of changed) if (onChanges.includes("*") || onChanges.includes(k)) replaces.add(k);
        if (replaces.size === 0) continue;
        replaceSet.add(r.urn);
        toReplace.push({ r, keys: [...replaces].sort(), entry });
      } catch (e) {
        entry.error = this.ctx.logs.scrub((e as Error).message);
        throw new Error(`the diff of its dependent ${r.urn} failed: ${(e as Error).message}`);
      }
    }

    // A candidate the program registered while the Diffs ran no longer depends on root (dependents
    // wait for root's outputs): its own step decides what happens to it.
    toReplace = toReplace.filter((d) => !this.registered.has(d.r.urn));
    const protectedOnes = toReplace.filter((d) => d.r.protect).map((d) => d.r.urn);
    if (protectedOnes.length > 0) {
      throw new Error(
        `it must be deleted before it is replaced, and so must ${protectedOnes.join(", ")}, which depend${protectedOnes.length === 1 ? "s" : ""} on it, but ${protectedOnes.length === 1 ? "it is" : "they are"} protected`,
      );
    }
    for (const d of toReplace.reverse()) {
      d.entry.op = "delete";
      d.entry.changes = d.keys;
      d.entry.deleteFirst = true;
      this.deletedDependents.set(d.r.urn, { old: d.r, keys: d.keys });
      if (this.preview) continue;
      try {
        await deleteResource(this.ctx, d.r, d.entry);
      } catch (e) {
        d.entry.error = this.ctx.logs.scrub((e as Error).message);
        throw new Error(`deleting its dependent ${d.r.urn} (to replace it after) failed: ${(e as Error).message}`);
      }
    }
  }

  /** Create; with `replacing`, the old resource is kept as pending-delete in the same state write. */
  private async create(goal: Goal, inputs: PropertyMap, entry: ResourceSummary, replacing?: StateResource): Promise<StepResult> {
    const plugin = await this.ctx.plugin();
    entry.providerCalls.push("Create");
    const created = await plugin.create(goal.urn, inputs);
    const outputs = markSecretOutputs(annotateSecrets(created.outputs, inputs), goal.additionalSecretOutputs);
    if (replacing) {
      this.replaced.set(this.ctx.state.condemn(replacing), entry);
    }
    this.ctx.state.put(this.record(goal, created.id, inputs, outputs));
    this.ctx.state.save();
    return { id: created.id, outputs };
  }
}

function checkReasons(failures: Array<{ property: string; reason: string }>): string {
  return failures.map((f) => (f.property ? `${f.property}: ${f.reason}` : f.reason)).join("; ");
}

/**
 * What an update or replacement changes, for the summary: the inputs that differ from the old
 * inputs (`__provider`, the provider's code, only when the engine itself is the judge, i.e. without
 * a diff method, or when nothing else differs); and when the provider's Diff asked for the change,
 * also the inputs whose value differs from the old output of the same key (drift) and the output
 * keys a refresh recorded as drifted that no input matches (e.g. a rule deleted by hand, seen only
 * in an output). Empty only when the provider asks for a change that nothing recorded explains.
 */
export function changesOf(old: StateResource, inputs: PropertyMap, diff: DiffResult): string[] {
  const changed = changedKeys(old.inputs, inputs);
  const keys = new Set(diff.changes === "unknown" ? changed : changed.filter((k) => k !== "__provider"));
  if (diff.changes === "some") {
    for (const k of Object.keys(inputs)) {
      if (k !== "__provider" && k in old.outputs && differs(old.outputs[k], inputs[k])) keys.add(k);
    }
    for (const k of old.drift ?? []) if (!(k in inputs)) keys.add(k);
  }
  if (keys.size === 0 && changed.includes("__provider")) keys.add("__provider");
  return [...keys].sort();
}

/**
 * The ignoreChanges option: listed top-level properties keep their old input values (the real
 * engine also accepts nested paths; the test engine only handles top-level keys and `*`).
 */
function withIgnoredChanges(news: PropertyMap, olds: PropertyMap, ignore: string[]): PropertyMap {
  if (ignore.length === 0) return news;
  const out: PropertyMap = { ...news };
  const keys = ignore.includes("*") ? Object.keys({ ...olds, ...news }).filter((k) => k !== "__provider") : ignore;
  for (const k of keys) {
    if (k in olds) out[k] = olds[k];
    else delete out[k];
  }
  return out;
}
