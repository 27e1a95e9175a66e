import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { ANY_IP, Protocol, checkContainerIp, checkHostIp, checkHostPort, checkPort, checkProtocol, insideSubnet } from "../host/portChecks";
import {
  EXIT_ALLOCATED,
  EXIT_EXHAUSTED,
  EXIT_NO_SUBNET,
  PlacedMapping,
  PublishSpec,
  parsePlaced,
  parsePublishDnat,
  portPublishReadScript,
  portPublishUpdateScript,
  publishRules,
  publishTag,
} from "../host/portPublishScripts";
import { shJoin } from "../host/quote";
import { ownedRuleArgs } from "../host/ruleSet";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { checkIfname } from "../host/validate";
import { checkNetworkCidr, checkRuleName } from "../host/validateNetfilter";
import type { HostConnection } from "../transport/connection";
import { CommandError, ExecResult, Transport, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, connectionIdentity, diffFields, failures, isUnknown, onHost } from "./contract";
import { onHostLocked, queued } from "./hostLock";
import { createInBatch, deleteInBatch } from "./publishBatcher";
import { claimStaticPort } from "./portClaims";

/**
 * Docker-style port publishing: HOST_IP:HOST_PORT on the host reaches ADDRESS:PORT in a
 * container on a bridge, from outside, from the host itself and from the other containers
 * (hairpin). `docker run -p 8080:5000` for a container at 172.18.0.10 on br0 is, as seed 004
 * writes it by hand:
 *
 *   iptables -t nat -A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.10:5000
 *   iptables -t nat -A OUTPUT     -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.10:5000
 *
 * bridgelab writes Docker's rules (seed 002) into its own chains, tagged
 * `bridgelab:v1:publish:NAME`: the DNAT, the FORWARD accept, the MASQUERADE for a container
 * reaching itself, plus a hairpin MASQUERADE and FORWARD accepts so that it also works
 * without br_netfilter and under a FORWARD policy of DROP. The rule layout is in
 * portPublishScripts.ts.
 *
 * `hostPort: 0` takes a free port from the host's ip_local_port_range, as Docker and the ECS
 * agent do; the output `hostPort` holds it and keeps it across updates and refreshes. A
 * static port already published or listened on fails with Docker's message:
 * `Bind for 0.0.0.0:8080 failed: port is already allocated`.
 */
export interface PortPublishArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** NAME in the rules' tag `bridgelab:v1:publish:NAME`; unique per host. @default the resource name */
  name?: pulumi.Input<string>;
  /** @default "tcp" */
  protocol?: pulumi.Input<Protocol>;
  /** The host address to publish on. @default "0.0.0.0" (every local address) */
  hostIp?: pulumi.Input<string>;
  /** 1–65535, or 0 for a free port from the host's ip_local_port_range (the `hostPort` output). @default 0 */
  hostPort?: pulumi.Input<number>;
  /** The container's IPv4 address, e.g. "172.18.0.10". */
  address: pulumi.Input<string>;
  /** The container's port, 1–65535. */
  port: pulumi.Input<number>;
  /** The bridge the container sits on, e.g. "br0". */
  bridge: pulumi.Input<string>;
  /**
   * The bridge's subnet as a network address (a Bridge's `subnet` output): containers in it
   * reaching the host port are masqueraded (hairpin). @default the subnet of the bridge's
   * kernel route, read on the host when the rules are written
   */
  subnet?: pulumi.Input<string>;
}

/** Checked inputs, as stored. `hostPort` is the declared one: 0 for dynamic. */
export interface PortPublishInputs extends PublishSpec {
  connection: HostConnection;
}

export interface PortPublishOutputs extends PortPublishInputs {
  /** The port published on the host: the declared one, or the one allocated for hostPort 0. */
  hostPort: number;
  /** hostPort as declared: 0 when the host port was allocated. */
  requestedHostPort: number;
  /** The subnet the hairpin MASQUERADE matches: `subnet`, or the bridge's when not given. */
  bridgeSubnet: string;
  /** Rules carrying this mapping's tag, as `iptables -S` prints them. */
  rules: string[];
  /** Declared rules not found on the host (drift): the commands that would restore them. */
  missingRules: string[];
}

const describe = (name: string) => `port publish "${name}"`;

function specOf(i: PortPublishInputs): PublishSpec {
  const s: PublishSpec = { name: i.name, protocol: i.protocol, hostIp: i.hostIp, hostPort: i.hostPort, address: i.address, port: i.port, bridge: i.bridge };
  if (i.subnet) s.subnet = i.subnet;
  return s;
}

/** The declaration as stored in outputs: hostPort as requested. */
function declaredOf(o: PortPublishOutputs): PortPublishInputs {
  const i: PortPublishInputs = { ...specOf({ ...o, hostPort: o.requestedHostPort ?? o.hostPort }), connection: o.connection };
  return i;
}

/** The mapping as it stands on the host, from stored outputs. */
function placedOf(o: PortPublishOutputs): PlacedMapping {
  return { ...specOf(o), hostPort: o.hostPort, subnet: o.bridgeSubnet };
}

const lines = (text: string | undefined) => (text ?? "").split("\n").filter((l) => l.trim() !== "");

/** Outputs from the `present` / `rules` sections (and `placed`, after create or update). */
function observed(declared: PortPublishInputs, placed: { hostPort: number; subnet: string }, stdout: string): PortPublishOutputs {
  const s = splitSections(stdout);
  const present = lines(s.present);
  const rules = publishRules({ ...declared, hostPort: placed.hostPort, subnet: placed.subnet });
  return {
    ...declared,
    hostPort: placed.hostPort,
    requestedHostPort: declared.hostPort,
    bridgeSubnet: placed.subnet,
    rules: lines(s.rules),
    missingRules: rules.filter((_, i) => present[i] !== "1").map((r) => shJoin(ownedRuleArgs(r))),
  };
}

/** Turn a failed create/update script into the error a user can act on. */
function failure(t: Transport, r: ExecResult, i: PortPublishInputs, hostPort: number): Error {
  const what = `${describe(i.name)} on ${t.label}`;
  const s = splitSections(r.stdout);
  if (r.code === EXIT_ALLOCATED) {
    const holders = [
      ...lines(s["allocated-rule"]).map((l) => {
        const [name, ip, to] = l.split(" ");
        return `port publish "${name}" publishes ${i.protocol} ${ip}:${hostPort} to ${to}`;
      }),
      ...lines(s["allocated-socket"]).map((l) => `a socket listens there: ${l.trim().replace(/\s+/g, " ")}`),
    ];
    return new Error(`${what}: Bind for ${i.hostIp}:${hostPort} failed: port is already allocated (${holders.join("; ")})`);
  }
  if (r.code === EXIT_EXHAUSTED) {
    const [lo, hi] = (s.exhausted ?? "").split(/\s+/);
    return new Error(
      `${what}: no free ${i.protocol} host port in ip_local_port_range ${lo}–${hi}: every one is published by bridgelab or has a listening socket; ` +
        `widen net.ipv4.ip_local_port_range on the host or give a static hostPort`,
    );
  }
  if (r.code === EXIT_NO_SUBNET) {
    return new Error(
      `${what}: bridge "${i.bridge}" has no IPv4 subnet to take the hairpin MASQUERADE's source from (no kernel route on it: is the bridge missing, or without an address?); ` +
        `give subnet, e.g. the Bridge's subnet output`,
    );
  }
  return new CommandError(t.label, r, describe(i.name));
}

export const portPublishProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs: PortPublishInputs = {
      connection: news.connection,
      name: news.name,
      protocol: news.protocol ?? "tcp",
      hostIp: news.hostIp ?? ANY_IP,
      hostPort: news.hostPort ?? 0,
      address: news.address,
      port: news.port,
      bridge: news.bridge,
    };
    if (news.subnet !== undefined) inputs.subnet = news.subnet;
    const problems = [
      ...connectionFailures(inputs.connection),
      ...failures([
        ["name", inputs.name, checkRuleName],
        ["protocol", inputs.protocol, checkProtocol],
        ["hostIp", inputs.hostIp, checkHostIp],
        ["hostPort", inputs.hostPort, checkHostPort],
        ["address", inputs.address, checkContainerIp],
        ["port", inputs.port, checkPort],
        ["bridge", inputs.bridge, checkIfname],
        ...(inputs.subnet !== undefined ? [["subnet", inputs.subnet, checkNetworkCidr] as [string, unknown, typeof checkNetworkCidr]] : []),
      ]),
    ];
    const bad = (f: string) => problems.some((p) => p.property === f) || isUnknown((inputs as unknown as Record<string, unknown>)[f]);
    if (inputs.subnet !== undefined && !bad("subnet") && !bad("address") && !insideSubnet(inputs.address, inputs.subnet)) {
      problems.push({
        property: "address",
        reason: `address ${JSON.stringify(inputs.address)} is outside subnet ${JSON.stringify(inputs.subnet)}; the container must sit in the subnet of the bridge it is published from`,
      });
    }
    // Two mappings of this program on one static host port: Docker's refusal, at preview.
    if (!bad("name") && !bad("protocol") && !bad("hostIp") && !bad("hostPort") && !isUnknown(inputs.connection)) {
      const clash = claimStaticPort(connectionIdentity(inputs.connection), inputs.name, { protocol: inputs.protocol, hostIp: inputs.hostIp, hostPort: inputs.hostPort });
      if (clash) {
        problems.push({
          property: "hostPort",
          reason:
            `Bind for ${inputs.hostIp}:${inputs.hostPort} failed: port is already allocated ` +
            `(port publish "${clash.name}" in this program also publishes ${clash.protocol} ${clash.hostIp}:${clash.hostPort} on this host)`,
        });
      }
    }
    return { inputs, failures: problems };
  },

  /**
   * Pure. The name (the rules' tag), protocol, host IP and host port replace, deleting
   * first (the replacement would want the same port and tag); the container side (address,
   * port, bridge, subnet) changes in place. The declared hostPort is compared with the
   * declared one (requestedHostPort), so 0 against the allocated 32768 is no change. A
   * declared rule missing on the host is drift, repaired by an in-place update.
   */
  async diff(_id, olds, news) {
    const o = olds as PortPublishOutputs;
    const d = diffFields({ ...o, hostPort: o.requestedHostPort ?? o.hostPort }, news, {
      replace: ["name", "protocol", "hostIp", "hostPort"],
      update: ["address", "port", "bridge", "subnet"],
    });
    return { ...d, changes: d.changes || (o.missingRules ?? []).length > 0 };
  },

  /**
   * All-or-nothing, in one locked script: the host port is checked (static) or allocated
   * (dynamic) and the rules written, or nothing changes. Idempotent: this mapping's own
   * rules left by an interrupted create are adopted (keeping their host port); rules with
   * our tag that publish something else are refused.
   */
  async create(inputs: PortPublishInputs) {
    const what = describe(inputs.name);
    const key = connectionIdentity(inputs.connection);
    return onHost(inputs.connection, async (raw) => {
      const t = queued(raw, key);
      // With other creates for this host waiting, in one script with them (publishBatcher.ts).
      let r = await createInBatch(raw, key, specOf(inputs));
      let hostPort = inputs.hostPort;
      if (r.code === EXIT_EXISTS) {
        const found = lines(splitSections(r.stdout).exists);
        const dnat = found.map(parsePublishDnat).find((d) => d !== undefined);
        const same =
          dnat &&
          dnat.protocol === inputs.protocol &&
          dnat.hostIp === inputs.hostIp &&
          (inputs.hostPort === 0 || dnat.hostPort === inputs.hostPort) &&
          dnat.address === inputs.address &&
          dnat.port === inputs.port;
        if (!same) {
          throw new Error(
            `${what} on ${t.label}: rules tagged ${publishTag(inputs.name)} already exist and do not publish this mapping:\n  ${found.join("\n  ")}\n` +
              `another port publish on this host is named "${inputs.name}": give this one another name, or delete those rules`,
          );
        }
        hostPort = dnat.hostPort;
        r = await t.run(portPublishUpdateScript({ ...specOf(inputs), hostPort }));
      }
      if (r.code !== 0) throw failure(t, r, inputs, hostPort);
      const placed = parsePlaced(splitSections(r.stdout).placed);
      if (!placed) throw new Error(`${what} on ${t.label}: the host printed no allocated port`);
      return { id: inputs.name, outs: observed(inputs, placed, r.stdout) };
    });
  },

  /**
   * Reports what is really there: every declared rule present; some missing (drift, shown
   * in missingRules and repaired by the next update); none and no rule with our tag, gone.
   * The allocated host port is the stored one: a refresh never changes it.
   */
  async read(id, props: PortPublishOutputs) {
    return onHostLocked(props.connection, async (t) => {
      const r = await runChecked(t, portPublishReadScript(placedOf(props)), describe(props.name));
      const s = splitSections(r.stdout);
      if (!lines(s.present).includes("1") && lines(s.rules).length === 0) return { id: "", props: {} };
      return { id, props: observed(declaredOf(props), { hostPort: props.hostPort, subnet: props.bridgeSubnet }, r.stdout) };
    });
  },

  /**
   * In place, in one locked script: the new rules in, then the old ones out (a failure puts
   * the old ones back), and the old mapping's conntrack entries dropped when the container
   * side moved. The host port is never reallocated. Also repairs drift.
   */
  async update(_id, olds: PortPublishOutputs, news: PortPublishInputs) {
    const sameHost = (["address", "port", "bridge", "subnet"] as const).every((k) => olds[k] === news[k]);
    if (sameHost && (olds.missingRules ?? []).length === 0) {
      return { outs: { ...olds, connection: news.connection } };
    }
    const hostPort = news.hostPort === 0 ? olds.hostPort : news.hostPort;
    return onHostLocked(news.connection, async (t) => {
      const r = await t.run(portPublishUpdateScript({ ...specOf(news), hostPort }, placedOf(olds)));
      if (r.code !== 0) throw failure(t, r, news, hostPort);
      const placed = parsePlaced(splitSections(r.stdout).placed) ?? { hostPort, subnet: olds.bridgeSubnet };
      return { outs: observed(news, placed, r.stdout) };
    });
  },

  /**
   * Idempotent: removes exactly this mapping's rules (and any other carrying its tag), our
   * chains when they are left empty, and the mapping's conntrack entries, so an established
   * flow stops reaching the container. Rules already gone are success.
   */
  async delete(_id, props: PortPublishOutputs) {
    const key = connectionIdentity(props.connection);
    await onHost(props.connection, async (t) => {
      // With other deletes for this host waiting, in one script with them (publishBatcher.ts).
      const r = await deleteInBatch(t, key, placedOf(props));
      if (r.code !== 0) throw new CommandError(t.label, r, describe(props.name));
      const s = splitSections(r.stdout);
      if (s["conntrack-error"] !== undefined) {
        console.error(`${describe(props.name)} on ${t.label}: rules removed, but dropping its conntrack entries failed: ${s["conntrack-error"]}`);
      }
      if (s["no-conntrack"] !== undefined) {
        console.error(`${describe(props.name)} on ${t.label}: rules removed; conntrack(8) is not installed, so established flows to ${props.address}:${props.port} were not dropped`);
      }
    });
  },
};

export class PortPublish extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly protocol: pulumi.Output<Protocol>;
  declare readonly hostIp: pulumi.Output<string>;
  /** The port published on the host: the declared one, or the one allocated for hostPort 0. */
  declare readonly hostPort: pulumi.Output<number>;
  /** hostPort as declared (0: dynamic). */
  declare readonly requestedHostPort: pulumi.Output<number>;
  declare readonly address: pulumi.Output<string>;
  declare readonly port: pulumi.Output<number>;
  declare readonly bridge: pulumi.Output<string>;
  declare readonly subnet: pulumi.Output<string | undefined>;
  declare readonly bridgeSubnet: pulumi.Output<string>;
  declare readonly rules: pulumi.Output<string[]>;
  declare readonly missingRules: pulumi.Output<string[]>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: PortPublishArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("portPublishProvider"),
      name,
      {
        name: args.name ?? name,
        connection: args.connection,
        protocol: args.protocol,
        hostIp: args.hostIp,
        hostPort: args.hostPort,
        address: args.address,
        port: args.port,
        bridge: args.bridge,
        subnet: args.subnet,
        requestedHostPort: undefined,
        bridgeSubnet: undefined,
        rules: undefined,
        missingRules: undefined,
      },
      opts,
      "bridgelab",
      "PortPublish",
    );
  }
}
