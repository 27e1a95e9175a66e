import { bridgeCreateScript, bridgeDeleteScript, bridgeReadScript, bridgeUpdateScript } from "../../provider/host/bridgeScripts";
import { netnsCreateScript, netnsDeleteScript, netnsReadScript } from "../../provider/host/netnsScripts";

/**
 * Every script the host layer builds, by fixture file name. hostScripts.test.ts compares each
 * with test/fixtures/scripts/NAME; `UPDATE_FIXTURES=1 npx jest hostScripts` rewrites them
 * (read the diff before committing it).
 */
export const scriptCases: Record<string, string> = {
  "bridge-create.sh": bridgeCreateScript({ name: "br0", address: "172.18.0.1/16", mtu: 1500, up: true }),
  "bridge-create-noaddr-down.sh": bridgeCreateScript({ name: "br1", mtu: 9000, up: false }),
  "bridge-update-mtu.sh": bridgeUpdateScript({ name: "br0", address: "172.18.0.1/16", mtu: 1500, up: true }, { name: "br0", address: "172.18.0.1/16", mtu: 1400, up: true }),
  "bridge-update-address.sh": bridgeUpdateScript({ name: "br0", address: "172.18.0.1/16", mtu: 1500, up: true }, { name: "br0", address: "10.10.0.1/24", mtu: 1500, up: false }),
  "bridge-read.sh": bridgeReadScript("br0"),
  "bridge-delete.sh": bridgeDeleteScript("br0"),
  "netns-create.sh": netnsCreateScript("netns0"),
  "netns-read.sh": netnsReadScript("netns0"),
  "netns-delete.sh": netnsDeleteScript("netns0"),
};
