import { cidrsOverlap } from "../host/subnets";

/**
 * Host-side addresses claimed by the VethPairs checked in this plugin process, so that
 * check (which sees one resource's inputs) can refuse the seed's route clash at preview:
 * two veths on one host whose host ends have addresses in overlapping subnets.
 *
 * Every dynamic resource is served by one plugin process, but module state is per distinct
 * `__provider` text, so the table lives on globalThis. Keyed by host (connectionIdentity)
 * and veth name: check runs again for the same resource on every run and must not find
 * itself. Only claims that passed are recorded, so the first of two clashing veths keeps
 * passing and the second keeps failing.
 */
export interface HostSubnetClaim {
  name: string;
  hostAddress: string;
}

type Claims = Map<string, Map<string, string>>;
const KEY = Symbol.for("bridgelab.vethHostSubnets.v1");

function claims(): Claims {
  const g = globalThis as unknown as Record<symbol, Claims | undefined>;
  return (g[KEY] ??= new Map());
}

/**
 * Record that veth `name` on `host` has `hostAddress` (or none: forget it), unless another
 * veth on that host already claims an overlapping subnet; that claim is returned instead.
 */
export function claimHostSubnet(host: string, name: string, hostAddress: string | undefined): HostSubnetClaim | undefined {
  let onHost = claims().get(host);
  if (!hostAddress) {
    onHost?.delete(name);
    return undefined;
  }
  for (const [other, addr] of onHost ?? []) {
    if (other !== name && cidrsOverlap(addr, hostAddress)) {
      onHost!.delete(name);
      return { name: other, hostAddress: addr };
    }
  }
  if (!onHost) claims().set(host, (onHost = new Map()));
  onHost.set(name, hostAddress);
  return undefined;
}

/** Forget veth `name` on `host` (it was deleted). */
export function releaseHostSubnet(host: string, name: string): void {
  claims().get(host)?.delete(name);
}
