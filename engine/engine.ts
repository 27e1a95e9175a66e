/**
 * A small stand-in for the Pulumi engine, for machines without the Pulumi CLI: it runs a real
 * Pulumi program through the SDK's own runner, forwards dynamic resources to the SDK's real
 * dynamic-provider plugin, and keeps state in a JSON file. Everything below the engine — program,
 * SDK runtime, closure serialization, plugin, provider code — is the real thing.
 *
 *   const summary = await runEngine({ op: "up", dir, stack: "dev", stateFile });
 *
 * `up` runs like `pulumi up` without --skip-preview: a preview pass first (the program with
 * --dry-run, Check and Diff only), and the update pass only if the preview succeeded. With
 * `refresh` (`pulumi up --refresh`) a refresh pass (Read of every resource) comes before both.
 * All passes share one gRPC server and one plugin process.
 */
import * as path from "node:path";
import { RunContext } from "./context";
import { Deployment } from "./deployment";
import { LogSink } from "./logs";
import { startServer, type EngineServer, type MonitorHandler } from "./monitor";
import { destroy, refresh } from "./operations";
import { runProgram } from "./program";
import { loadProject, loadStackConfig } from "./project";
import { makeSecret, redact, secretStrings } from "./properties";
import type { Json, PropertyMap, resproto } from "./sdk";
import { passphraseEnv } from "./secrets";
import { migrateShims } from "./shimMigration";
import { StateStore } from "./state";
import type { EngineOptions, EngineSummary } from "./types";

export type { EngineOptions, EngineSummary, ResourceSummary, ResourceOp, StateFile, StateResource, Operation } from "./types";

/** Without a program (refresh, destroy) the server only exists to give the plugin an engine address. */
function quietHandler(logs: LogSink): MonitorHandler {
  const refuse = async (): Promise<never> => {
    throw new Error("no program is running");
  };
  return {
    registerResource: refuse,
    readResource: refuse,
    invoke: () => {
      throw new Error("no program is running");
    },
    registerResourceOutputs: () => undefined,
    log: (severity, message) => logs.log(severity, message),
  };
}

/**
 * One server for the whole run, answering for whichever pass is running: the plugin is started
 * once, with this server's address, and serves both passes of an `up`.
 */
class PassHandler implements MonitorHandler {
  constructor(public current: MonitorHandler) {}
  registerResource(req: resproto.RegisterResourceRequest): Promise<resproto.RegisterResourceResponse> {
    return this.current.registerResource(req);
  }
  readResource(req: resproto.ReadResourceRequest): Promise<resproto.ReadResourceResponse> {
    return this.current.readResource(req);
  }
  invoke(req: resproto.ResourceInvokeRequest): never {
    return this.current.invoke(req);
  }
  registerResourceOutputs(urn: string, outputs: PropertyMap): void {
    this.current.registerResourceOutputs(urn, outputs);
  }
  log(severity: "debug" | "info" | "warning" | "error", message: string, urn: string): void {
    this.current.log(severity, message, urn);
  }
}

/** Secret config values: whole, and, when one holds JSON (a connection object), by the object rule. */
function configSecrets(values: string[]): string[] {
  const out = [...values];
  for (const v of values) {
    if (!/^\s*[[{]/.test(v)) continue;
    try {
      out.push(...secretStrings(makeSecret(JSON.parse(v) as Json)));
    } catch {
      // not JSON after all: the whole value is scrubbed
    }
  }
  return out;
}

/**
 * One pass of `up` or `preview`: the program runs against a Deployment (dry-run for a preview), then
 * the deployment finishes (deletes, or reports them in a preview). Every failure lands in `ctx`.
 * Returns the stack outputs the program registered (else the recorded ones).
 */
async function deploymentPass(ctx: RunContext, handler: PassHandler, engineAddr: string, dryRun: boolean): Promise<PropertyMap> {
  const deployment = new Deployment(ctx, dryRun);
  handler.current = deployment;
  try {
    const exit = await runProgram({
      project: ctx.project,
      stack: ctx.opts.stack,
      config: ctx.config,
      monitorAddr: engineAddr,
      dryRun,
      env: ctx.env,
      logs: ctx.logs,
    });
    if (exit.code !== 0 && ctx.ok) {
      // A resource failure already explains a non-zero exit; otherwise the program itself failed.
      const why = deployment.programErrors.length > 0 ? `: ${deployment.programErrors.join("\n")}` : "";
      ctx.fail(`the program ${ctx.project.dir} exited with ${exit.signal ?? `code ${exit.code}`}${why}`);
    }
    await deployment.finish();
  } catch (e) {
    ctx.fail(e instanceof Error ? e.message : String(e));
  } finally {
    handler.current = quietHandler(ctx.logs);
  }
  return deployment.outputs ?? ctx.state.outputs;
}

export async function runEngine(opts: EngineOptions): Promise<EngineSummary> {
  const logs = new LogSink(opts.onLog);
  const failures: string[] = [];
  /** The context of the pass the summary describes (up: the update pass, or the preview that failed). */
  let ctx: RunContext | undefined;
  /** The first context: it owns the plugin. */
  let root: RunContext | undefined;
  let server: EngineServer | undefined;
  let outputs: PropertyMap = {};
  let previewFailed = false;
  let refreshFailed = false;
  let refreshed: EngineSummary["refreshed"];
  try {
    const project = loadProject(path.resolve(opts.dir));
    if (project.warning) logs.log("warning", project.warning);
    const config = loadStackConfig(project, opts.stack, opts.config, opts.secretConfig);
    logs.addSecrets(configSecrets(config.secretKeys.map((k) => config.values[k])));
    const passphrase = opts.env?.[passphraseEnv] ?? process.env[passphraseEnv];
    const state = StateStore.load(path.resolve(opts.stateFile), opts.stack, project.name, passphrase, opts.op === "preview");
    for (const r of [...state.liveResources(), ...state.pendingDeletes()]) {
      logs.addSecrets(secretStrings(r.inputs));
      logs.addSecrets(secretStrings(r.outputs));
    }
    logs.addSecrets(secretStrings(state.outputs));
    const migrated = await migrateShims([...state.liveResources(), ...state.pendingDeletes()]);
    if (migrated > 0) {
      logs.log("info", `state: ${migrated} resource(s) written by bridgelab 0.1 now load the installed bridgelab package (provider shim migrated)`);
      state.save();
    }

    root = ctx = new RunContext(opts, project, config, state, logs);
    const handler = new PassHandler(quietHandler(logs));
    server = await startServer(handler);
    ctx.engineAddr = server.addr;

    if (opts.op === "up" || opts.op === "preview") {
      // Start the plugin while the program boots (both take about a second); errors surface on first use.
      ctx.plugin().catch(() => undefined);
      const previewFirst = opts.op === "up" && !opts.skipPreview;
      const passes = (opts.refresh ? 1 : 0) + (previewFirst ? 1 : 0) + 1;
      let pass = 0;
      const passNote = () => (passes > 1 ? ` (pass ${++pass} of ${passes})` : "");
      if (opts.refresh) {
        // Like `pulumi up --refresh`: the state is brought in line with the hosts first (gone
        // resources dropped, drift recorded), so the preview and the update step against what is
        // really there. A failed Read stops the run here, before anything is changed.
        const refreshing = root.nextPass();
        logs.log("info", `refreshing stack ${opts.stack}${passNote()}`);
        await refresh(refreshing);
        refreshed = refreshing.resources;
        if (!refreshing.ok) {
          ctx = refreshing;
          refreshFailed = true;
          outputs = state.outputs;
        }
      }
      if (previewFirst && !refreshFailed) {
        // Like `pulumi up` (without --skip-preview): a full preview first; if it fails, nothing is changed.
        const preview = root.nextPass();
        logs.log("info", `previewing the update of stack ${opts.stack}${passNote()}`);
        await deploymentPass(preview, handler, server.addr, true);
        if (!preview.ok) {
          ctx = preview;
          previewFailed = true;
          outputs = state.outputs; // unchanged (the preview's own outputs hold unknowns)
        }
      }
      if (!previewFailed && !refreshFailed) {
        if (passes > 1) logs.log("info", `${opts.op === "up" ? "updating" : "previewing the update of"} stack ${opts.stack}${passNote()}`);
        outputs = await deploymentPass(ctx, handler, server.addr, opts.op === "preview");
      }
    } else if (opts.op === "refresh") {
      await refresh(ctx);
      outputs = state.outputs;
    } else if (opts.op === "destroy") {
      await destroy(ctx);
      outputs = state.outputs;
    } else {
      throw new Error(`unknown operation ${String(opts.op)}: expected up, preview, refresh or destroy`);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (ctx) ctx.fail(message);
    else failures.push(logs.scrub(message));
  } finally {
    try {
      ctx?.state.flush();
    } catch (e) {
      failures.push(`writing the state failed: ${(e as Error).message}`);
    }
    await root?.close().catch((e: Error) => failures.push(`stopping the plugin failed: ${e.message}`));
    await server?.stop();
  }
  failures.unshift(...(ctx?.failures ?? []));
  const summary: EngineSummary = {
    op: opts.op,
    ok: failures.length === 0,
    resources: ctx?.resources ?? [],
    outputs: redact(outputs) as Record<string, unknown>,
    logs: logs.lines.map((l) => logs.scrub(l)),
  };
  if (failures.length > 0) {
    const error = logs.scrub(failures.join("\n"));
    summary.error = previewFailed
      ? `the preview failed, so nothing was changed:\n${error}`
      : refreshFailed
        ? `the refresh failed, so nothing was changed:\n${error}`
        : error;
  }
  if (previewFailed) summary.previewFailed = true;
  if (refreshed) summary.refreshed = refreshed;
  if (refreshFailed) summary.refreshFailed = true;
  return summary;
}
