import { ANY_IP } from "../host/portChecks";

/**
 * Static host ports claimed by the PortPublish resources of one plugin process (one
 * `pulumi preview` / `up`), so that two mappings of a program on the same host port fail at
 * check, before anything touches a host; the host-side check in the create script catches
 * the rest (other programs, listening sockets).
 *
 * Every dynamic resource runs in one plugin process, but module state is per distinct
 * `__provider` text (DESIGN.md), so the table lives on globalThis. Keys: the host (its
 * connection identity, without credentials) and the mapping's owner (its URN: two resources
 * may give their rules the same NAME), or its NAME for state of bridgelab 0.1 without one.
 * Check runs again for the same resource on every run, so a mapping never clashes with its
 * own entry: a new check replaces it.
 */
export interface PortClaim {
  protocol: string;
  hostIp: string;
  hostPort: number;
}

/** A claim as recorded: the mapping's NAME, for the message. */
export interface NamedPortClaim extends PortClaim {
  name: string;
}

type Table = Map<string, Map<string, NamedPortClaim>>;

function table(): Table {
  const g = globalThis as { __bridgelabPortClaims?: Table };
  g.__bridgelabPortClaims ??= new Map();
  return g.__bridgelabPortClaims;
}

/** Same protocol and port, and addresses that overlap (0.0.0.0 overlaps every address). */
export function claimsOverlap(a: PortClaim, b: PortClaim): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === ANY_IP || b.hostIp === ANY_IP || a.hostIp === b.hostIp);
}

/**
 * Record the claim of mapping `key` (its owner's URN, or its NAME) on `host` and return
 * another mapping's overlapping claim, if any. A dynamic port (0) claims nothing (and drops
 * an earlier static claim of that key).
 */
export function claimStaticPort(host: string, key: string, claim: NamedPortClaim): NamedPortClaim | undefined {
  const claims = table().get(host) ?? new Map<string, NamedPortClaim>();
  table().set(host, claims);
  if (claim.hostPort === 0) {
    claims.delete(key);
    return undefined;
  }
  claims.set(key, claim);
  for (const [other, c] of claims) {
    if (other !== key && claimsOverlap(c, claim)) return c;
  }
  return undefined;
}

/** Forget every claim on `host` (tests; a host torn down). */
export function forgetPortClaims(host: string): void {
  table().delete(host);
}
