import { helloServerCommand } from "../../provider/host/helloServer";
import { ownerOf } from "../../provider/host/owner";
import { processCreateScript, processDeleteScript, processReadScript, processRetagScript } from "../../provider/host/processScripts";
import { VethSpec, vethCreateScript, vethDeleteScript, vethReadScript, vethUpdateScript } from "../../provider/host/vethScripts";
import { describeScriptFixtures } from "../support/scriptFixtures";

// The owners fixtures name: resources of stack dev of project lab, and a Process moved under a component (alias).
const VETH = ownerOf("urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:VethPair::veth0")!;
const VETH_RENAMED = ownerOf("urn:pulumi:dev::lab::bridgelab:index:Container$pulumi-nodejs:dynamic/bridgelab:VethPair::veth0")!;
const WEB = ownerOf("urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:Process::web")!;
const WEB_RENAMED = ownerOf("urn:pulumi:dev::lab::bridgelab:index:Container$pulumi-nodejs:dynamic/bridgelab:Process::web")!;

// The seed's two variants: veth0 with a host address (no bridge), and veth0 on br0 with a gateway.
const noBridge: VethSpec = { name: "veth0", netns: "netns0", peerIfname: "ceth0", hostAddress: "172.18.0.11/16", address: "172.18.0.10/16", mtu: 1500, mac: "02:42:ac:12:00:0a", up: true, owner: VETH };
const onBridge: VethSpec = { name: "veth0", netns: "netns0", peerIfname: "eth0", bridge: "br0", address: "172.18.0.10/16", gateway: "172.18.0.1", mtu: 1500, mac: "02:42:ac:12:00:0a", up: true, owner: VETH };
// State of bridgelab 0.1: no owner, its v1 tag.
const hostOnlyV1: VethSpec = { name: "veth9", peerIfname: "ceth9", mtu: 9000, up: false };

describeScriptFixtures("veth and process scripts match their fixtures", {
  "veth-create-hostaddr.sh": vethCreateScript(noBridge),
  "veth-create-bridge-gateway.sh": vethCreateScript(onBridge),
  "veth-create-host-only-down-v1.sh": vethCreateScript(hostOnlyV1),
  "veth-update-mtu-mac-address.sh": vethUpdateScript(onBridge, { ...onBridge, mtu: 1400, mac: "02:42:0a:0a:00:0a", address: "10.10.0.10/24", gateway: "10.10.0.1" }),
  "veth-update-detach-hostaddr.sh": vethUpdateScript(onBridge, { ...onBridge, bridge: undefined, gateway: undefined, hostAddress: "172.19.0.1/16" }),
  // 0.1's pair taken over by its stack under 0.2, and a resource moved under a component (alias): re-tagged.
  "veth-update-retag-v1.sh": vethUpdateScript({ ...onBridge, owner: undefined }, onBridge),
  "veth-update-retag-renamed.sh": vethUpdateScript(onBridge, { ...onBridge, owner: VETH_RENAMED }),
  "veth-read.sh": vethReadScript(onBridge),
  "veth-delete.sh": vethDeleteScript("veth0", VETH),
  "veth-delete-v1.sh": vethDeleteScript("veth0", undefined),
  "process-create.sh": processCreateScript({ name: "web", netns: "netns0", command: helloServerCommand(5000, "hello from netns0"), env: { LANG: "C.UTF-8", GREETING: "it's \"quoted\" $HOME" }, workdir: "/srv/my www", owner: WEB }),
  "process-create-host-v1.sh": processCreateScript({ name: "sleeper", command: ["sleep", "600"] }),
  "process-read.sh": processReadScript({ name: "web", netns: "netns0", owner: WEB }),
  "process-read-host-v1.sh": processReadScript({ name: "sleeper" }),
  "process-retag-v1.sh": processRetagScript("web", undefined, WEB),
  "process-retag-renamed.sh": processRetagScript("web", WEB, WEB_RENAMED),
  "process-delete.sh": processDeleteScript("web", WEB),
  "process-delete-v1.sh": processDeleteScript("web", undefined),
});

describe("helloServerCommand", () => {
  it("builds a socat server that reads the request before answering", () => {
    expect(helloServerCommand(5000, "hello from netns0")).toEqual([
      "socat",
      "TCP-LISTEN:5000,fork,reuseaddr",
      "SYSTEM:sed -n '/^\\r*$/q'; echo HTTP/1.0 200 OK; echo; echo hello from netns0",
    ]);
    expect(helloServerCommand(80, "x", "172.18.0.10")[1]).toBe("TCP-LISTEN:80,fork,reuseaddr,bind=172.18.0.10");
  });
  it.each([
    [0, "x", undefined, /port 0 must be an integer from 1 to 65535/],
    [80, "a;reboot", undefined, /body "a;reboot" may hold only/],
    [80, "x", "fd00::1", /bind "fd00::1" must be an IPv4 address/],
  ])("refuses %j %j %j", (port, body, bind, msg) => expect(() => helloServerCommand(port as number, body as string, bind as string | undefined)).toThrow(msg as RegExp));
});
