/**
 * A small stand-in for the Pulumi engine, for machines without the Pulumi CLI: it runs a real
 * Pulumi program through the SDK's own runner, forwards dynamic resources to the SDK's real
 * dynamic-provider plugin, and keeps state in a JSON file. Everything below the engine — program,
 * SDK runtime, closure serialization, plugin, provider code — is the real thing.
 *
 *   const summary = await runEngine({ op: "up", dir, stack: "dev", stateFile });
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
import type { Json, PropertyMap } from "./sdk";
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
    registerResourceOutputs: () => undefined,
    log: (severity, message) => logs.log(severity, message),
  };
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

export async function runEngine(opts: EngineOptions): Promise<EngineSummary> {
  const logs = new LogSink(opts.onLog);
  const failures: string[] = [];
  let ctx: RunContext | undefined;
  let server: EngineServer | undefined;
  let outputs: PropertyMap = {};
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

    ctx = new RunContext(opts, project, config, state, logs);
    const deployment = opts.op === "up" || opts.op === "preview" ? new Deployment(ctx, opts.op === "preview") : undefined;
    server = await startServer(deployment ?? quietHandler(logs));
    ctx.engineAddr = server.addr;

    if (deployment) {
      // Start the plugin while the program boots (both take about a second); errors surface on first use.
      ctx.plugin().catch(() => undefined);
      const exit = await runProgram({
        project,
        stack: opts.stack,
        config,
        monitorAddr: server.addr,
        dryRun: opts.op === "preview",
        env: ctx.env,
        logs,
      });
      if (exit.code !== 0 && ctx.ok) {
        // A resource failure already explains a non-zero exit; otherwise the program itself failed.
        const why = deployment.programErrors.length > 0 ? `: ${deployment.programErrors.join("\n")}` : "";
        ctx.fail(`the program ${project.dir} exited with ${exit.signal ?? `code ${exit.code}`}${why}`);
      }
      await deployment.finish();
      outputs = deployment.outputs ?? state.outputs;
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
    await ctx?.close().catch((e: Error) => failures.push(`stopping the plugin failed: ${e.message}`));
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
  if (failures.length > 0) summary.error = logs.scrub(failures.join("\n"));
  return summary;
}
