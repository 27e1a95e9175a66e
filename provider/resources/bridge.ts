import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { BridgeSpec, bridgeCreateScript, bridgeDeleteScript, bridgeReadScript, bridgeUpdateScript, linkOwnerScript } from "../host/bridgeScripts";
import { globalCidrs, isAdminUp, parseIpAddrJson, parseIpLinkJson } from "../host/ipJson";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { busyBridgeMessage, foreignOwnerMessage, ownerPhrase, ownerTag } from "../host/owner";
import { checkIfname, checkInterfaceCidr, checkMtu, normalizeCidr, subnetOf } from "../host/validate";
import { checkMac, macFromIPv4, normalizeMac } from "../host/mac";
import { createHash } from "node:crypto";
import type { HostConnection } from "../transport/connection";
import { CommandError, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { collidesUnlessRenamed, connectionFailures, diffFields, failures, isUnknown, onHost, ownerFailures, ownerOfProps } from "./contract";
import { ownerInput } from "./ownerInput";

/**
 * A Linux bridge: the virtual switch containers' veths plug into, and their gateway.
 * Equivalent to:
 *
 *   ip link add name br0 mtu 1500 type bridge stp_state 0
 *   ip addr add 172.18.0.1/16 dev br0
 *   ip link set dev br0 up
 */
export interface BridgeArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** Kernel interface name, 1–15 bytes. @default the resource name */
  name?: pulumi.Input<string>;
  /** The bridge's own address in CIDR form; it is the gateway of the subnet, e.g. "172.18.0.1/16". */
  address?: pulumi.Input<string>;
  /** @default 1500 */
  mtu?: pulumi.Input<number>;
  /** Administratively up. @default true */
  up?: pulumi.Input<boolean>;
  /**
   * The bridge's MAC. Set at create so that it stays put: left to the kernel, a bridge takes
   * the lowest MAC of its ports and changes it as veths come and go.
   * @default derived from the address as for containers (172.18.0.1 → 02:42:ac:12:00:01), else from the name
   */
  mac?: pulumi.Input<string>;
}

export interface BridgeInputs extends Omit<BridgeSpec, "owner"> {
  connection: HostConnection;
  /** The resource's URN (set by the Bridge class): the owner its tag names. Absent in state of bridgelab 0.1. */
  owner?: string;
}

export interface BridgeOutputs extends BridgeInputs {
  ifindex: number;
  /** The bridge's MAC address, as the kernel reports it. */
  mac: string;
  /** The subnet the address sits in, e.g. "172.18.0.0/16"; absent without an address. */
  subnet?: string;
}

const describe = (name: string) => `bridge "${name}"`;

function specOf(i: BridgeInputs | BridgeOutputs): BridgeSpec {
  return { name: i.name, address: i.address, mtu: i.mtu, up: i.up, owner: ownerOfProps(i) };
}

/**
 * The MAC a new bridge gets: the declared one, else one derived as for containers from its
 * address (its gateway: no container has it), else from a hash of its name; 02 = locally
 * administered, unicast.
 */
export function bridgeMac(i: { name: string; address?: string; mac?: string }): string {
  if (i.mac) return i.mac;
  if (i.address && !i.address.includes(":")) return macFromIPv4(i.address);
  const h = createHash("sha256").update(`bridgelab bridge ${i.name}`).digest("hex");
  return `02:42:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}`;
}

/** What the host holds, from the link and addr sections of a script's output. */
function observed(inputs: BridgeInputs, stdout: string): BridgeOutputs {
  const s = splitSections(stdout);
  const link = parseIpLinkJson(s.link ?? "")[0];
  if (!link) throw new Error(`${describe(inputs.name)}: the host printed no link information`);
  const addrs = globalCidrs(parseIpAddrJson(s.addr ?? "")[0]).map(normalizeCidr);
  // The declared address if it is there; otherwise whatever is, so drift shows as a diff.
  const address = inputs.address && addrs.includes(inputs.address) ? inputs.address : addrs[0];
  const outs: BridgeOutputs = {
    connection: inputs.connection,
    ...(inputs.owner ? { owner: inputs.owner } : {}),
    name: link.ifname,
    mtu: link.mtu,
    up: isAdminUp(link),
    ifindex: link.ifindex,
    mac: link.address ?? "",
  };
  if (address) {
    outs.address = address;
    outs.subnet = subnetOf(address);
  }
  return outs;
}

export const bridgeProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs: BridgeInputs = {
      connection: news.connection,
      name: news.name,
      mtu: news.mtu ?? 1500,
      up: news.up ?? true,
    };
    if (news.owner !== undefined) inputs.owner = news.owner;
    if (news.mac !== undefined) inputs.mac = isUnknown(news.mac) || checkMac("mac", news.mac) ? news.mac : normalizeMac(news.mac);
    const problems = [
      ...connectionFailures(inputs.connection),
      ...ownerFailures(news.owner),
      ...failures([
        ["name", inputs.name, checkIfname],
        ["mtu", inputs.mtu, checkMtu],
        ...(news.mac !== undefined ? [["mac", news.mac, checkMac] as [string, unknown, typeof checkMac]] : []),
        ...(news.address !== undefined ? [["address", news.address, checkInterfaceCidr] as [string, unknown, typeof checkInterfaceCidr]] : []),
      ]),
    ];
    if (news.address !== undefined) {
      inputs.address = problems.some((p) => p.property === "address") || isUnknown(news.address) ? news.address : normalizeCidr(news.address);
    }
    if (problems.length === 0) problems.push(...(await renameFailures(_olds as Partial<BridgeInputs>, inputs)));
    return { inputs, failures: problems };
  },

  async diff(_id, olds, news) {
    // The MAC counts only when declared: the recorded one is the kernel's (or the derived default).
    const declared = news.mac === undefined ? { ...news, mac: olds.mac } : news;
    // A renamed bridge with a new address is a new link beside the old one: created first, the
    // old deleted after. Keeping its address, the two would hold one subnet: delete first.
    return diffFields(olds, declared, { replace: ["name"], update: ["address", "mtu", "up", "owner", "mac"], collides: collidesUnlessRenamed(["name"], ["address"]) });
  },

  /**
   * All-or-nothing: the script deletes the bridge if a later step fails. Idempotent: a bridge
   * this same resource made (a create cut short) is adopted and brought to the declared state;
   * one of another owner, of bridgelab 0.1 or of nobody is refused, naming whose it is.
   */
  async create(inputs: BridgeInputs) {
    const what = describe(inputs.name);
    const spec = specOf(inputs);
    return onHost(inputs.connection, async (t) => {
      let r = await t.run(bridgeCreateScript({ ...spec, mac: bridgeMac(inputs) }));
      if (r.code === EXIT_EXISTS) {
        const s = splitSections(r.stdout);
        const link = parseIpLinkJson(s.exists ?? "")[0];
        if (link?.kind !== "bridge") {
          throw new Error(`${what} on ${t.label}: "${inputs.name}" already exists but is not a bridge (it is a ${link?.kind ?? "plain"} link)`);
        }
        if (link.ifalias !== ownerTag("bridge", spec.owner)) {
          const hint = link.ifalias ? "" : ` (delete it with \`ip link del ${inputs.name}\` if nothing uses it)`;
          throw new Error(foreignOwnerMessage(`${what} on ${t.label}: a bridge of that name already exists and`, link.ifalias, s.owner) + hint);
        }
        const current: BridgeSpec = { name: link.ifname, mtu: link.mtu, up: isAdminUp(link), owner: spec.owner, mac: link.address };
        r = await runChecked(t, bridgeUpdateScript(current, { ...spec, mac: bridgeMac(inputs) }), what);
      } else if (r.code !== 0) {
        throw new CommandError(t.label, r, what);
      }
      return { id: inputs.name, outs: observed(inputs, r.stdout) };
    });
  },

  /** Reports what is really there; a bridge deleted by hand (or no longer this owner's) is gone. */
  async read(id, props: BridgeOutputs) {
    return onHost(props.connection, async (t) => {
      const r = await runChecked(t, bridgeReadScript(props.name, ownerOfProps(props)), describe(props.name));
      if ("gone" in splitSections(r.stdout)) return { id: "", props: {} };
      return { id, props: observed(props, r.stdout) };
    });
  },

  /** MTU, address, up/down, a declared MAC and the owner's tag change in place, in one round trip. */
  async update(_id, olds: BridgeOutputs, news: BridgeInputs) {
    const macChanged = news.mac !== undefined && news.mac !== olds.mac;
    const hostChanged = macChanged || (["address", "mtu", "up", "owner"] as const).some((k) => olds[k] !== news[k]);
    if (!hostChanged) return { outs: { ...olds, connection: news.connection, ...(news.mac !== undefined ? { mac: news.mac } : {}) } };
    return onHost(news.connection, async (t) => {
      const r = await runChecked(t, bridgeUpdateScript({ ...specOf(olds), mac: olds.mac }, { ...specOf(news), mac: news.mac }), describe(news.name));
      return { outs: observed(news, r.stdout) };
    });
  },

  /** Idempotent: a missing bridge is success; a link that is not this owner's is left in place. */
  async delete(_id, props: BridgeOutputs) {
    await onHost(props.connection, async (t) => {
      const r = await runChecked(t, bridgeDeleteScript(props.name, ownerOfProps(props)), describe(props.name));
      const s = splitSections(r.stdout);
      if ("busy" in s) throw new Error(busyBridgeMessage(`${describe(props.name)} on ${t.label}`, s.busy ?? ""));
      if ("foreign" in s) {
        const link = parseIpLinkJson(s.foreign ?? "")[0];
        console.error(`${describe(props.name)} on ${t.label} is not this resource's, so it is left in place: it ${ownerPhrase(link?.ifalias, s.owner)}`);
      }
    });
  },
};

/**
 * A bridge renamed but keeping its address is replaced delete-first (diff): if the new name is
 * another owner's link, the create after the delete would fail and leave the lab with no bridge.
 * So Check (which preview runs too) looks at the new name on the host first, and refuses it:
 *
 *   ip -j link show dev br3     # exists, and its alias is not this owner's tag
 *
 * Only on such a rename, and only when the host answers: an unreachable host is the create's to report.
 */
async function renameFailures(olds: Partial<BridgeInputs>, news: BridgeInputs): Promise<pulumi.dynamic.CheckFailure[]> {
  if (!olds?.name || olds.name === news.name || news.address === undefined || olds.address !== news.address) return [];
  if (isUnknown(news.connection) || isUnknown(news.name) || JSON.stringify(olds.connection) !== JSON.stringify(news.connection)) return [];
  let found: { tag?: string; record?: string } | undefined;
  try {
    found = await onHost(news.connection as HostConnection, async (t) => {
      const sec = splitSections((await runChecked(t, linkOwnerScript(news.name), describe(news.name))).stdout);
      const link = parseIpLinkJson(sec.link || "[]")[0];
      if (!link || link.ifalias === ownerTag("bridge", ownerOfProps(news))) return undefined; // free, or ours (a retried replacement)
      return { tag: link.ifalias, record: sec.owner };
    });
  } catch {
    return [];
  }
  if (!found) return [];
  return [
    {
      property: "name",
      reason: `name "${news.name}" is taken on the host: the link of that name ${ownerPhrase(found.tag, found.record)}. The bridge keeps its address, so the old one "${olds.name}" would be deleted before the new one is made, and the lab would be left without a bridge: choose a free name`,
    },
  ];
}

export class Bridge extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string | undefined>;
  declare readonly subnet: pulumi.Output<string | undefined>;
  declare readonly mtu: pulumi.Output<number>;
  declare readonly up: pulumi.Output<boolean>;
  declare readonly ifindex: pulumi.Output<number>;
  declare readonly mac: pulumi.Output<string>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("bridgeProvider"),
      name,
      {
        name: args.name ?? name,
        connection: args.connection,
        owner: ownerInput("Bridge", name, opts),
        address: args.address,
        mtu: args.mtu,
        up: args.up,
        mac: args.mac,
        ifindex: undefined,
        subnet: undefined,
      },
      opts,
      "bridgelab",
      "Bridge",
    );
  }
}
