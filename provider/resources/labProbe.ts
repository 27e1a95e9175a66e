import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { createHash } from "node:crypto";
import {
  FROM_OUTSIDE,
  ProbeExpect,
  ProbeKind,
  ProbeOutcome,
  ProbeSpec,
  describeBroken,
  normalizeProbe,
  planProbe,
  probeOutcomes,
  probeProblems,
  probeScript,
  summarize,
} from "../host/probeScripts";
import type { HostConnection } from "../transport/connection";
import { openOutsideTransport } from "../transport/sandboxOutside";
import { CommandError, Transport } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, connectionIdentity, isUnknown, onHost } from "./contract";

/**
 * Lab verification: a reachability matrix probed on the host, failing `up` when a path is not
 * as declared. Every probe of a host runs in one script, in parallel, with short timeouts:
 *
 *   ip netns exec netns0 ping -n -c1 -W1 203.0.113.1                            # ping
 *   curl -sS -o /dev/null --max-time 2 http://198.51.100.2:8080/                # http, from the host
 *   ip netns exec netns1 timeout 2 bash -c 'exec 3<>/dev/tcp/172.18.0.10/5000'  # tcp
 *
 * Probes `from: "outside"` run in a sandbox host's stand-in internet, through a second local
 * call made at the same time (`nsenter --net=$ROOT/NAME/outside`); other connections have no
 * outside and refuse such probes at check.
 *
 * An unchanged probe set is "same" on `up` (no probe runs); change `trigger` to re-verify.
 * `refresh` re-runs the probes and records the matrix it finds, so a path that broke shows as
 * drift and the next `up` re-verifies it. Nothing is created on the host: delete does nothing.
 */
export interface LabProbeArgs {
  /** The host to probe on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** The paths to verify. */
  probes: pulumi.Input<pulumi.Input<ProbeArgs>[]>;
  /** Any value; changing it re-runs the probes on the next `up` (e.g. a timestamp or a version). */
  trigger?: pulumi.Input<string | number>;
}

export interface ProbeArgs {
  /** Names the path in the matrix and in errors; unique within the LabProbe. */
  name: pulumi.Input<string>;
  /** A network namespace on the host, "host", or "outside" (the stand-in internet of a sandbox host). */
  from: pulumi.Input<string>;
  kind: pulumi.Input<ProbeKind>;
  /** "ip" (ping, http on port 80) or "ip:port" (http, tcp). */
  target: pulumi.Input<string>;
  /** @default "reach" */
  expect?: pulumi.Input<ProbeExpect>;
}

/** Checked inputs, as stored. */
export interface LabProbeInputs {
  connection: HostConnection;
  probes: ProbeSpec[];
  trigger?: string | number;
}

export interface LabProbeOutputs extends LabProbeInputs {
  /** One row per probe, in declaration order. */
  matrix: ProbeOutcome[];
  /** "12/12 paths as expected". */
  summary: string;
}

/** Run every probe: the host's in one script over the connection, the outside's in one local script, at once. */
export async function runProbes(connection: HostConnection, probes: ProbeSpec[]): Promise<ProbeOutcome[]> {
  const inside = probes.map((p, i) => ({ p, i })).filter(({ p }) => p.from !== FROM_OUTSIDE);
  const outside = probes.map((p, i) => ({ p, i })).filter(({ p }) => p.from === FROM_OUTSIDE);
  const runOn = async (t: Transport, group: Array<{ p: ProbeSpec; i: number }>) => {
    const r = await t.run(probeScript(group.map(({ p }) => planProbe(p))), { timeoutMs: 30_000 });
    if (r.code !== 0) throw new CommandError(t.label, r, "lab probes");
    return probeOutcomes(group.map(({ p }) => p), r.stdout).map((o, k) => ({ o, i: group[k].i }));
  };
  const parts = await Promise.all([
    inside.length ? onHost(connection, (t) => runOn(t, inside)) : [],
    (async () => {
      if (!outside.length) return [];
      const t = openOutsideTransport(connection);
      if (!t) throw new Error(`probes from "outside" need a sandbox connection; ${connectionIdentity(connection)} has no outside`);
      try {
        return await runOn(t, outside);
      } finally {
        await t.close();
      }
    })(),
  ]);
  const matrix: ProbeOutcome[] = new Array(probes.length);
  for (const { o, i } of parts.flat()) matrix[i] = o;
  return matrix;
}

/** The matrix as outputs; throws naming every path that is not as expected. */
async function verify(inputs: LabProbeInputs): Promise<LabProbeOutputs> {
  const matrix = await runProbes(inputs.connection, inputs.probes);
  const summary = summarize(matrix);
  const broken = matrix.filter((o) => !o.ok);
  if (broken.length) {
    throw new Error(
      `lab verification on ${connectionIdentity(inputs.connection)}: ${broken.length} of ${matrix.length} paths not as expected:\n` +
        broken.map((o) => `  ${describeBroken(o)}`).join("\n"),
    );
  }
  console.log(`lab verification: ${summary}`);
  return { ...inputs, matrix, summary };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export const labProbeProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs: LabProbeInputs = { connection: news.connection, probes: news.probes };
    if (news.trigger !== undefined) inputs.trigger = news.trigger;
    const problems = [...connectionFailures(inputs.connection), ...probeProblems(news.probes, isUnknown).map((reason) => ({ property: "probes", reason }))];
    if (news.trigger !== undefined && !isUnknown(news.trigger) && typeof news.trigger !== "string" && typeof news.trigger !== "number") {
      problems.push({ property: "trigger", reason: `trigger must be a string or a number, got ${JSON.stringify(news.trigger)}` });
    }
    if (Array.isArray(news.probes) && !isUnknown(news.connection) && news.connection?.kind !== "sandbox") {
      news.probes.forEach((p: Record<string, unknown> | undefined, i: number) => {
        if (p && typeof p === "object" && p.from === FROM_OUTSIDE) {
          problems.push({
            property: "probes",
            reason: `probes[${i}].from "outside" is only meaningful on a sandbox host (its stand-in internet); ${connectionIdentity(news.connection)} has none: probe from "host" or a namespace`,
          });
        }
      });
    }
    if (problems.length === 0 && !isUnknown(news.probes)) {
      inputs.probes = (news.probes as Record<string, unknown>[]).map((p) => (isUnknown(p) ? (p as never) : normalizeProbe(p)));
    }
    return { inputs, failures: problems };
  },

  /**
   * Pure. A changed probe set, trigger or connection re-runs the probes (an update: nothing on
   * the host to replace). So does a matrix with a broken path, which only a refresh records.
   */
  async diff(_id, olds: LabProbeOutputs, news: LabProbeInputs) {
    const changed = (["probes", "trigger", "connection"] as const).filter((k) => !same(olds[k], news[k]));
    const drifted = Array.isArray(olds.matrix) && olds.matrix.some((o) => !o.ok);
    return { changes: changed.length > 0 || drifted, replaces: [], deleteBeforeReplace: false };
  },

  /** Runs the probes; fails naming each path that is not as expected. */
  async create(inputs: LabProbeInputs) {
    const outs = await verify(inputs);
    const id = "probe-" + createHash("sha256").update(JSON.stringify([connectionIdentity(inputs.connection), inputs.probes])).digest("hex").slice(0, 12);
    return { id, outs };
  },

  /** Re-runs the probes and reports what it finds; a broken path is drift, not an error. */
  async read(id, props: LabProbeOutputs) {
    const matrix = await runProbes(props.connection, props.probes);
    for (const o of matrix.filter((x) => !x.ok)) console.error(`lab verification drift: ${describeBroken(o)}`);
    return { id, props: { ...props, matrix, summary: summarize(matrix) } };
  },

  /** Re-runs the probes (new set, new trigger, or after drift); fails like create. */
  async update(_id, _olds: LabProbeOutputs, news: LabProbeInputs) {
    return { outs: await verify(news) };
  },

  /** Nothing was created on the host. */
  async delete() {},
};

export class LabProbe extends pulumi.dynamic.Resource {
  declare readonly probes: pulumi.Output<ProbeSpec[]>;
  declare readonly matrix: pulumi.Output<ProbeOutcome[]>;
  declare readonly summary: pulumi.Output<string>;
  declare readonly trigger: pulumi.Output<string | number | undefined>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: LabProbeArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("labProbeProvider"),
      name,
      { connection: args.connection, probes: args.probes, trigger: args.trigger, matrix: undefined, summary: undefined },
      opts,
      "bridgelab",
      "LabProbe",
    );
  }
}
