/**
 * The real dynamic-provider plugin (`@pulumi/pulumi/cmd/dynamic-provider`), one process per run,
 * started the way the CLI starts `pulumi-resource-pulumi-nodejs`: `node <plugin> <engine-addr>` in
 * the program directory, with the project name and config in its environment. Its first stdout line
 * is the port of its gRPC ResourceProvider server; everything after that is provider output
 * (`console.log` in provider code), which becomes log lines.
 *
 * Every method strips secrets and resource references first (the plugin accepts neither), so a
 * caller cannot forget to.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as readline from "node:readline";
import type { ServiceError } from "@grpc/grpc-js";
import { grpc, grpcOptions, provproto, provrpc, fromStruct, toStruct, type PropertyMap } from "./sdk";
import { mapForPlugin } from "./properties";
import type { LogSink } from "./logs";

export interface CheckFailure {
  property: string;
  reason: string;
}

export interface DiffResult {
  changes: "unknown" | "none" | "some";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export interface PluginStartOptions {
  dir: string;
  engineAddr: string;
  project: string;
  stack: string;
  /** Full stack config, `ns:key` → value (secret values wrapped as secrets). */
  config: PropertyMap;
  env: Record<string, string>;
  logs: LogSink;
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

export class DynamicPlugin {
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly client: provrpc.ResourceProviderClient,
    private readonly pluginPath: string,
    /** The plugin's last stderr lines, quoted when it dies under a call. */
    private readonly stderrTail: string[],
  ) {
    this.exitPromise = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("exit", () => {
      this.exited = true;
    });
  }

  /** Plugin processes started by this process so far (tests check that a run starts one). */
  static started = 0;

  static async start(o: PluginStartOptions): Promise<DynamicPlugin> {
    let pluginPath: string;
    try {
      pluginPath = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [o.dir] });
    } catch (e) {
      throw new Error(`cannot resolve @pulumi/pulumi/cmd/dynamic-provider from ${o.dir}: ${(e as Error).message}`);
    }
    DynamicPlugin.started++;
    const child = spawn(process.execPath, [pluginPath, o.engineAddr], {
      cwd: o.dir,
      env: {
        ...process.env,
        ...o.env,
        // What the CLI gives pulumi-resource-pulumi-nodejs: Config in configure() needs the project name.
        PULUMI_NODEJS_PROJECT: o.project,
        PULUMI_PROJECT: o.project,
        PULUMI_NODEJS_STACK: o.stack,
        PULUMI_STACK: o.stack,
        PULUMI_CONFIG: JSON.stringify(mapForPlugin(o.config)),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });

    const stderrTail: string[] = [];
    readline.createInterface({ input: child.stderr! }).on("line", (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
      o.logs.log("provider", line);
    });

    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) => {
        let gotPort = false;
        readline.createInterface({ input: child.stdout! }).on("line", (line) => {
          if (gotPort) {
            o.logs.log("provider", line);
            return;
          }
          gotPort = true;
          const n = Number(line.trim());
          if (Number.isInteger(n) && n > 0) resolve(n);
          else reject(new Error(`dynamic-provider plugin ${pluginPath} printed ${JSON.stringify(line)} instead of its port`));
        });
        child.once("error", (e) => reject(new Error(`cannot start dynamic-provider plugin ${pluginPath}: ${e.message}`)));
        child.once("exit", (code, signal) => {
          if (!gotPort) {
            const why = stderrTail.join("\n");
            reject(new Error(`dynamic-provider plugin ${pluginPath} exited (${signal ?? code}) before printing its port: ${why}`));
          }
        });
      });
    } catch (e) {
      child.kill("SIGKILL");
      throw e;
    }

    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), grpcOptions);
    const plugin = new DynamicPlugin(child, client, pluginPath, stderrTail);
    try {
      await plugin.configure(o.config);
    } catch (e) {
      await plugin.kill();
      throw new Error(`Configure of dynamic-provider plugin ${pluginPath} failed: ${(e as Error).message}`);
    }
    return plugin;
  }

  /** Unary call; the error carries the provider's own message (callers add which resource failed). */
  private call<Res>(invoke: (cb: Callback<Res>) => unknown): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke((err, res) => {
        if (!err) return resolve(res);
        let message = err.details || err.message;
        if (this.exited) message += ` (the plugin has exited; its last output: ${this.stderrTail.slice(-5).join(" | ")})`;
        reject(new Error(message));
      });
    });
  }

  private async configure(config: PropertyMap): Promise<void> {
    const req = new provproto.ConfigureRequest();
    // The real engine always offers secrets and references; the plugin answers that it accepts neither.
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    req.setSendsOldInputs(true);
    req.setSendsOldInputsToDelete(true);
    req.setArgs(toStruct(config));
    const vars = req.getVariablesMap();
    for (const [k, v] of Object.entries(mapForPlugin(config))) {
      const [ns, ...rest] = k.split(":");
      vars.set(`${ns}:config:${rest.join(":")}`, typeof v === "string" ? v : JSON.stringify(v));
    }
    const resp = await this.call<provproto.ConfigureResponse>((cb) => this.client.configure(req, cb));
    if (resp.getAcceptsecrets()) {
      // Not expected from @pulumi/pulumi's plugin; if it ever changes, forPlugin() must stop unwrapping secrets.
      throw new Error(`dynamic-provider plugin ${this.pluginPath} accepts secrets; the test engine needs updating`);
    }
  }

  async check(urn: string, olds: PropertyMap, news: PropertyMap): Promise<{ inputs: PropertyMap; failures: CheckFailure[] }> {
    const req = new provproto.CheckRequest();
    req.setUrn(urn);
    req.setOlds(toStruct(mapForPlugin(olds)));
    req.setNews(toStruct(mapForPlugin(news)));
    const resp = await this.call<provproto.CheckResponse>((cb) => this.client.check(req, cb));
    return {
      inputs: fromStruct(resp.getInputs()),
      failures: resp.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(id: string, urn: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): Promise<DiffResult> {
    const req = new provproto.DiffRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setOlds(toStruct(mapForPlugin(olds)));
    req.setNews(toStruct(mapForPlugin(news)));
    req.setOldInputs(toStruct(mapForPlugin(oldInputs)));
    const resp = await this.call<provproto.DiffResponse>((cb) => this.client.diff(req, cb));
    const C = provproto.DiffResponse.DiffChanges;
    const changes = resp.getChanges() === C.DIFF_SOME ? "some" : resp.getChanges() === C.DIFF_NONE ? "none" : "unknown";
    return { changes, replaces: resp.getReplacesList(), deleteBeforeReplace: resp.getDeletebeforereplace() };
  }

  async create(urn: string, props: PropertyMap): Promise<{ id: string; outputs: PropertyMap }> {
    const req = new provproto.CreateRequest();
    req.setUrn(urn);
    req.setProperties(toStruct(mapForPlugin(props)));
    const resp = await this.call<provproto.CreateResponse>((cb) => this.client.create(req, cb));
    if (!resp.getId()) throw new Error(`the provider returned an empty id from create`);
    return { id: resp.getId(), outputs: fromStruct(resp.getProperties()) };
  }

  async read(
    id: string,
    urn: string,
    props: PropertyMap,
    inputs: PropertyMap | undefined,
  ): Promise<{ id: string; outputs: PropertyMap; inputs?: PropertyMap }> {
    const req = new provproto.ReadRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(toStruct(mapForPlugin(props)));
    if (inputs) req.setInputs(toStruct(mapForPlugin(inputs)));
    const resp = await this.call<provproto.ReadResponse>((cb) => this.client.read(req, cb));
    return {
      id: resp.getId(),
      outputs: fromStruct(resp.getProperties()),
      inputs: resp.getInputs() ? fromStruct(resp.getInputs()) : undefined,
    };
  }

  async update(id: string, urn: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): Promise<PropertyMap> {
    const req = new provproto.UpdateRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setOlds(toStruct(mapForPlugin(olds)));
    req.setNews(toStruct(mapForPlugin(news)));
    req.setOldInputs(toStruct(mapForPlugin(oldInputs)));
    const resp = await this.call<provproto.UpdateResponse>((cb) => this.client.update(req, cb));
    return fromStruct(resp.getProperties());
  }

  async delete(id: string, urn: string, props: PropertyMap, oldInputs: PropertyMap): Promise<void> {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(toStruct(mapForPlugin(props)));
    req.setOldInputs(toStruct(mapForPlugin(oldInputs)));
    await this.call<unknown>((cb) => this.client.delete(req, cb));
  }

  /** Stops the plugin and waits for the process to be gone (SIGKILL if it ignores SIGTERM). */
  async kill(): Promise<void> {
    this.client.close();
    if (this.exited) return;
    this.child.kill("SIGTERM");
    const force = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    force.unref();
    await this.exitPromise;
    clearTimeout(force);
  }
}
