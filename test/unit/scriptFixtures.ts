import { bridgeCreateScript, bridgeDeleteScript, bridgeReadScript, bridgeUpdateScript } from "../../provider/host/bridgeScripts";
import { netnsCreateScript, netnsDeleteScript, netnsReadScript, netnsUpdateScript } from "../../provider/host/netnsScripts";
import { ownerOf } from "../../provider/host/owner";

/** The owner fixtures name: a Bridge of stack dev of project lab. */
export const OWNER = ownerOf("urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:Bridge::br0")!;
const RENAMED = ownerOf("urn:pulumi:dev::lab::bridgelab:index:Network$pulumi-nodejs:dynamic/bridgelab:Bridge::br0")!;
/** A NetNamespace of stack dev of project lab, and the same resource moved under a component (alias). */
const NETNS = ownerOf("urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:NetNamespace::netns0")!;
const NETNS_RENAMED = ownerOf("urn:pulumi:dev::lab::bridgelab:index:Container$pulumi-nodejs:dynamic/bridgelab:NetNamespace::netns0")!;

/**
 * Every script the host layer builds, by fixture file name. hostScripts.test.ts compares each
 * with test/fixtures/scripts/NAME; `UPDATE_FIXTURES=1 npx jest hostScripts` rewrites them
 * (read the diff before committing it).
 */
export const scriptCases: Record<string, string> = {
  "bridge-create.sh": bridgeCreateScript({ name: "br0", address: "172.18.0.1/16", mtu: 1500, up: true, mac: "02:42:ac:12:00:01", owner: OWNER }),
  // State of bridgelab 0.1: no owner, its v1 tag.
  "bridge-create-noaddr-down-v1.sh": bridgeCreateScript({ name: "br1", mtu: 9000, up: false }),
  "bridge-update-mtu.sh": bridgeUpdateScript({ name: "br0", address: "172.18.0.1/16", mtu: 1500, up: true, owner: OWNER }, { name: "br0", address: "172.18.0.1/16", mtu: 1400, up: true, owner: OWNER }),
  "bridge-update-mac.sh": bridgeUpdateScript({ name: "br0", mtu: 1500, up: true, mac: "02:42:ac:12:00:01", owner: OWNER }, { name: "br0", mtu: 1500, up: true, mac: "02:00:00:00:00:0a", owner: OWNER }),
  "bridge-update-address.sh": bridgeUpdateScript({ name: "br0", address: "172.18.0.1/16", mtu: 1500, up: true, owner: OWNER }, { name: "br0", address: "10.10.0.1/24", mtu: 1500, up: false, owner: OWNER }),
  // 0.1's bridge taken over by its stack under 0.2, and a resource moved under a component (alias): re-tagged.
  "bridge-update-retag-v1.sh": bridgeUpdateScript({ name: "br0", mtu: 1500, up: true }, { name: "br0", mtu: 1500, up: true, owner: OWNER }),
  "bridge-update-retag-renamed.sh": bridgeUpdateScript({ name: "br0", mtu: 1500, up: true, owner: OWNER }, { name: "br0", mtu: 1500, up: true, owner: RENAMED }),
  "bridge-read.sh": bridgeReadScript("br0", OWNER),
  "bridge-delete.sh": bridgeDeleteScript("br0", OWNER),
  "bridge-delete-v1.sh": bridgeDeleteScript("br0", undefined),
  "netns-create.sh": netnsCreateScript("netns0", NETNS),
  "netns-create-v1.sh": netnsCreateScript("netns0", undefined),
  // Adopting its own namespace (a create cut short), and the re-tags: 0.1's namespace taken over, a resource moved by an alias.
  "netns-update-adopt.sh": netnsUpdateScript("netns0", NETNS, NETNS),
  "netns-update-retag-v1.sh": netnsUpdateScript("netns0", undefined, NETNS),
  "netns-update-retag-renamed.sh": netnsUpdateScript("netns0", NETNS, NETNS_RENAMED),
  "netns-read.sh": netnsReadScript("netns0", NETNS),
  "netns-delete.sh": netnsDeleteScript("netns0", NETNS),
  "netns-delete-v1.sh": netnsDeleteScript("netns0", undefined),
};
