import * as pulumi from "@pulumi/pulumi";
import * as bl from "bridgelab";

// Seed 004, "container networking from scratch", as a Pulumi program: a bridge br0 with egress
// NAT, two network namespaces plugged into it with veth pairs, and a web server in netns0
// published on the host's port 5000.
const config = new pulumi.Config("bridgelab");
// The host: config bridgelab:connection if set, else the sandbox host bridgelab:sandbox (default "bridgelab").
const connection = bl.connectionFromConfig(config);

// ip link add br0 type bridge; ip addr add 172.18.0.1/16 dev br0; ip link set br0 up
// sysctl -w net.ipv4.ip_forward=1; iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
const br0 = new bl.Network("br0", { connection, subnet: "172.18.0.0/16" });

// ip netns add netns0; ip link add veth0 type veth peer name ceth0 netns netns0; ip link set veth0 master br0 up
// ip -n netns0 addr add 172.18.0.10/16 dev ceth0; ip -n netns0 route add default via 172.18.0.1
// and a web server in netns0, published as the host's port 5000 (iptables DNAT, as `docker run -p 5000:5000`)
const netns0 = new bl.Container("netns0", {
  connection,
  network: { network: br0, address: "172.18.0.10", hostIfname: "veth0", ifname: "ceth0" },
  command: bl.helloServerCommand(5000, "hello from netns0"),
  expose: [{ port: 5000, probe: "http" }],
  ports: [{ hostPort: 5000, port: 5000 }],
});
const netns1 = new bl.Container("netns1", {
  connection,
  network: { network: br0, address: "172.18.0.20", hostIfname: "veth1", ifname: "ceth1" },
});

// The article's checks, derived from what is declared and run on the host once everything is up
// (netns0 ↔ netns1, host ↔ both, egress, the published port from the host, from netns1 and from
// outside): `up` fails naming any path that does not work.
// On a host other than a sandbox, give bridgelab:egressTarget (an address beyond it) and bridgelab:publicAddress.
const verification = bl.verifyLab("verification", {
  connection,
  networks: [br0],
  containers: [netns0, netns1],
  egressTarget: config.get("egressTarget"),
  publicAddress: config.get("publicAddress"),
});

export const containers = { netns0: netns0.summary, netns1: netns1.summary };
export const network = br0.inspect;
export const verified = verification.summary;
export const matrix = verification.matrix;
