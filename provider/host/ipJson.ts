/**
 * Parsers of iproute2's JSON output (`ip -j`). Only the fields bridgelab reads are typed;
 * the rest of each object is ignored, so newer iproute2 versions that add fields parse too.
 */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  /** MAC address ("address" in ip -j). */
  address?: string;
  ifalias?: string;
  master?: string;
  /** `link_netnsid` etc. are ignored. info_kind is "bridge", "veth"... from `ip -d`. */
  kind?: string;
  /** Bridge STP state from `ip -d`: 0 off, 1 kernel STP. */
  stpState?: number;
}

export interface IpAddrInfo {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope?: string;
}

export interface IpAddrLink {
  ifname: string;
  addrs: IpAddrInfo[];
}

function parseArray(text: string, what: string): Record<string, unknown>[] {
  const t = text.trim();
  if (t === "") return [];
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new Error(`cannot parse ${what} JSON: ${(e as Error).message}: ${t.slice(0, 200)}`);
  }
  if (!Array.isArray(v)) throw new Error(`${what} JSON is not an array: ${t.slice(0, 200)}`);
  return v as Record<string, unknown>[];
}

/** Parse `ip -j [-d] link show`. */
export function parseIpLinkJson(text: string): IpLink[] {
  return parseArray(text, "ip -j link").map((o) => {
    const info = o.linkinfo as { info_kind?: string; info_data?: Record<string, unknown> } | undefined;
    const link: IpLink = {
      ifindex: Number(o.ifindex),
      ifname: String(o.ifname),
      flags: Array.isArray(o.flags) ? (o.flags as string[]) : [],
      mtu: Number(o.mtu),
      operstate: String(o.operstate ?? "UNKNOWN"),
    };
    if (typeof o.address === "string") link.address = o.address;
    if (typeof o.ifalias === "string") link.ifalias = o.ifalias;
    if (typeof o.master === "string") link.master = o.master;
    if (info?.info_kind) link.kind = info.info_kind;
    if (typeof info?.info_data?.stp_state === "number") link.stpState = info.info_data.stp_state as number;
    return link;
  });
}

/** Parse `ip -j addr show`. Addresses of every family, in kernel order. */
export function parseIpAddrJson(text: string): IpAddrLink[] {
  return parseArray(text, "ip -j addr").map((o) => ({
    ifname: String(o.ifname),
    addrs: ((o.addr_info as Record<string, unknown>[] | undefined) ?? [])
      .filter((a) => a.family === "inet" || a.family === "inet6")
      .map((a) => ({
        family: a.family as "inet" | "inet6",
        local: String(a.local),
        prefixlen: Number(a.prefixlen),
        ...(typeof a.scope === "string" ? { scope: a.scope } : {}),
      })),
  }));
}

/** Whether the link is administratively up (the UP flag, not operstate). */
export function isAdminUp(link: IpLink): boolean {
  return link.flags.includes("UP");
}

/** Global-scope addresses of a link as "addr/prefix" (IPv6 link-local ones are the kernel's own). */
export function globalCidrs(link: IpAddrLink | undefined): string[] {
  return (link?.addrs ?? []).filter((a) => a.scope !== "link" && a.scope !== "host").map((a) => `${a.local}/${a.prefixlen}`);
}
