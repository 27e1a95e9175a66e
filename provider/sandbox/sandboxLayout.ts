import * as path from "node:path";

/**
 * Where sandbox hosts live and how they are wired. Pure: no I/O.
 *
 * A sandbox host NAME is a directory holding four namespace files kept alive by bind mounts:
 *
 *   $ROOT/NAME/net      the host's network namespace      (unshare --net=$ROOT/NAME/net)
 *   $ROOT/NAME/mnt      its mount namespace: own /run, /run/netns, /sys
 *   $ROOT/NAME/uts      its hostname (NAME)
 *   $ROOT/NAME/outside  the "internet": a network namespace joined to the host by a veth
 *   $ROOT/NAME/meta.json
 *
 *        outside (198.51.100.1/24 on eth0, 203.0.113.1/32 on lo)
 *           │ veth
 *        host    (198.51.100.2/24 on eth0, default via 198.51.100.1)
 *
 * Only documentation ranges (RFC 5737) are used, and never 192.0.2.0/24: CI machines
 * may hold that one on their own interface. The outside has no route back to lab subnets,
 * so a container reaches it only through the host's MASQUERADE, as on a real cloud host.
 */
/** Where sandbox hosts live: $BRIDGELAB_SANDBOX_ROOT, read at each call (tests give every run its own). */
export function sandboxRoot(): string {
  return process.env.BRIDGELAB_SANDBOX_ROOT || "/run/bridgelab/sandboxes";
}

export const SANDBOX_NAME_RULE = "1–32 characters: lowercase letters, digits and '-', starting with a letter";
const SANDBOX_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export function isSandboxName(name: string): boolean {
  return SANDBOX_NAME.test(name);
}

export function assertSandboxName(name: string): void {
  if (!isSandboxName(name)) {
    throw new Error(`sandbox name ${JSON.stringify(name)} is invalid: ${SANDBOX_NAME_RULE}`);
  }
}

export interface SandboxPaths {
  dir: string;
  net: string;
  mnt: string;
  uts: string;
  outside: string;
  meta: string;
}

export function sandboxPaths(name: string, root = sandboxRoot()): SandboxPaths {
  assertSandboxName(name);
  const dir = path.join(root, name);
  return {
    dir,
    net: path.join(dir, "net"),
    mnt: path.join(dir, "mnt"),
    uts: path.join(dir, "uts"),
    outside: path.join(dir, "outside"),
    meta: path.join(dir, "meta.json"),
  };
}

/** Addresses of the uplink between a sandbox host and its outside. */
export const UPLINK = {
  hostIfname: "eth0",
  hostAddress: "198.51.100.2/24",
  gateway: "198.51.100.1",
  outsideIfname: "eth0",
  outsideAddress: "198.51.100.1/24",
  /** A stand-in for a public server: reachable from the host, replies only to the uplink subnet. */
  internetAddress: "203.0.113.1",
} as const;

/** argv prefix that runs a command inside the sandbox host. */
export function enterHostArgv(p: SandboxPaths): string[] {
  return ["nsenter", `--net=${p.net}`, `--mount=${p.mnt}`, `--uts=${p.uts}`, "--"];
}

/** argv prefix that runs a command in the sandbox's outside (the stand-in internet). */
export function enterOutsideArgv(p: SandboxPaths): string[] {
  return ["nsenter", `--net=${p.outside}`, "--"];
}
