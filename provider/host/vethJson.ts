import { IpLink, parseIpLinkJson } from "./ipJson";

/**
 * Parsers for what a veth pair's scripts read beyond ipJson.ts: the peer link fields of
 * `ip -j -d link show` and `ip -j route show`. Pure.
 */

/**
 * A link with its veth peer. iproute2 names the peer by `link` when both ends share a
 * namespace, and by `link_index` plus `link_netnsid` when the peer lives in another one.
 */
export interface VethLink extends IpLink {
  /** The peer's name, when it is in the same namespace. */
  link?: string;
  /** The peer's ifindex in its own namespace, when that is another one. */
  linkIndex?: number;
  linkNetnsid?: number;
}

function parseJsonArray(text: string, what: string): Record<string, unknown>[] {
  const t = text.trim();
  if (t === "") return [];
  try {
    const v = JSON.parse(t);
    if (Array.isArray(v)) return v as Record<string, unknown>[];
  } catch {
    // fall through to the message below
  }
  throw new Error(`cannot parse ${what} JSON: ${t.slice(0, 200)}`);
}

/** Parse `ip -j -d link show` keeping the veth peer fields. */
export function parseVethLinkJson(text: string): VethLink[] {
  const raw = parseJsonArray(text, "ip -j link");
  return parseIpLinkJson(text).map((link, i) => {
    const o = raw[i];
    const out: VethLink = { ...link };
    if (typeof o.link === "string") out.link = o.link;
    if (typeof o.link_index === "number") out.linkIndex = o.link_index;
    if (typeof o.link_netnsid === "number") out.linkNetnsid = o.link_netnsid;
    return out;
  });
}

export interface IpRoute {
  /** "default" or a prefix such as "172.18.0.0/16". */
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
}

/** Parse `ip -j route show`. */
export function parseIpRouteJson(text: string): IpRoute[] {
  return parseJsonArray(text, "ip -j route").map((o) => {
    const r: IpRoute = { dst: String(o.dst) };
    for (const k of ["gateway", "dev", "protocol", "scope"] as const) if (typeof o[k] === "string") r[k] = o[k] as string;
    return r;
  });
}
