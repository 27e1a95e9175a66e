import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { ProcessSpec, logPath, pidPath, processCreateScript, processDeleteScript, processReadScript } from "../host/processScripts";
import { splitSections } from "../host/sections";
import { Problem, checkNetnsName } from "../host/validate";
import type { HostConnection } from "../transport/connection";
import { runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, diffFields, failures, onHost } from "./contract";

/**
 * A long-lived command running inside a network namespace (or on the host), stopped on
 * delete: the seed's server in a "container". Equivalent to:
 *
 *   setsid nsenter --net=/run/netns/netns0 -- env -i PATH=… python3 -m http.server 5000 \
 *     </dev/null >/run/bridgelab/proc/web.log 2>&1 &
 *   echo "$! <start time>" >/run/bridgelab/proc/web.pid
 *
 * and on delete `kill -s TERM -- -PID`, then KILL after a few seconds. See processScripts.ts.
 */
export interface ProcessArgs {
  /** The host to run on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** Names the pid and log files under /run/bridgelab/proc; unique per host. @default the resource name */
  name?: pulumi.Input<string>;
  /** The NetNamespace to run in. @default none: the host's own network namespace */
  netns?: pulumi.Input<string>;
  /** The program and its arguments, passed as they are (no shell): ["socat", "TCP-LISTEN:5000,fork", "SYSTEM:…"]. */
  command: pulumi.Input<pulumi.Input<string>[]>;
  /** Environment variables. The process gets these and PATH only. @default {} */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Working directory, an absolute path. @default the login directory of the transport */
  workdir?: pulumi.Input<string>;
}

export interface ProcessInputs {
  connection: HostConnection;
  name: string;
  netns?: string;
  command: string[];
  env?: Record<string, string>;
  workdir?: string;
}

export interface ProcessOutputs extends ProcessInputs {
  pid: number;
  /** Field 22 of /proc/PID/stat: with the pid, tells this process from a later one given the same pid. */
  startTime: number;
  logPath: string;
  pidPath: string;
}

const describe = (name: string) => `process "${name}"`;
const show = (v: unknown) => JSON.stringify(v);

export function checkCommand(field: string, v: unknown): Problem {
  if (!Array.isArray(v) || v.length === 0 || v.some((a) => typeof a !== "string")) {
    return `${field} ${show(v)} must be a non-empty array of strings: the program and its arguments, such as ["socat", "TCP-LISTEN:5000,fork", "SYSTEM:echo hi"]`;
  }
  if (v.some((a: string) => a.includes("\0"))) return `${field} ${show(v)} holds a NUL byte, which no argument can carry`;
  if (v[0] === "" || v[0].includes("=")) return `${field}[0] ${show(v[0])} must name a program (not empty, no '=': env would take it for a variable)`;
  return undefined;
}

export function checkEnv(field: string, v: unknown): Problem {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return `${field} ${show(v)} must be a map of variable names to strings`;
  for (const [k, val] of Object.entries(v)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return `${field} key ${show(k)} is not a variable name: letters, digits and '_', not starting with a digit`;
    if (typeof val !== "string") return `${field}.${k} must be a string, got ${show(val)}`;
    if (val.includes("\0")) return `${field}.${k} holds a NUL byte, which no environment variable can carry`;
  }
  return undefined;
}

export function checkWorkdir(field: string, v: unknown): Problem {
  if (typeof v !== "string" || !v.startsWith("/") || v.includes("\0")) return `${field} ${show(v)} must be an absolute path such as "/srv/www"`;
  return undefined;
}

function specOf(i: ProcessInputs): ProcessSpec {
  return { name: i.name, netns: i.netns, command: i.command, env: i.env, workdir: i.workdir };
}

function outputsFrom(inputs: ProcessInputs, stdout: string): ProcessOutputs {
  const [pid, startTime] = (splitSections(stdout).proc ?? "").split(/\s+/).map(Number);
  if (!(pid > 1) || !(startTime >= 0)) throw new Error(`${describe(inputs.name)}: the host printed no pid and start time`);
  return { ...inputs, pid, startTime, logPath: logPath(inputs.name), pidPath: pidPath(inputs.name) };
}

export const processProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs: ProcessInputs = { connection: news.connection, name: news.name, command: news.command };
    for (const k of ["netns", "env", "workdir"] as const) if (news[k] !== undefined) inputs[k] = news[k];
    const optional: Array<[string, unknown, (f: string, v: unknown) => Problem]> = [];
    if (inputs.netns !== undefined) optional.push(["netns", inputs.netns, checkNetnsName]);
    if (inputs.env !== undefined) optional.push(["env", inputs.env, checkEnv]);
    if (inputs.workdir !== undefined) optional.push(["workdir", inputs.workdir, checkWorkdir]);
    return {
      inputs,
      failures: [...connectionFailures(inputs.connection), ...failures([["name", inputs.name, checkNetnsName], ["command", inputs.command, checkCommand], ...optional])],
    };
  },

  /** Whatever it runs, or where, is fixed at start: any change makes a new process (the old one stopped first). */
  async diff(_id, olds, news) {
    return diffFields(olds, news, { replace: ["name", "netns", "command", "env", "workdir"], update: [] });
  },

  /**
   * Starts the process and checks it is still alive shortly after; fails with the end of
   * its log otherwise, leaving nothing behind. A process recorded under the same name by an
   * earlier, interrupted create is stopped first.
   */
  async create(inputs: ProcessInputs) {
    return onHost(inputs.connection, async (t) => {
      const r = await runChecked(t, processCreateScript(specOf(inputs)), describe(inputs.name));
      return { id: inputs.name, outs: outputsFrom(inputs, r.stdout) };
    });
  },

  /** Present while the recorded pid is alive with the recorded start time, in its namespace; else gone. */
  async read(id, props: ProcessOutputs) {
    return onHost(props.connection, async (t) => {
      const r = await runChecked(t, processReadScript(props), describe(props.name));
      if ("gone" in splitSections(r.stdout)) return { id: "", props: {} };
      return { id, props: outputsFrom(props, r.stdout) };
    });
  },

  /** Only the connection's credentials can change in place. */
  async update(_id, olds: ProcessOutputs, news: ProcessInputs) {
    return { outs: { ...olds, connection: news.connection } };
  },

  /** TERM to the process group, KILL after a few seconds; idempotent. */
  async delete(_id, props: ProcessOutputs) {
    await onHost(props.connection, (t) => runChecked(t, processDeleteScript(props.name), describe(props.name)));
  },
};

export class Process extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly netns: pulumi.Output<string | undefined>;
  declare readonly command: pulumi.Output<string[]>;
  declare readonly env: pulumi.Output<Record<string, string> | undefined>;
  declare readonly workdir: pulumi.Output<string | undefined>;
  declare readonly pid: pulumi.Output<number>;
  declare readonly startTime: pulumi.Output<number>;
  declare readonly logPath: pulumi.Output<string>;
  declare readonly pidPath: pulumi.Output<string>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: ProcessArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("processProvider"),
      name,
      {
        name: args.name ?? name,
        connection: args.connection,
        netns: args.netns,
        command: args.command,
        env: args.env,
        workdir: args.workdir,
        pid: undefined,
        startTime: undefined,
        logPath: undefined,
        pidPath: undefined,
      },
      opts,
      "bridgelab",
      "Process",
    );
  }
}
