import type * as pulumi from "@pulumi/pulumi";
import { checkConnection, openTransport } from "../transport/connect";
import type { HostConnection } from "../transport/connection";
import { recordHandles, traced } from "../transport/trace";
import type { Transport } from "../transport/types";
import type { Problem } from "../host/validate";
import { Owner, checkOwner, ownerOf } from "../host/owner";

/**
 * Helpers every resource shares: unknowns at preview, check failures, field-wise diff and
 * the host connection. Pure except onHost, which is the only door to a transport.
 */

/** The value the engine sends for "not known until apply" (preview of a dependent input). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(isUnknown);
  if (v && typeof v === "object") return Object.values(v).some(isUnknown);
  return false;
}

/** Collect the problems of known fields into check failures. Unknown values are checked at apply. */
export function failures(checks: Array<[field: string, value: unknown, check: (field: string, v: unknown) => Problem]>): pulumi.dynamic.CheckFailure[] {
  const out: pulumi.dynamic.CheckFailure[] = [];
  for (const [field, value, check] of checks) {
    if (isUnknown(value)) continue;
    const reason = check(field, value);
    if (reason) out.push({ property: field, reason });
  }
  return out;
}

export function connectionFailures(c: unknown): pulumi.dynamic.CheckFailure[] {
  if (isUnknown(c)) return [];
  return checkConnection(c).map((reason) => ({ property: "connection", reason }));
}

/** The `owner` input's check failure, if any (undefined is fine: state of bridgelab 0.1). */
export function ownerFailures(v: unknown): pulumi.dynamic.CheckFailure[] {
  if (isUnknown(v)) return [];
  const reason = checkOwner("owner", v);
  return reason ? [{ property: "owner", reason }] : [];
}

/** The owner of a resource's stored or checked inputs (undefined for state of bridgelab 0.1). */
export function ownerOfProps(props: { owner?: string }): Owner | undefined {
  return ownerOf(props.owner);
}

/**
 * Which host a connection points at, without credentials. A new key for the same host is
 * an in-place update of the stored connection; a different host is a replacement.
 */
export function connectionIdentity(c: HostConnection | undefined): string {
  if (!c) return "";
  switch (c.kind) {
    case "local":
      return "local";
    case "sandbox":
      return `sandbox:${c.name}`;
    case "ssh":
      return `ssh:${c.user ?? "root"}@${c.host}:${c.port ?? 22}`;
    case "ssm":
      // Instance ids are unique across regions: a region or profile change is an update.
      return `ssm:${c.instanceId}`;
    default:
      return JSON.stringify(c);
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Compare declared fields. `replace` fields force a new object; `update` fields change in place.
 * The connection replaces when it points elsewhere and updates when only credentials change.
 *
 * A replacement creates the new object before deleting the old one (Pulumi's default), so a
 * failed create leaves the old one serving, unless `collides` says the two cannot exist at once
 * (the same kernel name on the same host: a veth whose name stays while its namespace changes):
 * then it deletes first. `collides` gets the replaced fields and both sets of inputs; without it
 * every replacement deletes first, and so does every change of connection.
 */
export function diffFields(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  fields: { replace: string[]; update: string[]; collides?: (replaced: string[], olds: Record<string, unknown>, news: Record<string, unknown>) => boolean },
): pulumi.dynamic.DiffResult {
  const replaces = fields.replace.filter((f) => !same(olds[f], news[f]));
  const updates = fields.update.filter((f) => !same(olds[f], news[f]));
  const oldConn = olds.connection as HostConnection | undefined;
  const newConn = news.connection as HostConnection | undefined;
  if (connectionIdentity(oldConn) !== connectionIdentity(newConn) && !isUnknown(newConn)) replaces.push("connection");
  else if (!same(oldConn, newConn)) updates.push("connection");
  // Another connection may still be the same machine (another user, a name instead of an
  // address): the new object could be this very one, adopted, and then deleted with the old. So a
  // change of connection deletes first.
  const collides = replaces.length > 0 && (replaces.includes("connection") || (fields.collides ? fields.collides(replaces, olds, news) : true));
  return {
    changes: replaces.length + updates.length > 0,
    replaces,
    deleteBeforeReplace: collides,
  };
}

/**
 * For resources whose kernel name is one of the replaced fields: a new name does not collide
 * with the old, unless one of `sameFields` stays the same (a bridge renamed but keeping its
 * address: two bridges with one subnet would split the lab's traffic between them).
 */
export const collidesUnlessRenamed =
  (nameFields: string[], sameFields: string[] = []) =>
  (replaced: string[], olds: Record<string, unknown>, news: Record<string, unknown>): boolean =>
    !nameFields.some((f) => replaced.includes(f)) || sameFields.some((f) => news[f] !== undefined && same(olds[f], news[f]));

/** Open the host's transport, run `fn`, release it (pooled SSH connections stay for others). */
export async function onHost<T>(c: HostConnection, fn: (t: Transport) => Promise<T>): Promise<T> {
  const t = traced(openTransport(c));
  try {
    return await fn(t);
  } finally {
    await t.close();
    recordHandles(); // inert unless BRIDGELAB_DEBUG_HANDLES_FILE is set (the soak test)
  }
}
