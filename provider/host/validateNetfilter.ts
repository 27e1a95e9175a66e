import * as ipaddr from "ipaddr.js";
import { Problem, checkIfname } from "./validate";

/**
 * Validation rules for the values firewall resources (Egress, BridgeIsolation) put into
 * iptables rules and their tags. Same contract as validate.ts: a message naming the field,
 * the value and the rule, or undefined; a value that passes never needs shell quoting.
 */
const show = (v: unknown) => JSON.stringify(v);

/**
 * An IPv4 network in CIDR form whose host bits are zero, such as "172.18.0.0/16", as
 * `iptables -s` matches it. "172.18.0.1/16" is refused with the network it probably meant.
 * IPv4 only: the rules are written with iptables, not ip6tables.
 */
export function checkNetworkCidr(field: string, v: unknown): Problem {
  const example = `"172.18.0.0/16"`;
  if (typeof v !== "string") return `${field} must be a string in CIDR form like ${example}, got ${show(v)}`;
  if (!/^[0-9.]+\/[0-9]+$/.test(v)) {
    return ipaddr.isValidCIDR(v) && v.includes(":")
      ? `${field} ${show(v)} is an IPv6 network; only IPv4 networks are supported (the rules are written with iptables)`
      : `${field} ${show(v)} is not an IPv4 network in CIDR form like ${example}`;
  }
  const [addr, prefixText] = v.split("/");
  if (!ipaddr.IPv4.isValidFourPartDecimal(addr)) return `${field} ${show(v)} must write the IPv4 address as four decimal parts, like ${example}`;
  const prefix = Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > 32 || String(prefix) !== prefixText) return `${field} ${show(v)} has prefix /${prefixText}; it must be 1–32`;
  const network = ipaddr.IPv4.networkAddressFromCIDR(v).toString();
  if (network !== ipaddr.IPv4.parse(addr).toString()) {
    return `${field} ${show(v)} is not a network address: the host bits after /${prefix} must be zero; did you mean "${network}/${prefix}"?`;
  }
  return undefined;
}

/** The NAME in a rule tag `bridgelab:v2:KIND:NAME:OWNERID`: 1–64 of [A-Za-z0-9_.-], not starting with '-' or '.'. */
export function checkRuleName(field: string, v: unknown): Problem {
  if (typeof v !== "string") return `${field} must be a string, got ${show(v)}`;
  if (v.length === 0 || v.length > 64) return `${field} ${show(v)} must be 1–64 characters long (it names the resource's iptables rules)`;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v)) {
    return `${field} ${show(v)} may hold only letters, digits, '_', '.' and '-', and must not start with '-' or '.' (it becomes part of the iptables comment bridgelab:v2:KIND:NAME:OWNERID)`;
  }
  return undefined;
}

export function checkBoolean(field: string, v: unknown): Problem {
  return typeof v === "boolean" ? undefined : `${field} must be true or false, got ${show(v)}`;
}

/** A list of distinct interface names, each checked like checkIfname (`allowFrom[1] "br 0" may hold only…`). */
export function checkIfnameList(field: string, v: unknown): Problem {
  if (!Array.isArray(v)) return `${field} must be a list of interface names, got ${show(v)}`;
  for (let i = 0; i < v.length; i++) {
    const p = checkIfname(`${field}[${i}]`, v[i]);
    if (p) return p;
    if (v.indexOf(v[i]) !== i) return `${field}[${i}] ${show(v[i])} is listed twice`;
  }
  return undefined;
}
