/**
 * Ownership tags. What bridgelab creates carries one, so read and delete can tell our
 * objects from the host's. A tag format never changes once released: existing labs
 * would become invisible to the version that changed it.
 *
 *   links (bridges, veths):  ip link set br0 alias bridgelab:v1:bridge
 *   network namespaces:      ip -n netns0 link set lo alias bridgelab:v1:netns
 */
export const TAG_PREFIX = "bridgelab:v1:";
/** bridgelab 0.2's tags name their owner: `bridgelab:v2:KIND[:NAME]:OWNERID` (owner.ts). */
export const TAG_PREFIX_V2 = "bridgelab:v2:";
export type TagKind = "bridge" | "netns" | "veth";

export function tagFor(kind: TagKind): string {
  return TAG_PREFIX + kind;
}
