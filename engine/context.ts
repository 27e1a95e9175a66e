/**
 * What one pass of an engine run shares between its parts: options, project, config, state, logs,
 * the summary being built, the failures so far, and the lazily started plugin (a run that touches no
 * dynamic resource never starts one). `up` makes two passes, preview then update: each has its own
 * summary and failures, and both use the same plugin process (nextPass).
 */
import { DynamicPlugin } from "./plugin";
import type { LogSink } from "./logs";
import type { Project, StackConfig } from "./project";
import { makeSecret } from "./properties";
import type { PropertyMap } from "./sdk";
import type { StateStore } from "./state";
import type { EngineOptions, ResourceOp, ResourceSummary } from "./types";
import { urnName } from "./urn";

export class RunContext {
  readonly resources: ResourceSummary[] = [];
  readonly failures: string[] = [];
  /** Set once the gRPC server is listening; the plugin is told this address. */
  engineAddr = "";

  constructor(
    readonly opts: EngineOptions,
    readonly project: Project,
    readonly config: StackConfig,
    readonly state: StateStore,
    readonly logs: LogSink,
    /** The plugin, shared by every pass of the run. */
    private readonly shared: { plugin?: Promise<DynamicPlugin> } = {},
  ) {}

  /**
   * A context for another pass of the same run: a summary and failures of its own; the same state,
   * logs, engine address and plugin. The plugin keeps nothing between calls but its module cache
   * (every call carries the resource's `__provider`), so reusing it is what a second start would give.
   */
  nextPass(): RunContext {
    const next = new RunContext(this.opts, this.project, this.config, this.state, this.logs, this.shared);
    next.engineAddr = this.engineAddr;
    return next;
  }

  get env(): Record<string, string> {
    return this.opts.env ?? {};
  }

  get ok(): boolean {
    return this.failures.length === 0;
  }

  /** Records a failure; the message must say what failed (usually the URN) and why. */
  fail(message: string): void {
    this.failures.push(this.logs.scrub(message));
    this.logs.log("error", message);
  }

  /** Adds a resource line to the summary; callers fill in op details as the step proceeds. */
  report(urn: string, type: string, op: ResourceOp): ResourceSummary {
    const entry: ResourceSummary = { urn, type, name: urnName(urn), op, providerCalls: [] };
    this.resources.push(entry);
    return entry;
  }

  /** The plugin, started (and configured) on first use; concurrent callers share one start. */
  plugin(): Promise<DynamicPlugin> {
    if (!this.shared.plugin) {
      const config: PropertyMap = {};
      const secret = new Set(this.config.secretKeys);
      for (const [k, v] of Object.entries(this.config.values)) config[k] = secret.has(k) ? makeSecret(v) : v;
      this.shared.plugin = DynamicPlugin.start({
        dir: this.project.pwd,
        engineAddr: this.engineAddr,
        project: this.project.name,
        stack: this.opts.stack,
        config,
        env: this.env,
        logs: this.logs,
      });
    }
    return this.shared.plugin;
  }

  /** Stops the plugin (of every pass: call it once, at the end of the run). */
  async close(): Promise<void> {
    if (!this.shared.plugin) return;
    const plugin = await this.shared.plugin.catch(() => undefined);
    await plugin?.kill();
  }
}
