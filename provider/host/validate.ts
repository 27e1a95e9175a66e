import * as ipaddr from "ipaddr.js";

/**
 * Validation rules for values that reach a host. Each check returns a problem message
 * naming the field, the value and the rule, or undefined when the value is fine. Values
 * that pass are safe to put in a shell word unquoted (but are quoted anyway).
 */
export type Problem = string | undefined;

const show = (v: unknown) => JSON.stringify(v);

/**
 * Interface names: the kernel allows up to IFNAMSIZ-1 = 15 bytes, no '/', ':' or
 * whitespace, not "." or "..". We also refuse a leading '-' (it reads as an option) and
 * anything outside [A-Za-z0-9_.-], so a name never needs quoting.
 */
export function checkIfname(field: string, v: unknown): Problem {
  if (typeof v !== "string") return `${field} must be a string, got ${show(v)}`;
  const bytes = Buffer.byteLength(v);
  if (bytes === 0 || bytes > 15) return `${field} ${show(v)} is ${bytes} bytes long; a Linux interface name is 1–15 bytes (IFNAMSIZ 16 with the NUL)`;
  if (v === "." || v === "..") return `${field} ${show(v)} is not a valid interface name`;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v)) {
    return `${field} ${show(v)} may hold only letters, digits, '_', '.' and '-', and must not start with '-' or '.'`;
  }
  return undefined;
}

/** Network namespace names become files in /run/netns: same safe alphabet, up to 64 bytes. */
export function checkNetnsName(field: string, v: unknown): Problem {
  if (typeof v !== "string") return `${field} must be a string, got ${show(v)}`;
  if (v.length === 0 || v.length > 64) return `${field} ${show(v)} must be 1–64 characters long`;
  if (v === "." || v === ".." || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v)) {
    return `${field} ${show(v)} may hold only letters, digits, '_', '.' and '-', and must not start with '-' or '.'`;
  }
  return undefined;
}

export function checkMtu(field: string, v: unknown): Problem {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 68 || v > 65535) {
    return `${field} ${show(v)} must be an integer from 68 (the IPv4 minimum) to 65535`;
  }
  return undefined;
}

/**
 * An interface address in CIDR form, such as "172.18.0.1/16": a host address with its
 * prefix. Refuses the network and broadcast addresses of prefixes shorter than /31.
 */
export function checkInterfaceCidr(field: string, v: unknown): Problem {
  if (typeof v !== "string") return `${field} must be a string in CIDR form like "172.18.0.1/16", got ${show(v)}`;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let prefix: number;
  try {
    [addr, prefix] = ipaddr.parseCIDR(v);
  } catch {
    return `${field} ${show(v)} is not an address in CIDR form like "172.18.0.1/16"`;
  }
  if (addr.kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(v.split("/")[0])) {
    return `${field} ${show(v)} must write the IPv4 address as four decimal parts`;
  }
  const max = addr.kind() === "ipv4" ? 32 : 128;
  if (addr.kind() === "ipv4" && prefix < 31) {
    const net = ipaddr.IPv4.networkAddressFromCIDR(v).toString();
    const bcast = ipaddr.IPv4.broadcastAddressFromCIDR(v).toString();
    if (addr.toString() === net) return `${field} ${show(v)} is the network address of its subnet; give a host address such as ${hostExample(v)}`;
    if (addr.toString() === bcast) return `${field} ${show(v)} is the broadcast address of its subnet`;
  }
  if (prefix < 1 || prefix > max) return `${field} ${show(v)} has prefix /${prefix}; it must be 1–${max}`;
  return undefined;
}

function hostExample(cidr: string): string {
  const [, prefix] = cidr.split("/");
  const net = ipaddr.IPv4.networkAddressFromCIDR(cidr).toByteArray();
  net[3] += 1;
  return `${net.join(".")}/${prefix}`;
}

/** Normalise a CIDR (lower-case IPv6, canonical form) so diffs compare meaningfully. */
export function normalizeCidr(v: string): string {
  const [addr, prefix] = ipaddr.parseCIDR(v);
  return `${addr.toString()}/${prefix}`;
}

/** "172.18.0.1/16" → "172.18.0.0/16" */
export function subnetOf(cidr: string): string {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  if (addr.kind() === "ipv4") return `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${prefix}`;
  return `${ipaddr.IPv6.networkAddressFromCIDR(cidr).toString()}/${prefix}`;
}
