import { createHash } from "node:crypto";
import { shQuote } from "./quote";
import { sectionMarker as mark } from "./sections";
import { TAG_PREFIX, TAG_PREFIX_V2 } from "./tags";

/**
 * Who owns an object bridgelab made on a host: the Pulumi resource that made it, named by its
 * URN (project, stack, parents' types, type and name). Two stacks of one program (dev and
 * test), or two people's stacks on one lab host, declare the same resource names; a tag that
 * only said "bridgelab made this" let the second stack adopt, and then delete, the first one's
 * objects. So every tag carries the owner's id, as containerlab's owner altname
 * (`clab-o-<sha1(lab)[:8]>`) does:
 *
 *   ip link set dev br0 alias bridgelab:v2:bridge:1a2b3c4d
 *   -m comment --comment "bridgelab:v2:publish:web:1a2b3c4d"
 *
 * The id is the first 8 hex digits of SHA-256(URN); the URN itself is kept on the host in
 * /run/bridgelab/owners/ID (one line), so a refusal can name the owner: its stack, project and
 * resource. /run is emptied by a reboot together with every object it describes.
 *
 * Objects made by bridgelab 0.1 carry `bridgelab:v1:KIND` tags without an owner; the stacks that
 * made them have state without one, and only they may read, update and delete them (an update
 * re-tags them with their owner: the migration).
 */
export interface Owner {
  /** urn:pulumi:STACK::PROJECT::TYPE::NAME */
  urn: string;
  /** 8 hex digits of SHA-256(urn). */
  id: string;
}

export const OWNERS_DIR = "/run/bridgelab/owners";
const URN = /^urn:pulumi:[^\n\r\0]{1,1000}$/;

/** The owner of a resource from its `owner` input (its URN); undefined for state of bridgelab 0.1. */
export function ownerOf(urn: string | undefined): Owner | undefined {
  if (urn === undefined || urn === "") return undefined;
  if (!URN.test(urn)) throw new Error(`owner ${JSON.stringify(urn)} is not a Pulumi URN`);
  return { urn, id: createHash("sha256").update(urn).digest("hex").slice(0, 8) };
}

/** A check for the `owner` input: a URN, or nothing (state of bridgelab 0.1). */
export function checkOwner(field: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string" || !URN.test(v)) return `${field} ${JSON.stringify(v)} must be a Pulumi URN (bridgelab sets it; do not pass it)`;
  return undefined;
}

/** The tag of an object of KIND: `bridgelab:v2:KIND:ID`, or 0.1's `bridgelab:v1:KIND` without an owner. */
export function ownerTag(kind: string, owner: Owner | undefined): string {
  return owner ? `${TAG_PREFIX_V2}${kind}:${owner.id}` : `${TAG_PREFIX}${kind}`;
}

/** A parsed tag: 0.1's (no owner) or 0.2's with the owner's id. */
export type ParsedTag = { version: 1; kind: string; name?: string } | { version: 2; kind: string; id: string; name?: string };

/**
 * Reads a link alias (`bridgelab:v2:bridge:1a2b3c4d`) or a rule comment
 * (`bridgelab:v2:publish:web:1a2b3c4d`, `bridgelab:v1:publish:web`); undefined when it is not ours.
 */
export function parseTag(tag: string | undefined, withName = false): ParsedTag | undefined {
  if (!tag) return undefined;
  if (tag.startsWith(TAG_PREFIX_V2)) {
    const parts = tag.slice(TAG_PREFIX_V2.length).split(":");
    const id = parts.pop() ?? "";
    const kind = parts.shift() ?? "";
    if (!/^[0-9a-f]{8}$/.test(id) || !/^[a-z]+$/.test(kind)) return undefined;
    if (withName !== parts.length > 0) return undefined;
    return { version: 2, kind, id, ...(withName ? { name: parts.join(":") } : {}) };
  }
  if (tag.startsWith(TAG_PREFIX)) {
    const [kind, ...rest] = tag.slice(TAG_PREFIX.length).split(":");
    if (!/^[a-z]+$/.test(kind)) return undefined;
    if (withName !== rest.length > 0) return undefined;
    return { version: 1, kind, ...(withName ? { name: rest.join(":") } : {}) };
  }
  return undefined;
}

/** Whether TAG (an alias or comment) is this owner's; for 0.1 state (no owner) only a v1 tag is. */
export function isOwnTag(tag: string | undefined, kind: string, owner: Owner | undefined): boolean {
  return tag === ownerTag(kind, owner);
}

/**
 * Shell lines that record the owner on the host (atomically: a temp file renamed), before the
 * first object of a create:
 *
 *   mkdir -p /run/bridgelab/owners && printf '%s\n' 'urn:pulumi:dev::lab::…::br0' >/run/bridgelab/owners/1a2b3c4d.tmp.$$ && mv … /run/bridgelab/owners/1a2b3c4d
 */
export function recordOwnerLines(owner: Owner | undefined): string[] {
  if (!owner) return [];
  const file = `${OWNERS_DIR}/${owner.id}`;
  return [`mkdir -p ${OWNERS_DIR} && printf '%s\\n' ${shQuote(owner.urn)} >${file}.tmp.$$ && mv -f ${file}.tmp.$$ ${file}`];
}

/** `urn:pulumi:STACK::PROJECT::`: what every URN of the owner's stack starts with. */
export function stackOf(owner: Owner): string {
  const m = /^urn:pulumi:[^:]*::[^:]*::/.exec(owner.urn);
  return m ? m[0] : owner.urn;
}

/**
 * Shell lines printing, one per line, `PORT URN` for each port of bridge NAME whose owner (from
 * its alias and the owner's record) belongs to a stack other than `owner`'s. Read from sysfs, no
 * text parsing:
 *
 *   for p in $(ls /sys/class/net/br0/brif); do cat /sys/class/net/$p/ifalias; done
 */
export function foreignPortLines(bridge: string, owner: Owner): string[] {
  return [
    `for p in $(ls /sys/class/net/${bridge}/brif 2>/dev/null); do a=$(cat /sys/class/net/$p/ifalias 2>/dev/null || true); case "$a" in ${TAG_PREFIX_V2}*) r=$(cat ${OWNERS_DIR}/"\${a##*:}" 2>/dev/null) || continue; case "$r" in ${shQuote(stackOf(owner))}*) ;; *) printf '%s %s\\n' "$p" "$r" ;; esac ;; esac; done`,
  ];
}

/** Shell line that forgets the owner record after a delete removed the last object it owned. */
export function forgetOwnerLines(owner: Owner | undefined): string[] {
  return owner ? [`rm -f ${OWNERS_DIR}/${owner.id}`] : [];
}

/**
 * Shell line printing the owner record of the object whose tag is in shell variable VAR
 * (`bridgelab:v2:KIND:[NAME:]ID`): the URN, or nothing.
 */
export function printOwnerOfTagLine(variable: string): string {
  return `case "$${variable}" in ${TAG_PREFIX_V2}*) cat ${OWNERS_DIR}/"\${${variable}##*:}" 2>/dev/null || true ;; esac`;
}

/**
 * Under section "owner": the owner record of the link LINKCMD shows (`ip -j link show dev br0`,
 * `ip -n netns0 -j link show dev lo`), named by its alias; nothing when it has no bridgelab tag.
 */
export function aliasOwnerLines(linkCmd: string): string[] {
  return [
    `tag=$(${linkCmd} 2>/dev/null | sed -n 's/.*"ifalias":"\\(bridgelab:[^"]*\\)".*/\\1/p')`,
    mark("owner"),
    printOwnerOfTagLine("tag"),
  ];
}

/** "resource br0 (pulumi-nodejs:dynamic/bridgelab:Bridge) of stack dev, project lab", from a URN. */
export function describeOwnerUrn(urn: string): string {
  const m = /^urn:pulumi:([^:]*)::([^:]*)::(.*)::([^:]*)$/.exec(urn.trim());
  if (!m) return urn.trim();
  const type = m[3].split("$").pop()!;
  return `resource "${m[4]}" (${type}) of stack "${m[1]}", project "${m[2]}"`;
}

/**
 * Why an object of another owner cannot be taken, and what to do:
 *   bridge "br0" on sandbox:lab: a bridge of that name already exists and belongs to resource
 *   "br0" (…Bridge) of stack "dev", project "lab" (urn:…); bridgelab never takes another owner's
 *   objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name
 */
export function foreignOwnerMessage(subject: string, tag: string | undefined, record: string | undefined): string {
  return `${subject} ${ownerPhrase(tag, record)}; bridgelab never takes another owner's objects: destroy it from the stack that made it (or by hand if nothing does), or choose another name`;
}

/** Whose an object is, from its tag and its owner's record: "belongs to resource … of stack …". */
export function ownerPhrase(tag: string | undefined, record: string | undefined): string {
  const parsed = parseTag(tag) ?? parseTag(tag, true);
  if (parsed?.version === 2) {
    return record?.trim()
      ? `belongs to ${describeOwnerUrn(record)} (${record.trim()})`
      : `belongs to another bridgelab owner (tag ${tag}; its record ${OWNERS_DIR}/${parsed.id} is gone)`;
  }
  if (parsed?.version === 1) return `was made by bridgelab 0.1 (tag ${tag}), which did not record its owner; only the stack whose state holds it may take it`;
  return `is not managed by bridgelab${tag ? ` (its tag is ${JSON.stringify(tag)})` : " (it has no bridgelab tag)"}`;
}

/**
 * Why an update changed nothing, and the way out, when the object the state names is gone or
 * is not this resource's (`found` holds its tag and its owner's record):
 *   veth "veth0" on lab-1 is not this resource's, so the update leaves it as it is: it belongs
 *   to resource …; refresh the stack (`pulumi refresh`, or `up --refresh`) so that its state
 *   shows what is there
 */
export function notOwnUpdateMessage(subject: string, found: "gone" | { tag: string | undefined; record: string | undefined }): string {
  const advice = "refresh the stack (`pulumi refresh`, or `up --refresh`) so that its state shows what is there";
  if (found === "gone") return `${subject} is gone (deleted by hand, or the host restarted), so it cannot be updated in place; ${advice}, and the next up creates it again`;
  return `${subject} is not this resource's, so the update leaves it as it is: it ${ownerPhrase(found.tag, found.record)}; ${advice}`;
}

/**
 * Why a bridge stays: other stacks' veths are on it ("PORT URN" lines).
 *   bridge "br0" on sandbox:lab still has ports of other stacks: "cv0" of resource "veth0" (…) of
 *   stack "test", project "lab"; destroy those first, then this (as `docker network rm` refuses a
 *   network with active endpoints)
 */
export function busyBridgeMessage(subject: string, lines: string): string {
  const ports = lines
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [port, ...urn] = l.split(" ");
      return `"${port}" of ${describeOwnerUrn(urn.join(" "))}`;
    });
  return `${subject} still has ports of other stacks: ${ports.join("; ")}; destroy those first, then this (as \`docker network rm\` refuses a network with active endpoints), so it is left in place`;
}
