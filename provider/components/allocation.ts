import * as ipaddr from "ipaddr.js";
import { checkNetworkCidr } from "../host/validateNetfilter";
import { compareNames } from "./topology";

/**
 * Deterministic address allocation for a Network. Pure (ipaddr.js only).
 *
 * THE RULE. A network's host addresses are numbered by their offset from the network
 * address (172.18.0.0/16: offset 1 is 172.18.0.1, offset 256 is 172.18.1.0). The gateway
 * (the bridge's own address) is offset 1 unless given. Member addresses come from *slots*:
 *
 *   slot i  =  offset first + i × step          (Docker-like default first 2, step 1:
 *                                                 .2, .3, .4 …; seed 004: first 10, step 10:
 *                                                 .10, .20, .30 …)
 *
 *   1. A member with an explicit `address` gets it (inside the subnet, not the network,
 *      broadcast or gateway address, not another member's).
 *   2. A member with an explicit `index` gets slot `index`.
 *   3. Every other member, in natural name order (netns2 before netns10), gets the lowest
 *      slot not taken by rules 1–2 nor by the gateway.
 *
 * So the same program always yields the same addresses, whatever order resources are
 * created in; declaration order does not matter either. Adding a member whose name sorts
 * before others shifts those others (rule 3): give `index` to members whose address must
 * never move. Duplicates, addresses outside the subnet and a full subnet are refused
 * before anything is created, naming the field.
 */

export class AllocationError extends Error {
  constructor(
    /** The argument at fault, e.g. `containers.web.index` or `subnet`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "AllocationError";
  }
}

export interface AddressPlan {
  /** "172.18.0.0/16" */
  subnet: string;
  prefixLength: number;
  /** "172.18.0.1" */
  gateway: string;
  /** Host offset of slot 0. */
  first: number;
  /** Offset between consecutive slots. */
  step: number;
}

export interface PlanArgs {
  subnet: string;
  gateway?: string;
  first?: number;
  step?: number;
}

export interface AddressRequest {
  /** The member's name (a container's name); unique on the network. */
  member: string;
  index?: number;
  address?: string;
  /** How errors name the member's arguments, e.g. `container "web"`. @default member "NAME" */
  label?: string;
}

export interface Allocation {
  member: string;
  /** "172.18.0.10" */
  address: string;
  /** "172.18.0.10/16" */
  cidr: string;
  /** The slot it took, when it came from one (rules 2 and 3). */
  slot?: number;
}

const show = (v: unknown) => JSON.stringify(v);

function toInt(ip: string): number {
  return ipaddr.IPv4.parse(ip).octets.reduce((n, o) => n * 256 + o, 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

interface Range {
  network: number;
  /** Number of addresses in the subnet. */
  size: number;
}

function rangeOf(plan: Pick<AddressPlan, "subnet">): Range {
  const [net, prefix] = plan.subnet.split("/");
  return { network: toInt(net), size: 2 ** (32 - Number(prefix)) };
}

/** Offsets 1 … size−2 are hosts (0 is the network, size−1 the broadcast). */
const isHostOffset = (r: Range, off: number) => off >= 1 && off <= r.size - 2;

/** Check a network's addressing and resolve its defaults. Throws AllocationError naming the field. */
export function planAddresses(args: PlanArgs): AddressPlan {
  const p = checkNetworkCidr("subnet", args.subnet);
  if (p) throw new AllocationError("subnet", p);
  const prefixLength = Number(args.subnet.split("/")[1]);
  if (prefixLength > 30) throw new AllocationError("subnet", `subnet ${show(args.subnet)} is a /${prefixLength}; a network needs at least a /30 (a gateway and one container)`);
  const r = rangeOf({ subnet: args.subnet });
  let gateway = toIp(r.network + 1);
  if (args.gateway !== undefined) {
    if (typeof args.gateway !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(args.gateway)) {
      throw new AllocationError("gateway", `gateway ${show(args.gateway)} is not an IPv4 address like "172.18.0.1"`);
    }
    const off = toInt(args.gateway) - r.network;
    if (!isHostOffset(r, off)) {
      throw new AllocationError("gateway", `gateway ${show(args.gateway)} is ${off < 0 || off >= r.size ? "outside" : "the network or broadcast address of"} subnet ${show(args.subnet)}; a gateway must be a host address inside the subnet`);
    }
    gateway = ipaddr.IPv4.parse(args.gateway).toString();
  }
  const first = args.first ?? 2;
  const step = args.step ?? 1;
  if (!Number.isInteger(first) || first < 1) throw new AllocationError("allocation.first", `allocation.first ${show(args.first)} must be an integer ≥ 1 (the host offset of the first container address)`);
  if (!Number.isInteger(step) || step < 1) throw new AllocationError("allocation.step", `allocation.step ${show(args.step)} must be an integer ≥ 1`);
  if (!isHostOffset(r, first)) throw new AllocationError("allocation.first", `allocation.first ${first} is beyond subnet ${show(args.subnet)}, whose host offsets are 1–${r.size - 2}`);
  return { subnet: args.subnet, prefixLength, gateway, first, step };
}

/** Slot i's address, or undefined when it falls outside the subnet's hosts. */
export function slotAddress(plan: AddressPlan, slot: number): string | undefined {
  const r = rangeOf(plan);
  const off = plan.first + slot * plan.step;
  return isHostOffset(r, off) ? toIp(r.network + off) : undefined;
}

/** How many slots the subnet holds. */
export function slotCount(plan: AddressPlan): number {
  const r = rangeOf(plan);
  return Math.floor((r.size - 2 - plan.first) / plan.step) + 1;
}

/**
 * Allocate every member's address by the rule above. Pure; the result is in natural name
 * order and does not depend on the order of `requests`. Throws AllocationError naming the
 * member's field (`index`, `address`) on a duplicate, an address outside the subnet, or a
 * full subnet.
 */
export function allocateAddresses(plan: AddressPlan, requests: AddressRequest[]): Allocation[] {
  const r = rangeOf(plan);
  const gw = toInt(plan.gateway);
  const where = `subnet ${show(plan.subnet)}`;
  const label = (q: AddressRequest) => q.label ?? `member ${show(q.member)}`;
  const sorted = [...requests].sort((a, b) => compareNames(a.member, b.member));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].member === sorted[i - 1].member) throw new AllocationError("name", `${label(sorted[i])} is attached twice; member names on a network must be unique`);
  }

  const taken = new Map<number, string>(); // address → who
  const out = new Map<string, Allocation>();
  const take = (q: AddressRequest, field: string, n: number, slot?: number) => {
    const ip = toIp(n);
    if (n === gw) throw new AllocationError(field, `${label(q)}: ${field} ${show(field === "index" ? q.index : q.address)} gives ${ip}, the gateway of ${where}; choose another`);
    const holder = taken.get(n);
    if (holder !== undefined) throw new AllocationError(field, `${label(q)}: ${field} ${show(field === "index" ? q.index : q.address)} gives ${ip}, which ${holder} already has`);
    taken.set(n, `${label(q)} (by ${field})`);
    out.set(q.member, { member: q.member, address: ip, cidr: `${ip}/${plan.prefixLength}`, ...(slot !== undefined ? { slot } : {}) });
  };

  // Rule 1: explicit addresses.
  for (const q of sorted) {
    if (q.address === undefined) continue;
    if (q.index !== undefined) throw new AllocationError("address", `${label(q)}: give address or index, not both (address ${show(q.address)}, index ${show(q.index)})`);
    const a = q.address.includes("/") ? q.address.split("/")[0] : q.address;
    if (!ipaddr.IPv4.isValidFourPartDecimal(a)) throw new AllocationError("address", `${label(q)}: address ${show(q.address)} is not an IPv4 address like "172.18.0.10"`);
    if (q.address.includes("/") && q.address.split("/")[1] !== String(plan.prefixLength)) {
      throw new AllocationError("address", `${label(q)}: address ${show(q.address)} has another prefix than ${where}; write the address alone`);
    }
    const off = toInt(a) - r.network;
    if (off < 0 || off >= r.size) throw new AllocationError("address", `${label(q)}: address ${show(q.address)} is outside ${where}`);
    if (!isHostOffset(r, off)) throw new AllocationError("address", `${label(q)}: address ${show(q.address)} is the ${off === 0 ? "network" : "broadcast"} address of ${where}`);
    take(q, "address", toInt(a));
  }
  // Rule 2: explicit indexes.
  for (const q of sorted) {
    if (q.index === undefined) continue;
    if (!Number.isInteger(q.index) || q.index < 0) throw new AllocationError("index", `${label(q)}: index ${show(q.index)} must be an integer ≥ 0`);
    const ip = slotAddress(plan, q.index);
    if (ip === undefined) {
      throw new AllocationError("index", `${label(q)}: index ${q.index} is beyond ${where}: with first ${plan.first} and step ${plan.step} it holds slots 0–${slotCount(plan) - 1}`);
    }
    take(q, "index", toInt(ip), q.index);
  }
  // Rule 3: the rest, in name order, into the lowest free slots.
  let slot = 0;
  for (const q of sorted) {
    if (q.address !== undefined || q.index !== undefined) continue;
    for (;;) {
      const ip = slotAddress(plan, slot);
      if (ip === undefined) {
        throw new AllocationError(
          "index",
          `${label(q)}: ${where} is full: its ${slotCount(plan)} slots (first ${plan.first}, step ${plan.step}) are taken; ` +
            `use a larger subnet, a smaller allocation.step, or give this member an address`,
        );
      }
      const n = toInt(ip);
      if (n !== gw && !taken.has(n)) {
        take(q, "index", n, slot);
        slot++;
        break;
      }
      slot++;
    }
  }
  return sorted.map((q) => out.get(q.member)!);
}
