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
import { OWNERS_DIR, foreignOwnerMessage, parseTag } from "../host/owner";
import { shJoin } from "../host/quote";
import { ownedRuleArgs } from "../host/ruleSet";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { checkIfname } from "../host/validate";
import { checkNetworkCidr, checkRuleName } from "../host/validateNetfilter";
import type { HostConnection } from "../transport/connection";
import { CommandError, ExecResult, Transport, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, connectionIdentity, diffFields, failures, isUnknown, onHost, ownerFailures, ownerOfProps } from "./contract";
import { onHostLocked, queued } from "./hostLock";
import { ownerInput } from "./ownerInput";
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
 * `bridgelab:v2:publish:NAME:OWNERID` (the owner: this resource, host/owner.ts): the DNAT, the
 * FORWARD accept, the MASQUERADE for a container reaching itself, plus a hairpin MASQUERADE and
 * FORWARD accepts so that it also works without br_netfilter and under a FORWARD policy of
 * DROP. The rule layout is in portPublishScripts.ts.
 *
 * `hostPort: 0` takes a free port from the host's ip_local_port_range, as Docker and the ECS
 * agent do, in Docker's order (round the range, from after the last one handed out) and
 * skipping ip_local_reserved_ports; the output `hostPort` holds it and keeps it across updates
 * and refreshes. A
 * static port already published (by any stack) or listened on fails with Docker's message,
 * naming the holder: `Bind for 0.0.0.0:8080 failed: port is already allocated (port publish
 * "web" of stack "dev", project "lab" (urn:…) publishes tcp 0.0.0.0:8080 to 172.18.0.10:5000)`.
 *
 * Two stacks of one program publish side by side on one host: each mapping sees, changes and
 * deletes only its own rules. A change of host port, protocol or host address is an in-place
 * update that checks the new port first: refused, the old mapping keeps serving.
 */
export interface PortPublishArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** NAME in the rules' tag `bridgelab:v2:publish:NAME:OWNERID` (another stack may use the same NAME). @default the resource name */
  name?: pulumi.Input<string>;
  /** @default "tcp" */
  protocol?: pulumi.Input<Protocol>;
  /** The host address to publish on. @default "0.0.0.0" (every local address) */
  hostIp?: pulumi.Input<string>;
  /** 1–65535, or 0 for a free port from the host's ip_local_port_range, not reserved (ip_local_reserved_ports), the next after the last one handed out (the `hostPort` output). @default 0 */
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
export interface PortPublishInputs extends Omit<PublishSpec, "owner"> {
  connection: HostConnection;
  /** The resource's URN (set by the PortPublish class): the owner its rules' tag names. Absent in state of bridgelab 0.1. */
  owner?: string;
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
  const owner = ownerOfProps(i);
  if (owner) s.owner = owner;
  return s;
}

/** The declaration as stored in outputs: hostPort as requested. */
function declaredOf(o: PortPublishOutputs): PortPublishInputs {
  const { owner: _owner, ...spec } = specOf({ ...o, hostPort: o.requestedHostPort ?? o.hostPort });
  return { ...spec, connection: o.connection, ...(o.owner ? { owner: o.owner } : {}) };
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
  const rules = publishRules({ ...specOf(declared), hostPort: placed.hostPort, subnet: placed.subnet });
  return {
    ...declared,
    hostPort: placed.hostPort,
    requestedHostPort: declared.hostPort,
    bridgeSubnet: placed.subnet,
    rules: lines(s.rules),
    missingRules: rules.filter((_, i) => present[i] !== "1").map((r) => shJoin(ownedRuleArgs(r))),
  };
}

/**
 * Who holds a port, from a line of the `allocated-rule` section (`TAG DEST-IP TO [URN]`):
 *   port publish "web" of stack "dev", project "lab" (urn:pulumi:dev::lab::…::web)
 *   port publish "web" of bridgelab 0.1 (tag bridgelab:v1:publish:web, no owner recorded)
 */
function holderOf(tag: string, urn: string): string {
  const p = parseTag(tag, true);
  if (p?.version === 2) {
    const m = /^urn:pulumi:([^:]*)::([^:]*)::/.exec(urn);
    if (m) return `port publish "${p.name}" of stack "${m[1]}", project "${m[2]}" (${urn})`;
    return `port publish "${p.name}" of another bridgelab owner (tag ${tag}; its record ${OWNERS_DIR}/${p.id} is gone)`;
  }
  if (p?.version === 1) return `port publish "${p.name}" of bridgelab 0.1 (tag ${tag}, no owner recorded)`;
  return tag === "-" ? "a DNAT rule without a tag" : `a DNAT rule tagged ${JSON.stringify(tag)}`;
}

/** Turn a failed create/update script into the error a user can act on. */
function failure(t: Transport, r: ExecResult, i: PortPublishInputs, hostPort: number): Error {
  const what = `${describe(i.name)} on ${t.label}`;
  const s = splitSections(r.stdout);
  if (r.code === EXIT_ALLOCATED) {
    const holders = [
      ...lines(s["allocated-rule"]).map((l) => {
        const [tag, ip, to, ...urn] = l.trim().split(" ");
        return `${holderOf(tag, urn.join(" "))} publishes ${i.protocol} ${ip}:${hostPort} to ${to}`;
      }),
      ...lines(s["allocated-socket"]).map((l) => `a socket listens there: ${l.trim().replace(/\s+/g, " ")}`),
    ];
    return new Error(`${what}: Bind for ${i.hostIp}:${hostPort} failed: port is already allocated (${holders.join("; ")})`);
  }
  if (r.code === EXIT_EXHAUSTED) {
    const [lo, hi] = (s.exhausted ?? "").split(/\s+/);
    return new Error(
      `${what}: no free ${i.protocol} host port in ip_local_port_range ${lo}–${hi}: every one is published by bridgelab, has a listening socket or is reserved (net.ipv4.ip_local_reserved_ports); ` +
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
    if (news.owner !== undefined) inputs.owner = news.owner;
    const problems = [
      ...connectionFailures(inputs.connection),
      ...ownerFailures(news.owner),
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
    // Claims are keyed by the owner (two resources may share a NAME), or by NAME without one.
    if (!bad("name") && !bad("protocol") && !bad("hostIp") && !bad("hostPort") && !isUnknown(inputs.connection)) {
      const key = typeof inputs.owner === "string" && !isUnknown(inputs.owner) ? inputs.owner : inputs.name;
      const clash = claimStaticPort(connectionIdentity(inputs.connection), key, { name: inputs.name, protocol: inputs.protocol, hostIp: inputs.hostIp, hostPort: inputs.hostPort });
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
   * Pure. Protocol, host IP and host port change in place, as the container side (address,
   * port, bridge, subnet) and the owner do: the update checks the new host port before it
   * touches anything, then swaps the rules in one iptables-restore, so a port that is taken
   * fails with the old mapping still serving (a replacement deleted it first). The declared
   * hostPort is compared with the declared one (requestedHostPort), so 0 against the
   * allocated 32768 is no change. A declared rule missing on the host is drift, repaired by
   * an in-place update.
   *
   * The name (in the rules' tag, and the resource's id) replaces. With an owner in the state
   * the new mapping is made before the old one is deleted (the tags differ and the owner's own
   * rules never hold a port against it); state of bridgelab 0.1 (no owner) and another host
   * delete first: the old rules cannot be told from another stack's, or the "other" host may
   * be the same machine reached another way, where the new mapping would adopt the old rules.
   */
  async diff(_id, olds, news) {
    const o = olds as PortPublishOutputs;
    const d = diffFields({ ...o, hostPort: o.requestedHostPort ?? o.hostPort }, news, {
      replace: ["name"],
      update: ["protocol", "hostIp", "hostPort", "address", "port", "bridge", "subnet", "owner"],
    });
    const deleteFirst = d.replaces!.includes("connection") || (d.replaces!.length > 0 && !o.owner);
    return { ...d, changes: d.changes || (o.missingRules ?? []).length > 0, deleteBeforeReplace: deleteFirst };
  },

  /**
   * All-or-nothing, in one locked script: the host port is checked (static) or allocated
   * (dynamic) and the rules written, or nothing changes. Idempotent: this mapping's own
   * rules left by an interrupted create are adopted (keeping their host port); rules with
   * our own tag that publish something else are refused, and so are bridgelab 0.1's rules of
   * this NAME (only the stack whose state holds them takes them over). Another stack's mapping
   * of the same NAME is left alone.
   */
  async create(inputs: PortPublishInputs) {
    const what = describe(inputs.name);
    const key = connectionIdentity(inputs.connection);
    return onHost(inputs.connection, async (raw) => {
      const t = queued(raw, key);
      // With other creates for this host waiting, in one script with them (publishBatcher.ts).
      let r = await createInBatch(raw, key, specOf(inputs));
      let hostPort = inputs.hostPort;
      if (r.code === EXIT_EXISTS && splitSections(r.stdout).v1 !== undefined) {
        const found = lines(splitSections(r.stdout).v1);
        throw new Error(
          foreignOwnerMessage(`${what} on ${t.label}: a mapping of that name already exists and`, publishTag(inputs.name), undefined) +
            ` (the stack that made it re-tags it as its own with its next \`up\` under this version):\n  ${found.join("\n  ")}`,
        );
      }
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
            `${what} on ${t.label}: rules tagged ${publishTag(inputs.name, ownerOfProps(inputs))} (this resource's own) already exist and do not publish this mapping:\n  ${found.join("\n  ")}\n` +
              `they were left by an earlier declaration of this resource: delete those rules, or refresh the stack`,
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
   * In place, in one locked script (portPublishUpdateScript): the new host port checked (a
   * static one held by another mapping or a socket fails in Docker's words, nothing changed,
   * the old mapping still serving), then the new rules in and the old ones out in one
   * iptables-restore (a failure puts the old ones back), and the old mapping's conntrack
   * entries dropped when it moved. A dynamic port keeps its allocated port unless the
   * protocol or host address changed (or it was static before): then a new one is allocated.
   * A new owner (0.1's state, or a resource moved by an alias) re-tags the rules. Also
   * repairs drift.
   */
  async update(_id, olds: PortPublishOutputs, news: PortPublishInputs) {
    const requested = olds.requestedHostPort ?? olds.hostPort;
    const same = (["address", "port", "bridge", "subnet", "protocol", "hostIp", "owner"] as const).every((k) => olds[k] === news[k]) && requested === news.hostPort;
    if (same && (olds.missingRules ?? []).length === 0) {
      return { outs: { ...olds, connection: news.connection } };
    }
    const reallocate = news.hostPort === 0 && (requested !== 0 || olds.protocol !== news.protocol || olds.hostIp !== news.hostIp);
    const hostPort = news.hostPort !== 0 ? news.hostPort : reallocate ? 0 : olds.hostPort;
    return onHostLocked(news.connection, async (t) => {
      const r = await t.run(portPublishUpdateScript({ ...specOf(news), hostPort }, placedOf(olds)));
      const placed = parsePlaced(splitSections(r.stdout).placed);
      if (r.code !== 0) throw failure(t, r, news, placed?.hostPort ?? hostPort);
      if (!placed) throw new Error(`${describe(news.name)} on ${t.label}: the host printed no placed port`);
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
        owner: ownerInput("PortPublish", name, opts),
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
