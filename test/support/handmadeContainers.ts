import type { TestHost } from "./hosts";

/**
 * "Containers" built by hand inside a test host, as seed 004 does, for tests of resources
 * that need traffic (Egress, BridgeIsolation) without depending on VethPair:
 *
 *   ip netns add c1
 *   ip link add v-c1 type veth peer name eth0 netns c1
 *   ip link set v-c1 master br0 up
 *   ip -n c1 addr add 172.18.0.10/16 dev eth0; ip -n c1 link set eth0 up; ip -n c1 link set lo up
 *   ip -n c1 route add default via 172.18.0.1
 */
export interface Leg {
  bridge: string;
  /** Address in CIDR form inside the container. */
  cidr: string;
  /** Default route via this gateway (one leg at most). */
  gateway?: string;
}

/** A network namespace with one veth leg per bridge (eth0, eth1, …); host ends are named v-NS-N. */
export async function addContainer(host: TestHost, ns: string, legs: Leg[]): Promise<void> {
  const lines = [`ip netns add ${ns}`, `ip -n ${ns} link set lo up`];
  legs.forEach((l, i) => {
    const hostEnd = `v-${ns}-${i}`;
    lines.push(
      `ip link add ${hostEnd} type veth peer name eth${i} netns ${ns}`,
      `ip link set ${hostEnd} master ${l.bridge} up`,
      `ip -n ${ns} addr add ${l.cidr} dev eth${i}`,
      `ip -n ${ns} link set eth${i} up`,
    );
    if (l.gateway) lines.push(`ip -n ${ns} route add default via ${l.gateway}`);
  });
  await host.sh(["set -e", ...lines].join("\n"));
}

/** Deleting the namespace deletes its veths, and with them the host ends. */
export async function removeContainers(host: TestHost, ...names: string[]): Promise<void> {
  await host.sh(names.map((n) => `ip netns del ${n} 2>/dev/null || true`).join("\n"));
}

/** One ICMP echo with a one-second deadline, from inside the container. */
export async function reaches(host: TestHost, ns: string, address: string): Promise<boolean> {
  return (await host.sh(`ip netns exec ${ns} ping -n -c1 -W1 ${address} >/dev/null 2>&1 && echo yes || echo no`)).trim() === "yes";
}

/** A hand-made bridge with its gateway address, up. */
export async function addBridge(host: TestHost, name: string, gatewayCidr: string): Promise<void> {
  await host.sh(`set -e\nip link add ${name} type bridge\nip addr add ${gatewayCidr} dev ${name}\nip link set ${name} up`);
}

/** `iptables-save` of one table without its comment lines and counters, for exact assertions. */
export async function iptablesSave(host: TestHost, table: "nat" | "filter"): Promise<string[]> {
  return (await host.sh(`iptables-save -t ${table}`))
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, "[-]"));
}
