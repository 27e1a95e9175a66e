import * as ipaddr from "ipaddr.js";
import type { Problem } from "./validate";

/**
 * Validation rules for port publishing (PortPublish). Like validate.ts: each check returns a
 * problem naming the field, the value and the rule, or undefined. Values that pass are safe
 * in a shell word unquoted. Names and subnets use validateNetfilter.ts (checkRuleName,
 * checkNetworkCidr), as Egress does.
 */
const show = (v: unknown) => JSON.stringify(v);

export type Protocol = "tcp" | "udp";
export const PROTOCOLS: readonly Protocol[] = ["tcp", "udp"];

/** "0.0.0.0": every local address of the host, as in `docker run -p 8080:80`. */
export const ANY_IP = "0.0.0.0";

export function checkProtocol(field: string, v: unknown): Problem {
  if (typeof v !== "string" || !(PROTOCOLS as readonly string[]).includes(v)) {
    return `${field} ${show(v)} must be "tcp" or "udp" (the protocols Docker and ECS publish)`;
  }
  return undefined;
}

/** A container port: 1–65535. */
export function checkPort(field: string, v: unknown): Problem {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
    return `${field} ${show(v)} must be an integer from 1 to 65535 (only hostPort may be 0, for a dynamic port)`;
  }
  return undefined;
}

/** A host port: 1–65535, or 0 for one allocated from the host's ip_local_port_range. */
export function checkHostPort(field: string, v: unknown): Problem {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    return `${field} ${show(v)} must be an integer from 1 to 65535, or 0 for a dynamic port from the host's ip_local_port_range`;
  }
  return undefined;
}

function ipv4(field: string, v: unknown, example: string): { addr?: ipaddr.IPv4; problem?: string } {
  if (typeof v !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(v)) {
    return { problem: `${field} ${show(v)} is not an IPv4 address in four decimal parts like ${show(example)}` };
  }
  return { addr: ipaddr.IPv4.parse(v) };
}

/**
 * The host address a port is published on: "0.0.0.0" (every local address) or one unicast
 * IPv4 address. Loopback is refused: the kernel does not DNAT 127.0.0.0/8 (the OUTPUT jump
 * skips it, as Docker's does) without route_localnet, so such a mapping would never match.
 */
export function checkHostIp(field: string, v: unknown): Problem {
  const { addr, problem } = ipv4(field, v, "198.51.100.2");
  if (problem) return `${problem} (or "0.0.0.0" for every address of the host)`;
  const range = addr!.range();
  if (range === "unspecified") return undefined;
  if (range === "loopback") return `${field} ${show(v)} is a loopback address; DNAT does not apply to 127.0.0.0/8, publish on "0.0.0.0" or on the host's own address`;
  if (range === "multicast" || range === "broadcast") return `${field} ${show(v)} is a ${range} address; give one of the host's unicast addresses or "0.0.0.0"`;
  return undefined;
}

/** The container's address: one unicast IPv4 address. */
export function checkContainerIp(field: string, v: unknown): Problem {
  const { addr, problem } = ipv4(field, v, "172.18.0.10");
  if (problem) return problem;
  const range = addr!.range();
  if (range === "unspecified" || range === "loopback" || range === "multicast" || range === "broadcast") {
    return `${field} ${show(v)} is a${range === "unspecified" ? "n" : ""} ${range} address; give the container's own IPv4 address, e.g. "172.18.0.10"`;
  }
  return undefined;
}

/** True when `address` lies inside `cidr`. */
export function insideSubnet(address: string, cidr: string): boolean {
  return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr));
}
