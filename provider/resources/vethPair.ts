import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { globalCidrs, isAdminUp, parseIpAddrJson } from "../host/ipJson";
import { checkMac, macFromIPv4, normalizeMac } from "../host/mac";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { foreignOwnerMessage, notOwnUpdateMessage, ownerPhrase, ownerTag } from "../host/owner";
import { checkIpAddress, gatewayProblem, normalizeAddress } from "../host/subnets";
import { Problem, checkIfname, checkInterfaceCidr, checkMtu, checkNetnsName, normalizeCidr, subnetOf } from "../host/validate";
import { parseIpRouteJson, parseVethLinkJson } from "../host/vethJson";
import { EXIT_ROUTE_CLASH, VethSpec, vethCreateScript, vethDeleteScript, vethReadScript, vethUpdateScript } from "../host/vethScripts";
import type { HostConnection } from "../transport/connection";
import { CommandError, ExecResult, Transport, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, connectionIdentity, diffFields, failures, isUnknown, onHost, ownerFailures, ownerOfProps } from "./contract";
import { ownerInput } from "./ownerInput";
import { claimHostSubnet, releaseHostSubnet } from "./vethRoutes";

/**
 * A veth pair: a virtual cable with one end on the host and the other in a network
 * namespace, the way Docker plugs a container in. Equivalent to (seed 004):
 *
 *   ip link add veth0 type veth peer name ceth0
 *   ip link set ceth0 netns netns0
 *   ip link set veth0 master br0              # bridge
 *   ip -n netns0 link set ceth0 address 02:42:ac:12:00:0a
 *   ip -n netns0 addr add 172.18.0.10/16 dev ceth0
 *   ip -n netns0 link set ceth0 up; ip link set veth0 up
 *   ip -n netns0 route add default via 172.18.0.1
 *   ip link set dev veth0 alias bridgelab:v2:veth:1a2b3c4d   # its owner (host/owner.ts)
 *
 * The loopback of the namespace is the NetNamespace's business.
 */
export interface VethPairArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** The host end's interface name, 1–15 bytes. @default the resource name */
  name?: pulumi.Input<string>;
  /**
   * The peer's name before it goes into `netns` (and its name when there is no netns).
   * @default "c" + name without its first letter when name starts with "v" (veth0 → ceth0,
   * as in the seed), otherwise "c" + name, cut to 15 bytes
   */
  peerName?: pulumi.Input<string>;
  /** The NetNamespace the peer lives in. @default none: both ends stay on the host */
  netns?: pulumi.Input<string>;
  /** The peer's name inside `netns` ("eth0", as Docker does). Needs netns. @default peerName */
  peerIfname?: pulumi.Input<string>;
  /** Attach the host end to this bridge (`ip link set veth0 master br0`). @default none */
  bridge?: pulumi.Input<string>;
  /**
   * CIDR on the host end, for a pair without a bridge (the seed's first variant). Two such
   * veths on one host must not share a subnet. @default none
   */
  hostAddress?: pulumi.Input<string>;
  /** CIDR on the peer, e.g. "172.18.0.10/16". @default none */
  address?: pulumi.Input<string>;
  /** Default route of the namespace via this address, inside `address`'s subnet. Needs netns. @default none */
  gateway?: pulumi.Input<string>;
  /** MTU of both ends. @default 1500 */
  mtu?: pulumi.Input<number>;
  /**
   * MAC of the peer. @default derived from an IPv4 `address` as Docker did (172.17.0.2 →
   * 02:42:ac:11:00:02); without one, the kernel's random address
   */
  mac?: pulumi.Input<string>;
  /** Both ends administratively up. @default true */
  up?: pulumi.Input<boolean>;
}

/** Checked inputs, with defaults resolved: the host-side spec plus where it is and the peer's first name. */
export interface VethPairInputs extends Omit<VethSpec, "owner"> {
  connection: HostConnection;
  peerName: string;
  /** The resource's URN (set by the VethPair class): the owner its tag names. Absent in state of bridgelab 0.1. */
  owner?: string;
}

export interface VethPairOutputs extends VethPairInputs {
  hostIfindex: number;
  /** 0 when the peer is not where it was declared (deleted, moved, renamed): the pair is replaced. */
  peerIfindex: number;
  hostMac: string;
  peerMac: string;
}

const KIND = "veth";
const describe = (name: string) => `veth "${name}"`;

/** veth0 → ceth0 (the seed's naming); br-port → cbr-port; cut to 15 bytes. */
export function defaultPeerName(name: string): string {
  return (name.startsWith("v") ? "c" + name.slice(1) : "c" + name).slice(0, 15);
}

/** Why two host-side addresses in one subnet break, and what to do instead. */
export function routeClashAdvice(subnet: string): string {
  return (
    `the kernel installs one connected route per host-side address (${subnet} dev <veth>), and uses only one of them, ` +
    `so traffic for ${subnet} leaves through a single veth and the other namespace is unreachable. ` +
    `Attach both veths to a Bridge that owns the subnet instead (Bridge address in ${subnet}, VethPair bridge, no hostAddress)`
  );
}

function specOf(i: VethPairInputs): VethSpec {
  const s: VethSpec = { name: i.name, peerIfname: i.peerIfname, mtu: i.mtu, up: i.up };
  for (const k of ["netns", "bridge", "hostAddress", "address", "gateway", "mac"] as const) if (i[k] !== undefined) s[k] = i[k];
  const owner = ownerOfProps(i);
  if (owner) s.owner = owner;
  return s;
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** What the host holds, from the sections read back by a script; declared values win where they are present. */
function observed(inputs: VethPairInputs, stdout: string): VethPairOutputs {
  const s = splitSections(stdout);
  const host = parseVethLinkJson(s.host ?? "")[0];
  if (!host) throw new Error(`${describe(inputs.name)}: the host printed no link information`);
  const candidate = parseVethLinkJson(s.peer ?? "")[0];
  // The peer is in place when the two ends point at each other: by ifindex across namespaces
  // when one is declared, by name on the host otherwise.
  const pointAtEachOther =
    candidate !== undefined &&
    (inputs.netns !== undefined
      ? host.linkNetnsid !== undefined && candidate.ifindex === host.linkIndex && candidate.linkIndex === host.ifindex
      : host.linkNetnsid === undefined && host.link === candidate.ifname && candidate.link === host.ifname);
  const peer = pointAtEachOther ? candidate : undefined;
  const hostAddrs = globalCidrs(parseIpAddrJson(s.hostaddr ?? "")[0]).map(normalizeCidr);
  const peerAddrs = peer ? globalCidrs(parseIpAddrJson(s.peeraddr ?? "")[0]).map(normalizeCidr) : [];
  const gateways = peer
    ? parseIpRouteJson(s.routes ?? "")
        .filter((r) => r.dst === "default" && r.gateway && r.dev === inputs.peerIfname)
        .map((r) => normalizeAddress(r.gateway!))
    : [];
  const pick = (want: string | undefined, have: string[]) => (want && have.includes(want) ? want : have[0]);
  return dropUndefined<VethPairOutputs>({
    connection: inputs.connection,
    owner: inputs.owner,
    name: host.ifname,
    peerName: inputs.peerName,
    netns: inputs.netns,
    peerIfname: inputs.peerIfname,
    bridge: host.master,
    hostAddress: pick(inputs.hostAddress, hostAddrs),
    address: pick(inputs.address, peerAddrs),
    gateway: pick(inputs.gateway, gateways),
    // One field for both ends: report the end that differs from the declaration.
    mtu: host.mtu !== inputs.mtu || !peer ? host.mtu : peer.mtu,
    mac: inputs.mac !== undefined ? peer?.address : undefined,
    up: isAdminUp(host) && !!peer && isAdminUp(peer),
    hostIfindex: host.ifindex,
    peerIfindex: peer?.ifindex ?? 0,
    hostMac: host.address ?? "",
    peerMac: peer?.address ?? "",
  });
}

type Check = [string, unknown, (field: string, v: unknown) => Problem];
const ok = (p: pulumi.dynamic.CheckFailure[], field: string, v: unknown) => v !== undefined && !isUnknown(v) && !p.some((f) => f.property === field);

export const vethPairProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const known = (v: unknown): v is string => typeof v === "string" && !isUnknown(v);
    const peerName = news.peerName ?? (known(news.name) ? defaultPeerName(news.name) : news.name);
    const inputs = dropUndefined<VethPairInputs>({
      connection: news.connection,
      owner: news.owner,
      name: news.name,
      peerName,
      netns: news.netns,
      peerIfname: news.peerIfname ?? peerName,
      bridge: news.bridge,
      hostAddress: news.hostAddress,
      address: news.address,
      gateway: news.gateway,
      mtu: news.mtu ?? 1500,
      mac: news.mac,
      up: news.up ?? true,
    });
    const optional: Check[] = (
      [
        ["netns", inputs.netns, checkNetnsName],
        ["peerIfname", news.peerIfname, checkIfname],
        ["bridge", inputs.bridge, checkIfname],
        ["hostAddress", inputs.hostAddress, checkInterfaceCidr],
        ["address", inputs.address, checkInterfaceCidr],
        ["gateway", inputs.gateway, checkIpAddress],
        ["mac", inputs.mac, checkMac],
      ] as Check[]
    ).filter(([, v]) => v !== undefined);
    const problems = [
      ...connectionFailures(inputs.connection),
      ...ownerFailures(news.owner),
      ...failures([["name", inputs.name, checkIfname], ["peerName", inputs.peerName, checkIfname], ["mtu", inputs.mtu, checkMtu], ["up", inputs.up, checkBoolean], ...optional]),
    ];
    const fail = (property: string, reason: string) => problems.push({ property, reason });

    // Rules between fields, on values that are known and valid on their own.
    if (news.peerIfname !== undefined && inputs.netns === undefined && ok(problems, "peerIfname", inputs.peerIfname) && inputs.peerIfname !== inputs.peerName) {
      fail("peerIfname", `peerIfname ${JSON.stringify(inputs.peerIfname)} names the peer inside netns, but netns is not set: without netns the peer stays on the host as peerName ${JSON.stringify(inputs.peerName)}`);
    }
    if (inputs.netns === undefined && ok(problems, "name", inputs.name) && inputs.peerName === inputs.name) {
      fail("peerName", `peerName ${JSON.stringify(inputs.peerName)} equals name: without netns both ends live on the host and need different names`);
    }
    if (inputs.bridge !== undefined && inputs.hostAddress !== undefined) {
      fail("hostAddress", `hostAddress ${JSON.stringify(inputs.hostAddress)} cannot be combined with bridge ${JSON.stringify(inputs.bridge)}: a bridge port has no address of its own; give the address to the Bridge, which owns the subnet`);
    }
    if (inputs.gateway !== undefined) {
      if (inputs.address === undefined) fail("gateway", `gateway ${JSON.stringify(inputs.gateway)} needs address: a gateway must lie inside the subnet of the peer's address`);
      else if (ok(problems, "gateway", inputs.gateway) && ok(problems, "address", inputs.address)) {
        const p = gatewayProblem("gateway", inputs.gateway, "address", inputs.address);
        if (p) fail("gateway", p);
      }
      if (inputs.netns === undefined) fail("gateway", `gateway ${JSON.stringify(inputs.gateway)} sets the default route of netns, but netns is not set (bridgelab never changes the host's default route)`);
      if (inputs.up === false) fail("gateway", `gateway ${JSON.stringify(inputs.gateway)} needs up: the kernel drops the routes of a link that is down`);
    }

    // Normalise what is valid, so diffs compare meaningfully.
    for (const k of ["hostAddress", "address"] as const) if (ok(problems, k, inputs[k])) inputs[k] = normalizeCidr(inputs[k]!);
    if (ok(problems, "gateway", inputs.gateway)) inputs.gateway = normalizeAddress(inputs.gateway!);
    if (ok(problems, "mac", inputs.mac)) inputs.mac = normalizeMac(inputs.mac!);
    else if (inputs.mac === undefined && ok(problems, "address", inputs.address) && !inputs.address!.includes(":")) inputs.mac = macFromIPv4(inputs.address!);

    // The seed's route clash, across the VethPairs of this deployment.
    if (!isUnknown(inputs.connection) && ok(problems, "name", inputs.name) && !problems.some((p) => p.property === "connection")) {
      const host = connectionIdentity(inputs.connection);
      const mine = inputs.bridge === undefined && ok(problems, "hostAddress", inputs.hostAddress) ? inputs.hostAddress : undefined;
      if (!isUnknown(inputs.hostAddress)) {
        const clash = claimHostSubnet(host, inputs.name, mine);
        if (clash) {
          fail(
            "hostAddress",
            `hostAddress ${JSON.stringify(mine)} of veth ${JSON.stringify(inputs.name)} is in a subnet that overlaps hostAddress ${JSON.stringify(clash.hostAddress)} ` +
              `of veth ${JSON.stringify(clash.name)} on the same host: ${routeClashAdvice(subnetOf(mine!))}`,
          );
        }
      }
    }
    return { inputs, failures: problems };
  },

  async diff(_id, olds: VethPairOutputs, news: VethPairInputs) {
    const d = diffFields(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>, {
      replace: ["name", "netns", "peerIfname", "peerName"],
      update: ["bridge", "hostAddress", "address", "gateway", "mtu", "mac", "up", "owner"],
    });
    // The peer vanished or moved (read found it nowhere): only a new pair brings it back.
    if (olds.peerIfindex === 0 && !d.replaces?.includes("peerIfname")) {
      return { changes: true, replaces: [...(d.replaces ?? []), "peerIfname"], deleteBeforeReplace: true };
    }
    return d;
  },

  /**
   * All-or-nothing: one script, which deletes the pair if a later step fails, and refuses
   * a route clash or a taken peer name before changing anything. Idempotent: a veth this
   * same resource made (a create cut short) is adopted (converged in place, or made again if
   * its peer is lost); one of another owner, of bridgelab 0.1 or of nobody is refused, naming
   * whose it is, and so is any other link of that name.
   */
  async create(inputs: VethPairInputs) {
    const what = describe(inputs.name);
    return onHost(inputs.connection, async (t) => {
      let r = await t.run(vethCreateScript(specOf(inputs)));
      if (r.code === EXIT_EXISTS) {
        const s = splitSections(r.stdout);
        const link = parseVethLinkJson(s.host ?? "")[0];
        if (link?.kind !== "veth") {
          throw new Error(`${what} on ${t.label}: "${inputs.name}" already exists but is not a veth (it is a ${link?.kind ?? "plain"} link)`);
        }
        if (link.ifalias !== ownerTag(KIND, ownerOfProps(inputs))) {
          const hint = link.ifalias ? "" : ` (delete it with \`ip link del ${inputs.name}\` if nothing uses it)`;
          throw new Error(foreignOwnerMessage(`${what} on ${t.label}: a veth of that name already exists and`, link.ifalias, s.owner) + hint);
        }
        const current = observed(inputs, r.stdout);
        if (current.peerIfindex !== 0) {
          r = await runVethUpdate(t, specOf(current), inputs);
        } else {
          await runChecked(t, vethDeleteScript(inputs.name, ownerOfProps(inputs)), what);
          r = await runVeth(t, vethCreateScript(specOf(inputs)), inputs);
        }
      } else {
        expectSuccess(t, r, inputs);
      }
      return { id: inputs.name, outs: observed(inputs, r.stdout) };
    });
  },

  /** Reports what is really there; a pair deleted by hand, taken away with its namespace, or no longer this owner's, is gone. */
  async read(id, props: VethPairOutputs) {
    return onHost(props.connection, async (t) => {
      const r = await runChecked(t, vethReadScript(specOf(props)), describe(props.name));
      if ("gone" in splitSections(r.stdout)) return { id: "", props: {} };
      return { id, props: observed(props, r.stdout) };
    });
  },

  /** MTU, addresses, gateway, bridge, MAC, up/down and the owner's tag change in place, in one round trip. */
  async update(_id, olds: VethPairOutputs, news: VethPairInputs) {
    const fields = ["bridge", "hostAddress", "address", "gateway", "mtu", "mac", "up", "owner"] as const;
    if (fields.every((k) => olds[k] === news[k])) return { outs: { ...olds, connection: news.connection } };
    return onHost(news.connection, async (t) => {
      const r = await runVethUpdate(t, specOf(olds), news);
      return { outs: observed(news, r.stdout) };
    });
  },

  /**
   * Idempotent: a missing pair is success (also when its namespace took it away); a link that
   * is not this resource's is left in place, saying whose it is.
   */
  async delete(_id, props: VethPairOutputs) {
    await onHost(props.connection, async (t) => {
      const r = await runChecked(t, vethDeleteScript(props.name, ownerOfProps(props)), describe(props.name));
      const s = splitSections(r.stdout);
      if ("foreign" in s) {
        const link = parseVethLinkJson(s.foreign ?? "")[0];
        console.error(`${describe(props.name)} on ${t.label} is not this resource's, so it is left in place: it ${ownerPhrase(link?.ifalias, s.owner)}`);
      }
    });
    releaseHostSubnet(connectionIdentity(props.connection), props.name);
  },
};

function checkBoolean(field: string, v: unknown): Problem {
  return typeof v === "boolean" ? undefined : `${field} must be true or false, got ${JSON.stringify(v)}`;
}

function expectSuccess(t: Transport, r: ExecResult, inputs: VethPairInputs): void {
  if (r.code === EXIT_ROUTE_CLASH) {
    const routes = (splitSections(r.stdout).clash ?? "").split("\n").map((l) => "  " + l.trim()).join("\n");
    const subnet = subnetOf(inputs.hostAddress!);
    throw new Error(
      `${describe(inputs.name)} on ${t.label}: hostAddress ${inputs.hostAddress} overlaps a route the host already has on another device:\n${routes}\n` +
        `Nothing was changed: ${routeClashAdvice(subnet)}.`,
    );
  }
  if (r.code !== 0) throw new CommandError(t.label, r, describe(inputs.name));
}

async function runVeth(t: Transport, script: string, inputs: VethPairInputs): Promise<ExecResult> {
  const r = await t.run(script);
  expectSuccess(t, r, inputs);
  return r;
}

/** An update script's result; it changed nothing when the host end was gone or another owner's. */
async function runVethUpdate(t: Transport, from: VethSpec, inputs: VethPairInputs): Promise<ExecResult> {
  const r = await runVeth(t, vethUpdateScript(from, specOf(inputs)), inputs);
  const s = splitSections(r.stdout);
  const subject = `${describe(inputs.name)} on ${t.label}`;
  if ("gone" in s) throw new Error(notOwnUpdateMessage(subject, "gone"));
  if ("foreign" in s) throw new Error(notOwnUpdateMessage(subject, { tag: parseVethLinkJson(s.foreign ?? "")[0]?.ifalias, record: s.owner }));
  return r;
}

export class VethPair extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly peerName: pulumi.Output<string>;
  declare readonly netns: pulumi.Output<string | undefined>;
  declare readonly peerIfname: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string | undefined>;
  declare readonly hostAddress: pulumi.Output<string | undefined>;
  declare readonly address: pulumi.Output<string | undefined>;
  declare readonly gateway: pulumi.Output<string | undefined>;
  declare readonly mtu: pulumi.Output<number>;
  declare readonly mac: pulumi.Output<string | undefined>;
  declare readonly up: pulumi.Output<boolean>;
  declare readonly hostIfindex: pulumi.Output<number>;
  declare readonly peerIfindex: pulumi.Output<number>;
  declare readonly hostMac: pulumi.Output<string>;
  declare readonly peerMac: pulumi.Output<string>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("vethPairProvider"),
      name,
      {
        name: args.name ?? name,
        connection: args.connection,
        owner: ownerInput("VethPair", name, opts),
        peerName: args.peerName,
        netns: args.netns,
        peerIfname: args.peerIfname,
        bridge: args.bridge,
        hostAddress: args.hostAddress,
        address: args.address,
        gateway: args.gateway,
        mtu: args.mtu,
        mac: args.mac,
        up: args.up,
        hostIfindex: undefined,
        peerIfindex: undefined,
        hostMac: undefined,
        peerMac: undefined,
      },
      opts,
      "bridgelab",
      "VethPair",
    );
  }
}
