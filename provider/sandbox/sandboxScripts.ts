import { shQuote as q } from "../host/quote";
import { SandboxPaths, UPLINK } from "./sandboxLayout";

/**
 * Shell scripts that build a sandbox host, as data. Run on the local machine by
 * sandboxHost.ts; nothing here touches the machine's own network namespace: every `ip`
 * runs under nsenter, and the only mounts are below the sandbox root.
 */

/** Make the sandbox root a private bind mount: namespace files can only be bind-mounted there. */
export function ensurePrivateRootScript(root: string): string {
  return [
    `mkdir -p ${q(root)}`,
    // Already a mount point of its own? `mountpoint -q` answers without side effects.
    `mountpoint -q ${q(root)} || mount --bind ${q(root)} ${q(root)}`,
    `mount --make-private ${q(root)}`,
  ].join("\n");
}

/** Create the namespaces and the uplink. Expects the empty directory to exist. */
export function createSandboxScript(name: string, p: SandboxPaths): string {
  const inHost = `nsenter --net=${q(p.net)} --mount=${q(p.mnt)} --uts=${q(p.uts)} --`;
  const inOutside = `nsenter --net=${q(p.outside)} --`;
  // Inside the new mount namespace: a /run of its own (so /run/netns, /run/sshd and the
  // xtables lock are the host's own) and a /sys that shows its own links.
  const prepareMounts = `mount -t tmpfs -o mode=755 bridgelab-run /run && mkdir -p /run/netns /run/sshd && mount -t sysfs sysfs /sys && hostname ${q(name)}`;
  return [
    "set -eu",
    `touch ${q(p.net)} ${q(p.mnt)} ${q(p.uts)} ${q(p.outside)}`,
    `unshare --net=${q(p.net)} --mount=${q(p.mnt)} --uts=${q(p.uts)} --propagation private sh -c ${q(prepareMounts)}`,
    `unshare --net=${q(p.outside)} true`,
    // The peer is created straight into the outside namespace: iproute2 accepts a path for
    // netns. Only the net namespace is entered: the host's own /run hides the sandbox root.
    `nsenter --net=${q(p.net)} -- ip link add ${UPLINK.hostIfname} type veth peer name ${UPLINK.outsideIfname} netns ${q(p.outside)}`,
    `${inHost} ip link set lo up`,
    `${inHost} ip addr add ${UPLINK.hostAddress} dev ${UPLINK.hostIfname}`,
    `${inHost} ip link set ${UPLINK.hostIfname} up`,
    `${inHost} ip route add default via ${UPLINK.gateway}`,
    `${inOutside} ip link set lo up`,
    `${inOutside} ip addr add ${UPLINK.internetAddress}/32 dev lo`,
    `${inOutside} ip addr add ${UPLINK.outsideAddress} dev ${UPLINK.outsideIfname}`,
    `${inOutside} ip link set ${UPLINK.outsideIfname} up`,
  ].join("\n");
}

/** Inode numbers of the network namespaces a sandbox host made with `ip netns add`. */
export function innerNetnsInodesScript(p: SandboxPaths): string {
  return `nsenter --mount=${q(p.mnt)} -- sh -c 'for f in /run/netns/*; do [ -e "$f" ] && stat -L -c %i "$f"; done; true'`;
}
