import * as pulumi from "@pulumi/pulumi";
import { Container, Network } from "../provider";
import type { HostConnectionInput } from "../provider";
import { helloServerCommand } from "../provider/host/helloServer";
import { connectionFromConfig } from "../provider/config/connectionFromConfig";
import { verificationFromConfig } from "./verification";

/**
 * Lab "netns-lab": the end state of seed 004 ("container networking from scratch").
 *
 *   ip link add br0 type bridge; ip addr add 172.18.0.1/16 dev br0; ip link set br0 up
 *   for i in 0 1: ip netns add netns$i; ip link add veth$i type veth peer name ceth$i netns netns$i
 *                 ip link set veth$i master br0 up; ip -n netns$i addr add 172.18.0.${i+1}0/16 dev ceth$i
 *                 ip -n netns$i route add default via 172.18.0.1
 *   echo 1 > /proc/sys/net/ipv4/ip_forward
 *   iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
 *   nsenter --net=/run/netns/netns0 <http server on 172.18.0.10:5000>
 *   iptables -t nat -A PREROUTING/OUTPUT … --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
 *
 * Config (bridgelab:KEY), every value with the seed's default:
 *   bridgeName br0 · subnet 172.18.0.0/16 · gateway (first host) · mtu 1500 · egress true
 *   containers 2 · namePrefix netns · vethPrefix veth · peerPrefix ceth
 *   addressFirst 10 · addressStep 10 (netns0 .10, netns1 .20, netns2 .30 …)
 *   server 0 (which container runs the server; -1 for none) · port 5000 · hostPort 5000
 *   (0: dynamic) · hostIp 0.0.0.0 · body "hello from <name>"
 *   and verification.ts's publicAddress, egressTarget, probeFromOutside, verify.
 *
 * `host` builds it elsewhere than config says (cloud-lab: on the instance it prepared, the
 * published ports probed at the instance's own address).
 */
export interface LabHost {
  connection: pulumi.Input<HostConnectionInput>;
  /** The host's address for the probes of published ports (else bridgelab:publicAddress). */
  publicAddress?: pulumi.Input<string>;
}

export function netnsLab(config: pulumi.Config, host?: LabHost): Record<string, pulumi.Output<unknown>> {
  const connection = host?.connection ?? connectionFromConfig(config);
  const count = config.getNumber("containers") ?? 2;
  if (!Number.isInteger(count) || count < 1) throw new Error(`bridgelab:containers ${count} must be an integer ≥ 1`);
  const namePrefix = config.get("namePrefix") ?? "netns";
  const vethPrefix = config.get("vethPrefix") ?? "veth";
  const peerPrefix = config.get("peerPrefix") ?? "ceth";
  const server = config.getNumber("server") ?? 0;
  const port = config.getNumber("port") ?? 5000;
  const hostPort = config.getNumber("hostPort") ?? 5000;
  const hostIp = config.get("hostIp") ?? "0.0.0.0";

  const bridgeName = config.get("bridgeName") ?? "br0";
  const net = new Network("br0", {
    connection,
    name: bridgeName,
    subnet: config.get("subnet") ?? "172.18.0.0/16",
    gateway: config.get("gateway"),
    mtu: config.getNumber("mtu") ?? 1500,
    egress: config.getBoolean("egress") ?? true,
    allocation: { first: config.getNumber("addressFirst") ?? 10, step: config.getNumber("addressStep") ?? 10 },
  });

  const containers: Container[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${namePrefix}${i}`;
    const serves = i === server;
    const body = config.get("body") ?? `hello from ${name}`;
    containers.push(
      new Container(`netns${i}`, {
        connection,
        name,
        network: { network: net, index: i, hostIfname: `${vethPrefix}${i}`, ifname: `${peerPrefix}${i}` },
        ...(serves
          ? {
              command: (address: pulumi.Output<string>) => address.apply((a) => helloServerCommand(port, body, a)),
              expose: [{ port, bind: "address" as const, probe: "http" as const }],
              ports: [{ port, hostPort, hostIp }],
            }
          : {}),
      }),
    );
  }

  const v = verificationFromConfig(config, connection, [net], containers, host?.publicAddress);
  return {
    containers: pulumi.all(containers.map((c) => c.summary)).apply((s) => Object.fromEntries(s.map((c) => [c.name, c]))),
    networks: net.inspect.apply((i) => ({ [i.Name]: i })),
    topology: v.topology,
    expectedPaths: v.expectedPaths,
    ...(v.verification ? { verification: v.verification, verificationSummary: v.verificationSummary! } : {}),
  };
}
