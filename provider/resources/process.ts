import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { foreignOwnerMessage, notOwnUpdateMessage, ownerPhrase, ownerTag } from "../host/owner";
import { ProcessSpec, logPath, pidPath, processCreateScript, processDeleteScript, processReadScript, processRetagScript } from "../host/processScripts";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { Problem, checkNetnsName } from "../host/validate";
import type { HostConnection } from "../transport/connection";
import { CommandError, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, diffFields, failures, onHost, ownerFailures, ownerOfProps } from "./contract";
import { ownerInput } from "./ownerInput";

/**
 * A long-lived command running inside a network namespace (or on the host), stopped on
 * delete: the seed's server in a "container". Equivalent to:
 *
 *   setsid nsenter --net=/run/netns/netns0 -- env -i PATH=… python3 -m http.server 5000 \
 *     </dev/null >/run/bridgelab/proc/web.log 2>&1 &
 *   echo "$! <start time> bridgelab:v2:process:1a2b3c4d" >/run/bridgelab/proc/web.pid   # its owner (host/owner.ts)
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
  /** The resource's URN (set by the Process class): the owner its pid file names. Absent in state of bridgelab 0.1. */
  owner?: string;
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
  return { name: i.name, netns: i.netns, command: i.command, env: i.env, workdir: i.workdir, owner: ownerOfProps(i) };
}

/** The tag in a pid file's third field; a file of bridgelab 0.1 has none, and so 0.1's tag. */
const tagOfPidFile = (tag: string | undefined) => tag || ownerTag("process", undefined);

function outputsFrom(inputs: ProcessInputs, stdout: string): ProcessOutputs {
  const [pid, startTime] = (splitSections(stdout).proc ?? "").split(/\s+/).map(Number);
  if (!(pid > 1) || !(startTime >= 0)) throw new Error(`${describe(inputs.name)}: the host printed no pid and start time`);
  return { ...inputs, pid, startTime, logPath: logPath(inputs.name), pidPath: pidPath(inputs.name) };
}

export const processProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs: ProcessInputs = { connection: news.connection, name: news.name, command: news.command };
    for (const k of ["netns", "env", "workdir", "owner"] as const) if (news[k] !== undefined) inputs[k] = news[k];
    const optional: Array<[string, unknown, (f: string, v: unknown) => Problem]> = [];
    if (inputs.netns !== undefined) optional.push(["netns", inputs.netns, checkNetnsName]);
    if (inputs.env !== undefined) optional.push(["env", inputs.env, checkEnv]);
    if (inputs.workdir !== undefined) optional.push(["workdir", inputs.workdir, checkWorkdir]);
    return {
      inputs,
      failures: [...connectionFailures(inputs.connection), ...ownerFailures(news.owner), ...failures([["name", inputs.name, checkNetnsName], ["command", inputs.command, checkCommand], ...optional])],
    };
  },

  /**
   * Whatever it runs, or where, is fixed at start: any such change makes a new process (the
   * old one stopped first). A new owner (0.1's process taken over by its stack, a resource
   * moved by an alias) is an update: the pid file is re-tagged and the workload keeps running.
   */
  async diff(_id, olds, news) {
    return diffFields(olds, news, { replace: ["name", "netns", "command", "env", "workdir"], update: ["owner"] });
  },

  /**
   * Starts the process and checks it is still alive shortly after; fails with the end of
   * its log otherwise, leaving nothing behind. A process recorded under the same name by an
   * earlier, interrupted create of this same resource is stopped first; a live one of another
   * owner (or of bridgelab 0.1) is refused before anything changes, naming whose it is.
   */
  async create(inputs: ProcessInputs) {
    const what = describe(inputs.name);
    return onHost(inputs.connection, async (t) => {
      const r = await t.run(processCreateScript(specOf(inputs)));
      if (r.code === EXIT_EXISTS) {
        const s = splitSections(r.stdout);
        const [pid, , tag] = (s.exists ?? "").split(/\s+/);
        throw new Error(
          foreignOwnerMessage(`${what} on ${t.label}: a process of that name is already running (pid ${pid}, recorded in ${pidPath(inputs.name)}) and`, tagOfPidFile(tag), s.owner),
        );
      }
      if (r.code !== 0) throw new CommandError(t.label, r, what);
      return { id: inputs.name, outs: outputsFrom(inputs, r.stdout) };
    });
  },

  /** Present while the recorded pid is this owner's and alive with the recorded start time, in its namespace; else gone. */
  async read(id, props: ProcessOutputs) {
    return onHost(props.connection, async (t) => {
      const r = await runChecked(t, processReadScript(specOf(props)), describe(props.name));
      if ("gone" in splitSections(r.stdout)) return { id: "", props: {} };
      return { id, props: outputsFrom(props, r.stdout) };
    });
  },

  /**
   * A new owner re-tags the pid file in place, without restarting the process; a new key for
   * the same host changes nothing on the host.
   */
  async update(_id, olds: ProcessOutputs, news: ProcessInputs) {
    if (olds.owner === news.owner) return { outs: { ...olds, connection: news.connection } };
    const what = describe(news.name);
    return onHost(news.connection, async (t) => {
      const r = await runChecked(t, processRetagScript(news.name, ownerOfProps(olds), ownerOfProps(news)), what);
      const s = splitSections(r.stdout);
      const subject = `${what} on ${t.label} (${pidPath(news.name)})`;
      if ("gone" in s) throw new Error(notOwnUpdateMessage(subject, "gone"));
      if ("foreign" in s) throw new Error(notOwnUpdateMessage(subject, { tag: tagOfPidFile((s.foreign ?? "").split(/\s+/)[2]), record: s.owner }));
      return { outs: outputsFrom(news, r.stdout) };
    });
  },

  /**
   * TERM to the process group, KILL after a few seconds; idempotent. A process recorded under
   * the name by another owner is left running, saying whose it is.
   */
  async delete(_id, props: ProcessOutputs) {
    await onHost(props.connection, async (t) => {
      const r = await runChecked(t, processDeleteScript(props.name, ownerOfProps(props)), describe(props.name));
      const s = splitSections(r.stdout);
      if ("foreign" in s) {
        const [pid, , tag] = (s.foreign ?? "").split(/\s+/);
        console.error(`${describe(props.name)} on ${t.label} (pid ${pid}, recorded in ${pidPath(props.name)}) is not this resource's, so it is left in place: it ${ownerPhrase(tagOfPidFile(tag), s.owner)}`);
      }
    });
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
        owner: ownerInput("Process", name, opts),
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
