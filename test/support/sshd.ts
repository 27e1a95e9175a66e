import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sandboxPaths } from "../../provider/sandbox/sandboxLayout";
import type { SshConnection } from "../../provider/transport/connection";
import { cmdline, commOf, nsOf, processes } from "./procTable";

/**
 * Real OpenSSH servers inside sandbox hosts, for tests. Nothing listens on the machine:
 *
 * - `startSshd(sandbox)` prepares an `sshd -i` (inetd mode): the SSH stream runs over the
 *   stdio of the process the client spawns as its proxyCommand,
 *     nsenter --net=… --mount=… --uts=… -- /usr/sbin/sshd -i -f DIR/sshd_config -E DIR/sshd.log
 *   Every connection starts its own sshd; nothing runs until a client connects.
 * - `startListeningSshd(sandbox)` runs `sshd -D` in the sandbox's outside namespace on
 *   198.51.100.1:2222: reachable from the sandbox host (so through a jump host), never from
 *   the machine, whose network namespace has no route to it.
 *
 * Keys are made with ssh-keygen in a temporary directory (visible inside the sandbox: only
 * /run differs). Password authentication needs a known root password: a copy of
 * /etc/shadow with a fresh hash for root is bind-mounted over /etc/shadow inside the
 * sandbox's own mount namespace (private propagation), which the machine never sees; a
 * passwd copy giving root a plain /bin/sh login is mounted the same way.
 */

const SSHD = "/usr/sbin/sshd";

export interface UserKeys {
  /** OpenSSH private key text, no passphrase. */
  privateKey: string;
  /** The same key encrypted with `passphrase`. */
  encryptedKey: string;
  passphrase: string;
  /** A key that is not authorized. */
  strangerKey: string;
  /** The agent-only key (authorized, loaded into an agent by startAgent). */
  agentKeyFile: string;
}

export interface SshdHost {
  sandbox: string;
  dir: string;
  /** `nsenter … -- /usr/sbin/sshd -i -f …`: use as SshConnection.proxyCommand. */
  proxyCommand: string;
  /** The host's public key line (`ssh-ed25519 AAAA…`). */
  hostKey: string;
  /** Its fingerprint as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  keys: UserKeys;
  /** Root's password inside the sandbox (when started with `password: true`). */
  password?: string;
  /** A key-authenticated, pinned connection; `extra` overrides fields. */
  connection(extra?: Partial<SshConnection>): SshConnection;
  /** The sshd log (LogLevel VERBOSE), for debugging a failure. */
  log(): string;
  /** Remove the shadow bind mount and the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Allow password authentication for root (bind-mounts a shadow file in the sandbox). */
  password?: boolean;
  /**
   * Put a stand-in `sudo` first on the session's PATH: it accepts only `-n`, logs its
   * arguments to DIR/sudo.log and runs the command in a session of its own
   * (`setsid -w`), as sudo with use_pty does.
   */
  fakeSudo?: boolean;
  /**
   * Give root a plain login inside the sandbox: home in the temporary directory and
   * /bin/sh as shell (a passwd copy bind-mounted like the shadow), so the machine's own
   * ~/.bashrc does not run (and cost a second) on every command. false keeps the machine's
   * root account as is: a bash login shell that reads ~/.bashrc. @default true
   */
  plainLogin?: boolean;
  /**
   * Directories put first on the session's PATH (after the fake sudo's), e.g. stand-in
   * commands that inject faults (sshFaults.ts).
   */
  pathPrepend?: string[];
  /**
   * The session's PATH after the fake sudo's and `pathPrepend` directories, in place of
   * /usr/sbin:/usr/bin:/sbin:/bin: a host that lacks a tool (toolDir.ts).
   */
  path?: string[];
}

function keygen(file: string, type: "ed25519", passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", path.basename(file), "-f", file], { stdio: "ignore" });
}

/** `SHA256:…` of a public key file, from ssh-keygen itself (the reference the tests compare with). */
export function keygenFingerprint(pubFile: string): string {
  const out = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pubFile], { encoding: "utf8" });
  const m = /\b(SHA256:[A-Za-z0-9+/]{43})\b/.exec(out);
  if (!m) throw new Error(`unexpected ssh-keygen -lf output: ${out}`);
  return m[1];
}

function makeKeys(dir: string): UserKeys {
  const passphrase = "correct horse battery staple";
  keygen(path.join(dir, "user_key"), "ed25519");
  keygen(path.join(dir, "user_key_encrypted"), "ed25519", passphrase);
  keygen(path.join(dir, "stranger_key"), "ed25519");
  keygen(path.join(dir, "agent_key"), "ed25519");
  const authorized = ["user_key", "user_key_encrypted", "agent_key"].map((k) => fs.readFileSync(path.join(dir, `${k}.pub`), "utf8").trim());
  fs.writeFileSync(path.join(dir, "authorized_keys"), authorized.join("\n") + "\n", { mode: 0o600 });
  return {
    privateKey: fs.readFileSync(path.join(dir, "user_key"), "utf8"),
    encryptedKey: fs.readFileSync(path.join(dir, "user_key_encrypted"), "utf8"),
    passphrase,
    strangerKey: fs.readFileSync(path.join(dir, "stranger_key"), "utf8"),
    agentKeyFile: path.join(dir, "agent_key"),
  };
}

function sshdConfig(dir: string, hostKeyFile: string, o: SshdOptions & { listen?: string }): string {
  return [
    `HostKey ${hostKeyFile}`,
    `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
    "StrictModes no",
    `PermitRootLogin ${o.password ? "yes" : "prohibit-password"}`,
    `PasswordAuthentication ${o.password ? "yes" : "no"}`,
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "PidFile none",
    "LogLevel VERBOSE",
    "AllowTcpForwarding yes",
    "PrintMotd no",
    "UseDNS no",
    ...(o.listen ? [`ListenAddress ${o.listen}`] : []),
    ...(o.fakeSudo || o.pathPrepend?.length || o.path
      ? [`SetEnv PATH=${[...(o.fakeSudo ? [path.join(dir, "bin")] : []), ...(o.pathPrepend ?? []), ...(o.path ?? ["/usr/sbin:/usr/bin:/sbin:/bin"])].join(":")}`]
      : []),
  ].join("\n") + "\n";
}

/** /etc/passwd with root's home and login shell replaced. */
function rootPasswdWith(home: string, shell: string): string {
  return fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((l) => {
      if (!l.startsWith("root:")) return l;
      const f = l.split(":");
      f[5] = home;
      f[6] = shell;
      return f.join(":");
    })
    .join("\n");
}

function rootShadowWithPassword(password: string): string {
  const hash = execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: password + "\n", encoding: "utf8" }).trim();
  const lines = fs.readFileSync("/etc/shadow", "utf8").split("\n");
  const i = lines.findIndex((l) => l.startsWith("root:"));
  const fields = lines[i].split(":");
  fields[1] = hash;
  lines[i] = fields.join(":");
  return lines.join("\n");
}

/** True when a mount is on `target` in the mount namespace of `mntFile` (or of this process). */
export function isMountedIn(target: string, mntFile?: string): boolean {
  const cmd = mntFile ? ["nsenter", `--mount=${mntFile}`, "--", "cat", "/proc/self/mountinfo"] : ["cat", "/proc/self/mountinfo"];
  const info = execFileSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  return info.split("\n").some((l) => l.split(" ")[4] === target);
}

/** Prepare an inetd-mode sshd for `sandbox` (which must exist). */
export async function startSshd(sandbox: string, o: SshdOptions = {}): Promise<SshdHost> {
  const p = sandboxPaths(sandbox);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bridgelab-sshd-${sandbox}-`));
  try {
    return prepareSshd(sandbox, p, dir, o);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function prepareSshd(sandbox: string, p: ReturnType<typeof sandboxPaths>, dir: string, o: SshdOptions): SshdHost {
  fs.chmodSync(dir, 0o755);
  keygen(path.join(dir, "host_key"), "ed25519");
  const keys = makeKeys(dir);
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(config, sshdConfig(dir, path.join(dir, "host_key"), o));
  // Fail early on a config sshd rejects (inside the sandbox: it has /run/sshd).
  execFileSync("nsenter", [`--mount=${p.mnt}`, "--", SSHD, "-t", "-f", config]);

  if (o.fakeSudo) {
    fs.mkdirSync(path.join(dir, "bin"));
    const log = path.join(dir, "sudo.log");
    fs.writeFileSync(
      path.join(dir, "bin", "sudo"),
      `#!/bin/sh\n# stand-in for sudo (tests): -n only, logs, runs the command in a new session like use_pty\n[ "$1" = -n ] || { echo "fake sudo: expected -n" >&2; exit 1; }\nshift\necho "$*" >> ${log}\nexec setsid -w "$@"\n`,
      { mode: 0o755 },
    );
  }

  // Account files replaced inside the sandbox's mount namespace only (private propagation).
  const mounted: string[] = [];
  const bindOver = (file: string, target: string) => {
    execFileSync("nsenter", [`--mount=${p.mnt}`, "--", "mount", "--bind", file, target]);
    mounted.push(target);
  };
  const unmountAll = () => {
    while (mounted.length) {
      const target = mounted.pop()!;
      try {
        execFileSync("nsenter", [`--mount=${p.mnt}`, "--", "umount", target], { stdio: "ignore" });
      } catch {
        /* the sandbox is already gone, and its mounts with it */
      }
    }
  };
  let password: string | undefined;
  try {
    if (o.plainLogin !== false) {
      const home = path.join(dir, "home");
      fs.mkdirSync(home, { mode: 0o700 });
      fs.writeFileSync(path.join(dir, "passwd"), rootPasswdWith(home, "/bin/sh"));
      bindOver(path.join(dir, "passwd"), "/etc/passwd");
    }
    if (o.password) {
      password = `pw-${Math.random().toString(36).slice(2)}-${process.pid}`;
      fs.writeFileSync(path.join(dir, "shadow"), rootShadowWithPassword(password), { mode: 0o600 });
      bindOver(path.join(dir, "shadow"), "/etc/shadow");
    }
  } catch (e) {
    unmountAll();
    throw e;
  }

  const logFile = path.join(dir, "sshd.log");
  const proxyCommand = `nsenter --net=${p.net} --mount=${p.mnt} --uts=${p.uts} -- ${SSHD} -i -f ${config} -E ${logFile}`;
  const hostKey = fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").trim();
  const host: SshdHost = {
    sandbox,
    dir,
    proxyCommand,
    hostKey,
    hostKeyFingerprint: keygenFingerprint(path.join(dir, "host_key.pub")),
    keys,
    password,
    connection: (extra = {}) => ({
      kind: "ssh",
      host: sandbox,
      user: "root",
      privateKey: keys.privateKey,
      hostKey,
      proxyCommand,
      dialAttempts: 1,
      ...extra,
    }),
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""),
    stop: async () => {
      if (fs.existsSync(p.mnt)) unmountAll();
      mounted.length = 0;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return host;
}

export interface ListeningSshd {
  address: string;
  port: number;
  hostKey: string;
  hostKeyFingerprint: string;
  /** Authorized: the same user key as the sshd it was started beside. */
  privateKey: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * `sshd -D -e -p 2222` on 198.51.100.1 in the sandbox's outside namespace, entered with the
 * sandbox's mount namespace (for its /run/sshd). Resolves once sshd says it listens.
 */
export async function startListeningSshd(sandbox: string, beside: SshdHost, port = 2222): Promise<ListeningSshd> {
  const p = sandboxPaths(sandbox);
  const address = "198.51.100.1";
  const dir = path.join(beside.dir, "outside");
  fs.mkdirSync(dir);
  keygen(path.join(dir, "host_key"), "ed25519");
  fs.copyFileSync(path.join(beside.dir, "authorized_keys"), path.join(dir, "authorized_keys"));
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(config, sshdConfig(dir, path.join(dir, "host_key"), { listen: `${address}:${port}` }));
  const child: ChildProcess = spawn("nsenter", [`--net=${p.outside}`, `--mount=${p.mnt}`, "--", SSHD, "-D", "-e", "-f", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`listening sshd did not start: ${stderr}`)), 10_000);
    child.stderr!.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (/Server listening on/.test(stderr)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`listening sshd exited ${code}: ${stderr}`));
    });
  });
  child.stderr!.removeAllListeners("data");
  child.stderr!.resume();
  child.removeAllListeners("exit");
  const hostKey = fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").trim();
  return {
    address,
    port,
    hostKey,
    hostKeyFingerprint: keygenFingerprint(path.join(dir, "host_key.pub")),
    privateKey: beside.keys.privateKey,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface Agent {
  socket: string;
  stop(): Promise<void>;
}

/** `ssh-agent -D -a DIR/agent.sock` holding `keyFile`: a Unix socket, no network. */
export async function startAgent(dir: string, keyFile: string): Promise<Agent> {
  const socket = path.join(dir, "agent.sock");
  const child = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(socket)) {
    if (Date.now() > deadline) throw new Error("ssh-agent did not create its socket");
    await new Promise((r) => setTimeout(r, 20));
  }
  execFileSync("ssh-add", ["-q", keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
  return {
    socket,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function nsInode(file: string): string | undefined {
  try {
    return String(fs.statSync(file).ino);
  } catch {
    return undefined;
  }
}

/** PIDs of sshd processes living in the sandbox (its host or outside network namespace, or its mount namespace). */
export function sshdPidsIn(sandbox: string): number[] {
  const p = sandboxPaths(sandbox);
  const nets = new Set([nsInode(p.net), nsInode(p.outside)].filter((x): x is string => !!x));
  const mnt = nsInode(p.mnt);
  return processes()
    .filter((p) => commOf(p.pid) === "sshd")
    .filter((p) => {
      const net = nsOf(p.pid, "net");
      return (net !== undefined && nets.has(net)) || (mnt !== undefined && nsOf(p.pid, "mnt") === mnt);
    })
    .map((p) => p.pid);
}

/** sshd processes anywhere on the machine whose command line mentions `dir` (our configs). */
export function sshdPidsUsing(dir: string): number[] {
  return processes()
    .filter((p) => {
      const c = cmdline(p.pid);
      return c.includes(dir) && /sshd/.test(c);
    })
    .map((p) => p.pid);
}

/** Is `pid` gone (no process, or a zombie nobody reaped)? */
export function processGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Poll `cond` until true or `ms` elapse. */
export async function waitFor(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
