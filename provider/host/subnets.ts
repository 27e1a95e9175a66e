import * as ipaddr from "ipaddr.js";
import type { Problem } from "./validate";

/**
 * Subnet arithmetic on checked CIDRs and addresses. Pure (ipaddr.js only).
 */

/**
 * Whether two prefixes share any address: one contains the other's network. Different
 * families never overlap.
 *
 *   172.18.0.11/16 and 172.18.0.21/16 → true    (same subnet: the seed's route clash)
 *   172.18.0.1/16  and 172.18.5.1/24  → true    (one inside the other)
 *   172.18.0.1/24  and 172.18.1.1/24  → false
 */
export function cidrsOverlap(a: string, b: string): boolean {
  const [addrA, prefixA] = ipaddr.parseCIDR(a);
  const [addrB, prefixB] = ipaddr.parseCIDR(b);
  if (addrA.kind() !== addrB.kind()) return false;
  // Both networks agree on the bits of the shorter prefix.
  return (addrA as ipaddr.IPv4).match(addrB as ipaddr.IPv4, Math.min(prefixA, prefixB));
}

/** A single address, no prefix: "172.18.0.1" (four decimal parts) or an IPv6 address. */
export function checkIpAddress(field: string, v: unknown): Problem {
  const show = JSON.stringify(v);
  if (typeof v !== "string" || !ipaddr.isValid(v) || v.includes("/")) return `${field} ${show} is not an IP address like "172.18.0.1"`;
  if (ipaddr.parse(v).kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(v)) return `${field} ${show} must write the IPv4 address as four decimal parts`;
  return undefined;
}

/** Canonical text of an address ("FD00::1" → "fd00::1"). */
export function normalizeAddress(v: string): string {
  return ipaddr.parse(v).toString();
}

/**
 * A gateway must be a neighbour: inside the subnet of the interface address (the kernel
 * refuses `ip route add default via GW` otherwise: "Nexthop has invalid gateway"), and
 * not that address itself. Both values must already have passed their own checks.
 */
export function gatewayProblem(gwField: string, gateway: string, addrField: string, cidr: string): Problem {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  const gw = ipaddr.parse(gateway);
  const rule = `a gateway must lie inside the subnet of ${addrField}`;
  if (gw.kind() !== addr.kind()) return `${gwField} ${JSON.stringify(gateway)} is an ${gw.kind()} address but ${addrField} ${JSON.stringify(cidr)} is ${addr.kind()}; ${rule}`;
  if (!(gw as ipaddr.IPv4).match(addr as ipaddr.IPv4, prefix)) {
    return `${gwField} ${JSON.stringify(gateway)} is outside ${addrField} ${JSON.stringify(cidr)}'s subnet; ${rule}`;
  }
  if (gw.toString() === addr.toString()) return `${gwField} ${JSON.stringify(gateway)} is ${addrField}'s own address; the gateway is another host on the subnet (the bridge, e.g.)`;
  if (gw.kind() === "ipv4" && prefix < 31) {
    if (gateway === ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()) return `${gwField} ${JSON.stringify(gateway)} is the network address of ${addrField} ${JSON.stringify(cidr)}`;
    if (gateway === ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()) return `${gwField} ${JSON.stringify(gateway)} is the broadcast address of ${addrField} ${JSON.stringify(cidr)}`;
  }
  return undefined;
}
