import * as pulumi from "@pulumi/pulumi";
import { Bridge, NetNamespace } from "../provider";
import { connectionFromConfig } from "../provider/config/connectionFromConfig";

/**
 * Lab "basic": one network namespace and one bridge, the first two steps of seed 004.
 *
 *   ip netns add netns0 && ip -n netns0 link set lo up
 *   ip link add br0 type bridge && ip addr add 172.18.0.1/16 dev br0 && ip link set br0 up
 */
export function basicLab(config: pulumi.Config): Record<string, pulumi.Output<unknown>> {
  const connection = connectionFromConfig(config);
  const netns = new NetNamespace("netns", { connection, name: config.get("netnsName") ?? "netns0" });
  const bridge = new Bridge("bridge", {
    connection,
    name: config.get("bridgeName") ?? "br0",
    address: config.get("bridgeAddress") ?? "172.18.0.1/16",
    mtu: config.getNumber("mtu") ?? 1500,
  });
  return {
    netns: pulumi.output({ name: netns.name, path: netns.path, inode: netns.inode }),
    bridge: pulumi.output({ name: bridge.name, ifindex: bridge.ifindex, mac: bridge.mac, address: bridge.address, subnet: bridge.subnet, mtu: bridge.mtu }),
  };
}
