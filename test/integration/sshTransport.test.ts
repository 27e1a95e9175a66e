import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { createSandbox, deleteSandbox, sandboxExists } from "../../provider/sandbox/sandboxHost";
import { sandboxPaths } from "../../provider/sandbox/sandboxLayout";
import type { SshConnection } from "../../provider/transport/connection";
import { openTransport } from "../../provider/transport/connect";
import { HostKeyError, SshAuthError, SshCredentialError, SshTransport, closeAllSshConnections, sshPoolStats } from "../../provider/transport/ssh";
import { TimeoutError, TransportError } from "../../provider/transport/types";
import {
  Agent,
  ListeningSshd,
  SshdHost,
  isMountedIn,
  processGone,
  sshdPidsIn,
  sshdPidsUsing,
  startAgent,
  startListeningSshd,
  startSshd,
  waitFor,
} from "../support/sshd";

// The SSH transport against real OpenSSH servers inside sandbox hosts. Sandbox A runs an
// inetd-mode sshd (reached through a proxyCommand, no port opened) with password auth and a
// stand-in sudo, plus a listening sshd in its outside namespace for the jump host test;
// sandbox B keeps the machine's root login (bash reading ~/.bashrc) and its sshd is killed
// mid-command.
const A = `ssh-${process.pid}-a`;
const B = `ssh-${process.pid}-b`;
let a: SshdHost;
let b: SshdHost;
let outside: ListeningSshd | undefined;
let agent: Agent | undefined;
const etcDigest = () => crypto.createHash("sha256").update(fs.readFileSync("/etc/shadow")).update(fs.readFileSync("/etc/passwd")).digest("hex");
const etcBefore = etcDigest();
const transports: SshTransport[] = [];

function transport(c: SshConnection): SshTransport {
  const t = new SshTransport(c, {});
  transports.push(t);
  return t;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

/** No secret of `host` in `text`: no key body line, passphrase or password. */
function expectNoSecrets(text: string, host: SshdHost): void {
  const secrets = [host.keys.passphrase, host.password ?? "\0"];
  for (const k of [host.keys.privateKey, host.keys.encryptedKey, host.keys.strangerKey]) {
    secrets.push(...k.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----")));
  }
  for (const s of secrets) expect(text).not.toContain(s);
}

async function teardown(): Promise<void> {
  await Promise.all(transports.map((t) => t.close()));
  await closeAllSshConnections();
  await outside?.stop();
  await agent?.stop();
  for (const name of [A, B]) {
    if (sandboxExists(name)) await waitFor(() => sshdPidsIn(name).length === 0, 10_000, `sshd processes in ${name} to exit`).catch(() => undefined);
  }
  await a?.stop();
  await b?.stop();
  await deleteSandbox(A);
  await deleteSandbox(B);
}

beforeAll(async () => {
  await createSandbox(A);
  await createSandbox(B);
  a = await startSshd(A, { password: true, fakeSudo: true });
  b = await startSshd(B, { plainLogin: false }); // root's real bash login, ~/.bashrc and all
});
afterAll(async () => {
  await teardown();
});

describe("SshTransport against a real sshd", () => {
  it("runs a script: stdout, stderr and a non-zero exit come back as data", async () => {
    const t = transport(a.connection());
    const r = await t.run("hostname; echo to-stderr >&2; ip -4 -o addr show dev eth0 | awk '{print $4}'; exit 3");
    expect(r).toEqual({ command: expect.any(String), code: 3, stdout: `${A}\n198.51.100.2/24\n`, stderr: "to-stderr\n" });
    expect(t.label).toBe(`ssh:root@${A}:22`);
  });

  it("passes stdin to the script (the script then travels in `sh -c`, quotes intact)", async () => {
    const t = transport(a.connection());
    const r = await t.run(`tr a-z A-Z; printf '%s\\n' "it's quoted"`, { stdin: "hello\nworld\n" });
    expect(r).toMatchObject({ code: 0, stdout: "HELLO\nWORLD\nit's quoted\n", stderr: "" });
    const big = "x".repeat(300_000) + "\n";
    expect((await t.run("wc -c", { stdin: big })).stdout.trim()).toBe(String(big.length));
  });

  it("authenticates with a key that has a passphrase; a wrong passphrase fails without showing it", async () => {
    const ok = transport(a.connection({ privateKey: a.keys.encryptedKey, passphrase: a.keys.passphrase }));
    expect((await ok.run("echo ok")).stdout).toBe("ok\n");
    const before = sshPoolStats().dialAttempts;
    const e = await failure(transport(a.connection({ privateKey: a.keys.encryptedKey, passphrase: "wrong passphrase", dialAttempts: 3 })).run("true"));
    expect(e).toBeInstanceOf(SshCredentialError);
    expect(e.message).toMatch(new RegExp(`^ssh:root@${A}:22: cannot use connection.privateKey: `));
    expect(sshPoolStats().dialAttempts - before).toBe(1); // not retried
    expectNoSecrets(e.message + (e.stack ?? ""), a);
    expect(e.message).not.toContain("wrong passphrase");
  });

  it("authenticates with a password (root's password set in the sandbox's own /etc/shadow only)", async () => {
    const t = transport(a.connection({ privateKey: undefined, password: a.password }));
    expect((await t.run("id -un")).stdout).toBe("root\n");
    const e = await failure(transport(a.connection({ privateKey: undefined, password: "not-the-password" })).run("true"));
    expect(e).toBeInstanceOf(SshAuthError);
    expect(e.message).toContain('authentication failed for user "root" (tried: password');
    expect(e.message).not.toContain("not-the-password");
    // The machine's /etc/shadow and /etc/passwd were never touched; the bind mounts exist only in the sandbox.
    expect(etcDigest()).toBe(etcBefore);
    expect(isMountedIn("/etc/shadow")).toBe(false);
    expect(isMountedIn("/etc/shadow", sandboxPaths(A).mnt)).toBe(true);
    expect(isMountedIn("/etc/passwd")).toBe(false);
  });

  it("authenticates with an ssh-agent", async () => {
    agent = await startAgent(a.dir, a.keys.agentKeyFile);
    const t = transport(a.connection({ privateKey: undefined, agent: agent.socket }));
    expect((await t.run("echo via-agent")).stdout).toBe("via-agent\n");
  });

  it("accepts the host key pinned as a fingerprint, and with insecureSkipHostKeyCheck", async () => {
    expect((await transport(a.connection({ hostKey: a.hostKeyFingerprint })).run("echo pinned")).stdout).toBe("pinned\n");
    const t = transport(a.connection({ hostKey: undefined, insecureSkipHostKeyCheck: true }));
    expect((await t.run("echo unchecked")).stdout).toBe("unchecked\n");
  });

  it("refuses a host key that does not match the pin, before anything runs", async () => {
    const marker = path.join(a.dir, "ran-with-wrong-pin");
    const before = sshPoolStats().dialAttempts;
    const e = await failure(transport(a.connection({ hostKey: b.hostKey, dialAttempts: 3 })).run(`touch ${marker}`));
    expect(e).toBeInstanceOf(HostKeyError);
    expect(e.message).toContain(`ssh:root@${A}:22: host key mismatch`);
    expect(e.message).toContain(`expected an ssh-ed25519 key with fingerprint ${b.hostKeyFingerprint}`);
    expect(e.message).toContain(`presented an ssh-ed25519 key with fingerprint ${a.hostKeyFingerprint}`);
    expect((e as HostKeyError).presentedFingerprint).toBe(a.hostKeyFingerprint);
    expect(fs.existsSync(marker)).toBe(false);
    expect(sshPoolStats().dialAttempts - before).toBe(1);
    // A wrong fingerprint pin fails the same way.
    const f = await failure(transport(a.connection({ hostKey: b.hostKeyFingerprint })).run(`touch ${marker}`));
    expect(f.message).toContain(`presented an ssh-ed25519 key with fingerprint ${a.hostKeyFingerprint}`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("refuses an unpinned host key, naming its fingerprint and how to pin it", async () => {
    const marker = path.join(a.dir, "ran-unpinned");
    const e = await failure(transport(a.connection({ hostKey: undefined })).run(`touch ${marker}`));
    expect(e).toBeInstanceOf(HostKeyError);
    expect(e.message).toContain(`ssh:root@${A}:22: host key is not pinned: the host presented an ssh-ed25519 key with fingerprint ${a.hostKeyFingerprint}`);
    expect(e.message).toContain(`connection.hostKey = "${a.hostKeyFingerprint}"`);
    expect(fs.existsSync(marker)).toBe(false);
    // The check ran before authentication: sshd never saw an auth attempt from us.
    expect(a.log()).not.toMatch(/Failed publickey|Postponed publickey.*stranger/);
  });

  it("a wrong user key fails authentication naming user, host and methods, never the key, and is not retried", async () => {
    const before = sshPoolStats().dialAttempts;
    const e = await failure(transport(a.connection({ privateKey: a.keys.strangerKey, dialAttempts: 3 })).run("true"));
    expect(e).toBeInstanceOf(SshAuthError);
    expect(e.message).toMatch(new RegExp(`^ssh:root@${A}:22: authentication failed for user "root" \\(tried: publickey\\)`));
    expect(sshPoolStats().dialAttempts - before).toBe(1);
    expectNoSecrets(`${e.message}\n${e.stack}\n${JSON.stringify(e)}`, a);
  });

  it("retries a failing proxy command a bounded number of times, naming the host", async () => {
    const before = sshPoolStats().dialAttempts;
    const e = await failure(transport(a.connection({ proxyCommand: "echo no route to %h >&2; exit 7", dialAttempts: 2 })).run("true"));
    expect(e).toBeInstanceOf(TransportError);
    expect(e.message).toMatch(new RegExp(`^ssh:root@${A}:22: .*proxy command exited 7: no route to ${A}.*\\(gave up after 2 attempts\\)$`));
    expect(sshPoolStats().dialAttempts - before).toBe(2);
  });

  it("reaches a host through a jump host (forwardOut from the jump, own host key pins)", async () => {
    outside = await startListeningSshd(A, a);
    const target: SshConnection = {
      kind: "ssh",
      host: outside.address,
      port: outside.port,
      privateKey: outside.privateKey,
      hostKey: outside.hostKey,
      jumpHost: a.connection(),
    };
    const t = transport(target);
    const r = await t.run("ip -4 -o addr show dev eth0 | awk '{print $4}'");
    expect(r).toMatchObject({ code: 0, stdout: "198.51.100.1/24\n" });
    expect(t.description).toBe(`ssh:root@198.51.100.1:2222 via ssh:root@${A}:22 via proxyCommand`);
    // The target's pin is checked separately from the jump's.
    const e = await failure(transport({ ...target, hostKey: a.hostKey }).run("true"));
    expect(e).toBeInstanceOf(HostKeyError);
    expect(e.message).toContain(`ssh:root@198.51.100.1:2222: host key mismatch`);
    expect(e.message).toContain(`presented an ssh-ed25519 key with fingerprint ${outside.hostKeyFingerprint}`);
  });

  it("shares one pooled connection: many concurrent runs, one dial", async () => {
    await closeAllSshConnections();
    const before = sshPoolStats();
    const conn = a.connection({ hostKey: a.hostKeyFingerprint });
    const runs = Array.from({ length: 24 }, (_, i) => transport({ ...conn }).run(`echo ${i}; sleep 0.2`));
    const results = await Promise.all(runs);
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 24 }, (_, i) => `${i}\n`));
    const after = sshPoolStats();
    expect(after.dials - before.dials).toBe(1);
    expect(after.dialAttempts - before.dialAttempts).toBe(1);
    expect(after.runs - before.runs).toBe(24);
    expect(after.open).toBe(1);
    // Other credentials are another connection.
    await transport(a.connection({ hostKey: a.hostKeyFingerprint, privateKey: undefined, password: a.password })).run("true");
    expect(sshPoolStats().dials - after.dials).toBe(1);
  });

  it("fails a run in flight when the connection drops (TransportError, not retried); the next run re-dials", async () => {
    const t = transport(b.connection());
    await t.run("true");
    const dials = sshPoolStats().dials;
    const flag = path.join(b.dir, "drop.started");
    const inflight = failure(t.run(`touch ${flag}; sleep 30; echo finished`));
    await waitFor(() => fs.existsSync(flag), 10_000, "the command to start");
    for (const pid of sshdPidsIn(B)) process.kill(pid, "SIGKILL");
    const e = await inflight;
    expect(e).toBeInstanceOf(TransportError);
    expect(e).not.toBeInstanceOf(TimeoutError);
    expect(e.message).toMatch(new RegExp(`^ssh:root@${B}:22: connection lost while running \`touch .*sleep 30; echo finished\``));
    expect(e.message).toContain("not retried");
    const r = await t.run("echo again");
    expect(r.stdout).toBe("again\n");
    expect(sshPoolStats().dials - dials).toBe(1);
  });

  it("notices a host that stops answering through keepalives, and fails the run in flight", async () => {
    await closeAllSshConnections(); // keepalive settings belong to the connection: dial a fresh one
    const t = transport(b.connection({ keepaliveIntervalMs: 200, keepaliveCountMax: 2 }));
    const flag = path.join(b.dir, "keepalive.started");
    const inflight = failure(t.run(`touch ${flag}; sleep 30`));
    await waitFor(() => fs.existsSync(flag), 10_000, "the command to start");
    const frozen = sshdPidsIn(B);
    for (const pid of frozen) process.kill(pid, "SIGSTOP");
    try {
      const e = await inflight;
      expect(e).toBeInstanceOf(TransportError);
      expect(e.message).toMatch(new RegExp(`^ssh:root@${B}:22: connection lost while running .*\\(Keepalive timeout\\)`));
    } finally {
      for (const pid of frozen) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  });

  it("gives up on a handshake that does not come within readyTimeoutMs", async () => {
    const started = Date.now();
    const e = await failure(transport(a.connection({ proxyCommand: "exec sleep 30", readyTimeoutMs: 300, dialAttempts: 1 })).run("true"));
    expect(e).toBeInstanceOf(TransportError);
    expect(e.message).toMatch(new RegExp(`^ssh:root@${A}:22: cannot connect: Timed out while waiting for handshake`));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("closes a connection left idle, and one no open transport holds soon after close()", async () => {
    await closeAllSshConnections();
    const idle = transport(a.connection({ idleTimeoutMs: 300 }));
    await idle.run("true");
    expect(sshPoolStats().open).toBe(1);
    await waitFor(() => sshPoolStats().open === 0, 5000, "the idle connection to close");
    const held = transport(a.connection({ idleTimeoutMs: 60_000, password: a.password }));
    await held.run("true");
    await new Promise((r) => setTimeout(r, 300));
    expect(sshPoolStats().open).toBe(1); // held and within its idle timeout
    await held.close();
    await waitFor(() => sshPoolStats().open === 0, 5000, "the released connection to close");
  });

  it("kills a command that times out on the host too, then throws TimeoutError", async () => {
    const t = transport(a.connection());
    const pidFile = path.join(a.dir, "timeout.pids");
    const started = Date.now();
    const e = await failure(t.run(`echo $$ > ${pidFile}; sleep 300 & echo $! >> ${pidFile}; (sleep 301; true) & echo $! >> ${pidFile}; wait`, { timeoutMs: 1500 }));
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toMatch(new RegExp(`^ssh:root@${A}:22: \`echo .*\` timed out after 1500 ms and was killed$`));
    expect(Date.now() - started).toBeLessThan(10_000);
    const pids = fs.readFileSync(pidFile, "utf8").trim().split("\n").map(Number);
    expect(pids).toHaveLength(3);
    await waitFor(() => pids.every(processGone), 5000, `remote processes ${pids.join(", ")} to be gone`);
    // The connection survives a timeout.
    expect((await t.run("echo still-here")).stdout).toBe("still-here\n");
  });

  it("sudo: true runs the script through `sudo -n sh -s`, and a timeout kills what sudo started in its own session", async () => {
    const t = transport(a.connection({ sudo: true }));
    expect(t.sudo).toBe(true);
    const r = await t.run("echo as-sudo; exit 4");
    expect(r).toMatchObject({ code: 4, stdout: "as-sudo\n", stderr: "" });
    expect(fs.readFileSync(path.join(a.dir, "sudo.log"), "utf8")).toContain("sh -s");
    const pidFile = path.join(a.dir, "sudo-timeout.pids");
    const e = await failure(t.run(`echo $$ > ${pidFile}; sleep 300 & echo $! >> ${pidFile}; wait`, { timeoutMs: 1500 }));
    expect(e).toBeInstanceOf(TimeoutError);
    const pids = fs.readFileSync(pidFile, "utf8").trim().split("\n").map(Number);
    await waitFor(() => pids.every(processGone), 5000, `remote processes ${pids.join(", ")} to be gone`);
    // the kill went through sudo too
    expect(fs.readFileSync(path.join(a.dir, "sudo.log"), "utf8").trim().split("\n")).toEqual(["sh -s", "sh -s", "sh -s"]);
  });

  it("openTransport builds the SSH transport from a connection input", async () => {
    const t = openTransport(a.connection());
    expect((await t.run("echo via-openTransport")).stdout).toBe("via-openTransport\n");
    await t.close();
    await expect(t.run("true")).rejects.toThrow(/this transport is closed/);
  });

  it("leaves nothing behind: connections closed, sshd processes gone, sandboxes deleted", async () => {
    const dirs = [a.dir, b.dir];
    await teardown();
    expect(sshPoolStats().open).toBe(0);
    for (const d of dirs) expect(sshdPidsUsing(d)).toEqual([]);
    expect(sandboxExists(A)).toBe(false);
    expect(sandboxExists(B)).toBe(false);
    expect(fs.existsSync(a.dir)).toBe(false);
    expect(etcDigest()).toBe(etcBefore);
  });
});
