import * as ipaddr from "ipaddr.js";
import type { Problem } from "./validate";

/**
 * MAC addresses of container interfaces. Pure.
 *
 * Docker (before 25.0) gave every container on a bridge network a MAC address made from its
 * IPv4 address, so the pair is predictable from the address alone:
 *
 *   172.17.0.2  →  02:42:ac:11:00:02      (02:42, then the four address bytes)
 *
 * 02 in the first byte is a locally administered, unicast address.
 */

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** 02:42 followed by the four bytes of an IPv4 address ("172.17.0.2" or "172.17.0.2/16"). */
export function macFromIPv4(address: string): string {
  const ip = ipaddr.IPv4.parse(address.split("/")[0]);
  return ["02", "42", ...ip.octets.map((o) => o.toString(16).padStart(2, "0"))].join(":");
}

/** Lower-case, as the kernel prints it (`ip -j link` "address"). */
export function normalizeMac(v: string): string {
  return v.toLowerCase();
}

/**
 * A MAC address an interface can own: six colon-separated hex bytes, unicast (the lowest bit
 * of the first byte is clear: a multicast source address is refused by the kernel's peers),
 * and not all zeros.
 */
export function checkMac(field: string, v: unknown): Problem {
  const show = JSON.stringify(v);
  if (typeof v !== "string" || !MAC.test(v.toLowerCase())) {
    return `${field} ${show} is not a MAC address; write six hex bytes separated by ':', like "02:42:ac:11:00:02"`;
  }
  const first = parseInt(v.slice(0, 2), 16);
  if (first & 1) return `${field} ${show} is a multicast address (the lowest bit of its first byte is set); an interface needs a unicast MAC such as "02:42:ac:11:00:02"`;
  if (/^(00:){5}00$/.test(v)) return `${field} ${show} is all zeros; an interface needs a real unicast MAC`;
  return undefined;
}
