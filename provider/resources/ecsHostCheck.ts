import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { createHash } from "node:crypto";
import { ContainerReport, DockerHostReport, HostPortMapping, dockerHostCheckScript, parseDockerHostCheck } from "../host/dockerHostScripts";
import { checkIfname } from "../host/validate";
import { describeConnection } from "../transport/connect";
import type { HostConnection } from "../transport/connection";
import { SSM_INSTANCE_ID_RULE, SSM_PROFILE_RULE, SSM_REGION_RULE, isAwsProfile, isAwsRegion, isSsmInstanceId } from "../transport/ssmOptions";
import { CommandError } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, isUnknown, onHost } from "./contract";

/**
 * Host-side verification of ECS bridge mode: on each container instance, how Docker publishes
 * the tasks' ports. One read-only script per instance, one round trip (one SSM command):
 *
 *   ip -j addr show dev docker0
 *   docker ps --format '{{.ID}}\t{{.Names}}\t{{.Ports}}\t<ECS task labels>'
 *   ps -eo pid,args | grep docker-proxy
 *   iptables -t nat -S DOCKER
 *
 * (dockerHostScripts.ts has the whole script). The outputs give, per instance, docker0's
 * address, every container with its published host ports (the dynamic ones too, and whether
 * they come from the ephemeral range), the docker-proxy processes, the DNAT rules, and a
 * verdict: every published port has its DNAT rule and, with the userland proxy on, its
 * docker-proxy, and nothing is left over.
 *
 * With `family` and `expectedTasks`, the check also counts that family's tasks across the hosts
 * (distinct `com.amazonaws.ecs.task-arn` labels): a container removed by hand (`docker rm -f`)
 * leaves no rule or proxy behind on Docker, so no host looks inconsistent, but the count is short.
 *
 * create runs the check and, with `requireConsistent`, fails naming every problem. `refresh`
 * re-runs it and records what it finds (changed ports, drift, an unreachable instance) without
 * failing; an inconsistent record makes the next `up` check again. Nothing is created on the
 * hosts: delete does nothing.
 */
export interface EcsHostCheckArgs {
  /** Container instances as SSM managed nodes ("i-0123456789abcdef0"); each is checked over SSM. Give this or `connections`. */
  instanceIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Region of `instanceIds`. @default the AWS SDK's chain (AWS_REGION, then the profile's region) */
  region?: pulumi.Input<string>;
  /** AWS profile for `instanceIds`. @default the AWS SDK's chain (AWS_PROFILE, else "default") */
  profile?: pulumi.Input<string>;
  /** Hosts as full connections instead (any kind: ssm, ssh, a sandbox lab host). Give this or `instanceIds`. */
  connections?: pulumi.Input<pulumi.Input<HostConnectionInput>[]>;
  /** List only the containers of this task definition family (the verdict still covers every container). @default every container */
  family?: pulumi.Input<string>;
  /**
   * How many tasks of `family` must be running across the hosts (an EcsBridgeService's
   * desiredCount); fewer or more is a problem. Needs `family`. @default not counted
   */
  expectedTasks?: pulumi.Input<number>;
  /** The bridge whose address is reported. @default "docker0" */
  bridge?: pulumi.Input<string>;
  /** The nat chain holding the DNAT rules. @default "DOCKER" */
  natChain?: pulumi.Input<string>;
  /** Fail create and update when a host is inconsistent or cannot be checked. @default true */
  requireConsistent?: pulumi.Input<boolean>;
  /** Any value; changing it re-runs the check on the next `up`. */
  trigger?: pulumi.Input<string | number>;
}

/** Checked inputs, as stored. `connections` is always set: from `instanceIds` when those were given. */
export interface EcsHostCheckInputs {
  instanceIds?: string[];
  region?: string;
  profile?: string;
  connections: HostConnection[];
  family?: string;
  expectedTasks?: number;
  bridge: string;
  natChain: string;
  requireConsistent: boolean;
  trigger?: string | number;
}

/** One host's findings. */
export interface EcsHostReport extends DockerHostReport {
  /** The instance id for an SSM host, else the connection's label (`sandbox:lab`). */
  host: string;
  /** Set when the host could not be checked at all (refresh records it instead of failing). */
  error?: string;
}

/** One published container port on one host: "the host port of every task". */
export interface EcsHostPort extends HostPortMapping {
  host: string;
  containerId: string;
  containerName: string;
  taskArn?: string;
  family?: string;
  ecsContainer?: string;
  revision?: string;
}

export interface EcsHostCheckOutputs extends EcsHostCheckInputs {
  /** One report per host, in the order of the inputs. */
  hosts: EcsHostReport[];
  /** Every published port of the listed containers, across hosts. */
  hostPorts: EcsHostPort[];
  /** The task ARNs of the listed containers, across hosts, each once. */
  taskArns: string[];
  /** Problems of no single host: the task count against `expectedTasks`. */
  problems: string[];
  /** Every host checked and consistent, and the task count as expected. */
  consistent: boolean;
  /** "2 hosts, 3 containers, 4 published ports: consistent". */
  summary: string;
}

const CHECK_TIMEOUT_MS = 60_000;
/** Hosts checked at once: SSM throttles SendCommand bursts. */
const PARALLEL_HOSTS = 8;
const FAMILY_RULE = "1–255 letters, digits, '-' and '_'";
const CHAIN_RULE = "1–28 letters, digits, '-', '_' and '.'";

function hostName(c: HostConnection): string {
  return c.kind === "ssm" ? c.instanceId : describeConnection(c);
}

/** Check one host: run the script once, parse its answer. */
async function checkHost(c: HostConnection, i: EcsHostCheckInputs): Promise<EcsHostReport> {
  return onHost(c, async (t) => {
    const r = await t.run(dockerHostCheckScript({ bridge: i.bridge, natChain: i.natChain }), { timeoutMs: CHECK_TIMEOUT_MS });
    if (r.code !== 0) throw new CommandError(t.label, r, "ECS host check");
    return { host: hostName(c), ...parseDockerHostCheck(r.stdout, { bridge: i.bridge, natChain: i.natChain, stderr: r.stderr, family: i.family }) };
  });
}

/** Every host, PARALLEL_HOSTS at a time; a host that fails becomes a report with `error` and is returned in `failed`. */
async function checkAll(i: EcsHostCheckInputs): Promise<{ reports: EcsHostReport[]; failed: Error[] }> {
  const reports: EcsHostReport[] = new Array(i.connections.length);
  const failed: Error[] = [];
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < i.connections.length; k = next++) {
      const c = i.connections[k];
      try {
        reports[k] = await checkHost(c, i);
      } catch (e) {
        failed.push(e as Error);
        const error = (e as Error).message;
        reports[k] = { host: hostName(c), error, containers: [], proxies: [], dnat: [], userlandProxy: true, problems: [`cannot check the host: ${error}`], consistent: false };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_HOSTS, i.connections.length) }, worker));
  return { reports, failed };
}

function outputsOf(i: EcsHostCheckInputs, reports: EcsHostReport[]): EcsHostCheckOutputs {
  const hostPorts: EcsHostPort[] = [];
  for (const h of reports) {
    for (const c of h.containers) for (const p of c.ports) hostPorts.push(portRow(h.host, c, p));
  }
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  const taskArns = [...new Set(reports.flatMap((r) => r.containers.flatMap((c) => (c.taskArn ? [c.taskArn] : []))))];
  const problems: string[] = [];
  if (i.expectedTasks !== undefined && taskArns.length !== i.expectedTasks) {
    problems.push(`family ${i.family}: ${plural(taskArns.length, "task")} running on the hosts, ${i.expectedTasks} expected`);
  }
  const consistent = reports.every((r) => r.consistent) && problems.length === 0;
  const containers = reports.reduce((n, r) => n + r.containers.length, 0);
  const count = reports.reduce((n, r) => n + r.problems.length, problems.length);
  const summary =
    `${plural(reports.length, "host")}, ${plural(containers, "container")}, ${plural(hostPorts.length, "published port")}: ` +
    (consistent ? "consistent" : `${plural(count, "problem")}`);
  return { ...i, hosts: reports, hostPorts, taskArns, problems, consistent, summary };
}

function portRow(host: string, c: ContainerReport, p: HostPortMapping): EcsHostPort {
  const row: EcsHostPort = { host, containerId: c.id, containerName: c.name, ...p };
  if (c.taskArn) row.taskArn = c.taskArn;
  if (c.family) row.family = c.family;
  if (c.ecsContainer) row.ecsContainer = c.ecsContainer;
  if (c.revision) row.revision = c.revision;
  return row;
}

/** Run the check for create/update: fails on a host that cannot be checked, and (requireConsistent) on any problem. */
async function verify(i: EcsHostCheckInputs): Promise<EcsHostCheckOutputs> {
  const { reports, failed } = await checkAll(i);
  const outs = outputsOf(i, reports);
  const bad = reports.filter((r) => !r.consistent);
  if (failed.length || (i.requireConsistent && !outs.consistent)) {
    throw new Error(
      `ECS host check: ${outs.summary}\n` +
        [
          ...bad.map((r) => `  ${r.host}:\n${r.problems.map((p) => `    - ${p}`).join("\n")}`),
          ...(outs.problems.length ? [`  tasks:\n${outs.problems.map((p) => `    - ${p}`).join("\n")}`] : []),
        ].join("\n"),
    );
  }
  for (const r of bad) console.error(`ECS host check on ${r.host}: ${r.problems.join("; ")}`);
  if (outs.problems.length) console.error(`ECS host check: ${outs.problems.join("; ")}`);
  console.log(`ECS host check: ${outs.summary}`);
  return outs;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const DIFFED = ["connections", "family", "expectedTasks", "bridge", "natChain", "requireConsistent", "trigger"] as const;

export const ecsHostCheckProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const problems: pulumi.dynamic.CheckFailure[] = [];
    const fail = (property: string, reason: string) => problems.push({ property, reason });
    const known = (v: unknown) => v !== undefined && !isUnknown(v);

    const inputs: EcsHostCheckInputs = {
      connections: news.connections,
      bridge: news.bridge ?? "docker0",
      natChain: news.natChain ?? "DOCKER",
      requireConsistent: news.requireConsistent ?? true,
    };
    for (const k of ["instanceIds", "region", "profile", "family", "expectedTasks", "trigger"] as const) if (news[k] !== undefined) (inputs as unknown as Record<string, unknown>)[k] = news[k];

    if (news.instanceIds !== undefined && news.connections !== undefined) {
      fail("connections", "instanceIds and connections are both set: give SSM instance ids or full connections, not both");
    } else if (news.instanceIds === undefined && news.connections === undefined) {
      fail("instanceIds", "no hosts: set instanceIds (SSM instance ids of the container instances) or connections");
    } else if (news.instanceIds !== undefined) {
      if (known(news.region) && (typeof news.region !== "string" || !isAwsRegion(news.region))) fail("region", `region ${JSON.stringify(news.region)} is invalid: expected ${SSM_REGION_RULE}`);
      if (known(news.profile) && (typeof news.profile !== "string" || !isAwsProfile(news.profile))) fail("profile", `profile ${JSON.stringify(news.profile)} is invalid: a profile name is ${SSM_PROFILE_RULE}`);
      if (Array.isArray(news.instanceIds) && news.instanceIds.length > 0) {
        const seen = new Set<string>();
        news.instanceIds.forEach((id: unknown, k: number) => {
          if (isUnknown(id)) return;
          if (typeof id !== "string" || !isSsmInstanceId(id)) fail("instanceIds", `instanceIds[${k}] ${JSON.stringify(id)} is invalid: expected ${SSM_INSTANCE_ID_RULE}`);
          else if (seen.has(id)) fail("instanceIds", `instanceIds[${k}] "${id}" is listed twice`);
          else seen.add(id);
        });
        inputs.connections = news.instanceIds.map((instanceId: string) => ({
          kind: "ssm" as const,
          instanceId,
          ...(news.region !== undefined ? { region: news.region } : {}),
          ...(news.profile !== undefined ? { profile: news.profile } : {}),
        }));
      } else if (isUnknown(news.instanceIds)) {
        inputs.connections = news.instanceIds; // known at apply
      } else {
        fail("instanceIds", "instanceIds must be a non-empty list of SSM instance ids");
      }
    } else if (news.region !== undefined || news.profile !== undefined) {
      fail(news.region !== undefined ? "region" : "profile", "region and profile apply to instanceIds only: put them in each SSM connection instead");
    } else if (!isUnknown(news.connections)) {
      if (!Array.isArray(news.connections) || news.connections.length === 0) fail("connections", "connections must be a non-empty list of host connections");
      else {
        news.connections.forEach((c: unknown, k: number) =>
          connectionFailures(c).forEach((f) => fail("connections", f.reason.replace(/^connection\b/, `connections[${k}]`))),
        );
        const labels = news.connections.filter((c: unknown) => !isUnknown(c)).map((c: HostConnection) => JSON.stringify(hostName(c)));
        const twice = labels.find((l: string, k: number) => labels.indexOf(l) !== k);
        if (twice) fail("connections", `connections lists the host ${twice} twice`);
      }
    }

    const bridgeProblem = known(news.bridge) ? checkIfname("bridge", news.bridge) : undefined;
    if (bridgeProblem) fail("bridge", bridgeProblem);
    if (known(news.natChain) && (typeof news.natChain !== "string" || !/^[A-Za-z0-9_.-]{1,28}$/.test(news.natChain))) {
      fail("natChain", `natChain ${JSON.stringify(news.natChain)} is invalid: a chain name is ${CHAIN_RULE}`);
    }
    if (known(news.family) && (typeof news.family !== "string" || !/^[A-Za-z0-9_-]{1,255}$/.test(news.family))) {
      fail("family", `family ${JSON.stringify(news.family)} is invalid: a task definition family is ${FAMILY_RULE}`);
    }
    if (known(news.expectedTasks)) {
      if (typeof news.expectedTasks !== "number" || !Number.isInteger(news.expectedTasks) || news.expectedTasks < 0) {
        fail("expectedTasks", `expectedTasks ${JSON.stringify(news.expectedTasks)} is invalid: expected a whole number of tasks, 0 or more`);
      } else if (news.family === undefined) {
        fail("expectedTasks", "expectedTasks counts the tasks of one task definition family: set family too");
      }
    }
    if (known(news.requireConsistent) && typeof news.requireConsistent !== "boolean") fail("requireConsistent", `requireConsistent ${JSON.stringify(news.requireConsistent)} is invalid: expected true or false`);
    if (known(news.trigger) && typeof news.trigger !== "string" && typeof news.trigger !== "number") fail("trigger", `trigger must be a string or a number, got ${JSON.stringify(news.trigger)}`);
    return { inputs, failures: problems };
  },

  /**
   * Pure. Other hosts, options or trigger re-run the check in place (there is nothing on the
   * hosts to replace); so does an inconsistent or unreachable host that a refresh recorded.
   */
  async diff(_id, olds: EcsHostCheckOutputs, news: EcsHostCheckInputs) {
    const changed = DIFFED.filter((k) => !same(olds[k], news[k]));
    return { changes: changed.length > 0 || olds.consistent === false, replaces: [], deleteBeforeReplace: false };
  },

  /** Checks every host; fails on a host that cannot be checked and, with requireConsistent, on any problem. */
  async create(inputs: EcsHostCheckInputs) {
    const outs = await verify(inputs);
    const id = "ecs-host-check-" + createHash("sha256").update(JSON.stringify(inputs.connections.map(hostName))).digest("hex").slice(0, 12);
    return { id, outs };
  },

  /** Re-runs the check and records what it finds; never fails on drift or an unreachable host. */
  async read(id, props: EcsHostCheckOutputs) {
    const { reports } = await checkAll(props);
    const outs = outputsOf(props, reports);
    for (const r of reports.filter((x) => !x.consistent)) console.error(`ECS host check drift on ${r.host}: ${r.problems.join("; ")}`);
    if (outs.problems.length) console.error(`ECS host check drift: ${outs.problems.join("; ")}`);
    return { id, props: outs };
  },

  /** Re-runs the check (other hosts or options, a new trigger, or after drift); fails like create. */
  async update(_id, _olds: EcsHostCheckOutputs, news: EcsHostCheckInputs) {
    return { outs: await verify(news) };
  },

  /** Nothing was created on the hosts. */
  async delete() {},
};

export class EcsHostCheck extends pulumi.dynamic.Resource {
  declare readonly connections: pulumi.Output<HostConnection[]>;
  declare readonly hosts: pulumi.Output<EcsHostReport[]>;
  declare readonly hostPorts: pulumi.Output<EcsHostPort[]>;
  declare readonly taskArns: pulumi.Output<string[]>;
  declare readonly problems: pulumi.Output<string[]>;
  declare readonly consistent: pulumi.Output<boolean>;
  declare readonly summary: pulumi.Output<string>;

  constructor(name: string, args: EcsHostCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("ecsHostCheckProvider"),
      name,
      {
        instanceIds: args.instanceIds,
        region: args.region,
        profile: args.profile,
        connections: args.connections,
        family: args.family,
        expectedTasks: args.expectedTasks,
        bridge: args.bridge,
        natChain: args.natChain,
        requireConsistent: args.requireConsistent,
        trigger: args.trigger,
        hosts: undefined,
        hostPorts: undefined,
        taskArns: undefined,
        problems: undefined,
        consistent: undefined,
        summary: undefined,
      },
      opts,
      "bridgelab",
      "EcsHostCheck",
    );
  }
}
