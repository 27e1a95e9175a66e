import { ANY_IP } from "../host/portChecks";

/**
 * Static host ports claimed by the PortPublish resources of one plugin process (one
 * `pulumi preview` / `up`), so that two mappings of a program on the same host port fail at
 * check, before anything touches a host; the host-side check in the create script catches
 * the rest (other programs, listening sockets).
 *
 * Every dynamic resource runs in one plugin process, but module state is per distinct
 * `__provider` text (DESIGN.md), so the table lives on globalThis. Keys: the host (its
 * connection identity, without credentials) and the mapping's name. Check runs again for
 * the same resource on every run, so a mapping never clashes with its own entry: a new
 * check replaces it.
 */
export interface PortClaim {
  protocol: string;
  hostIp: string;
  hostPort: number;
}

type Table = Map<string, Map<string, PortClaim>>;

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
 * Record `name`'s claim on `host` and return another mapping's overlapping claim, if any.
 * A dynamic port (0) claims nothing (and drops an earlier static claim of that name).
 */
export function claimStaticPort(host: string, name: string, claim: PortClaim): (PortClaim & { name: string }) | undefined {
  const claims = table().get(host) ?? new Map<string, PortClaim>();
  table().set(host, claims);
  if (claim.hostPort === 0) {
    claims.delete(name);
    return undefined;
  }
  claims.set(name, claim);
  for (const [other, c] of claims) {
    if (other !== name && claimsOverlap(c, claim)) return { ...c, name: other };
  }
  return undefined;
}

/** Forget every claim on `host` (tests; a host torn down). */
export function forgetPortClaims(host: string): void {
  table().delete(host);
}
