import { HostGoneError, HostUnreachableError } from "../../provider/transport/hostErrors";
import type { SshConnection } from "../../provider/transport/connection";
import { SandboxTransport } from "../../provider/transport/sandbox";
import { SandboxOutsideTransport } from "../../provider/transport/sandboxOutside";
import { HostKeyError, SshAuthError, SshTransport, closeAllSshConnections } from "../../provider/transport/ssh";
import { TransportError } from "../../provider/transport/types";
import { makeSandbox } from "../support/sandboxFixture";
import { SshdHost, startSshd } from "../support/sshd";

// How the transports say a host is not there: a sandbox host that does not exist is gone
// (HostGoneError); an SSH host no connection reaches is unreachable (HostUnreachableError);
// a host that answers and refuses us (authentication, host key) or runs a failing command is
// neither. Nothing here dials a real address: every SSH connection is a proxy command (an sshd
// inside a sandbox host, or one that exits at once).
let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
beforeAll(async () => {
  box = await makeSandbox("it-hosterr");
  sshd = await startSshd(box.name);
});
afterAll(async () => {
  await closeAllSshConnections();
  await sshd?.stop();
  await box?.dispose();
});

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (e: unknown) => e as Error);
async function run(c: SshConnection, script = "true") {
  const t = new SshTransport(c);
  try {
    return await t.run(script);
  } finally {
    await t.close();
  }
}
const unreachableHost: SshConnection = { kind: "ssh", host: "10.0.0.5", user: "admin", password: "not-used", insecureSkipHostKeyCheck: true, proxyCommand: "exit 1", dialAttempts: 1 };

describe("transport errors for a host that is not there", () => {
  it("a sandbox host that does not exist is gone (host and outside), with the message it always had", async () => {
    for (const t of [new SandboxTransport("no-such-sandbox"), new SandboxOutsideTransport("no-such-sandbox")]) {
      const e = await failure(t.run("true"));
      expect(e).toBeInstanceOf(HostGoneError);
      expect(e).toBeInstanceOf(TransportError);
      expect(e.message).toMatch(/: sandbox host "no-such-sandbox" does not exist; create it with `npx bridgelab sandbox create no-such-sandbox`$/);
    }
  });

  it("an SSH host whose proxy command exits at once is unreachable, after every attempt", async () => {
    const e = await failure(run({ ...unreachableHost, dialAttempts: 2 }));
    expect(e).toBeInstanceOf(HostUnreachableError);
    expect(e.message).toMatch(/^ssh:admin@10\.0\.0\.5:22: .*\(proxy command exited 1\) \(gave up after 2 attempts\)$/);
  });

  it("through a jump host: an unreachable jump host, or a target the jump cannot reach, is unreachable; a jump that refuses us is not", async () => {
    const viaDeadJump = await failure(run({ ...unreachableHost, proxyCommand: undefined, jumpHost: { ...unreachableHost } }));
    expect(viaDeadJump).toBeInstanceOf(HostUnreachableError);
    expect(viaDeadJump.message).toMatch(/cannot reach it through its jump host: ssh:admin@10\.0\.0\.5:22: .*\(proxy command exited 1\)/);

    // The sandbox's sshd as the jump; the target is its outside namespace, where nothing listens on port 9.
    const target: SshConnection = { kind: "ssh", host: "198.51.100.1", port: 9, password: "not-used", insecureSkipHostKeyCheck: true, dialAttempts: 1, jumpHost: sshd.connection() };
    const notThere = await failure(run(target));
    expect(notThere).toBeInstanceOf(HostUnreachableError);
    expect(notThere.message).toMatch(/jump host ssh:root@.* could not open a connection to 198\.51\.100\.1:9/);

    const refusedJump = await failure(run({ ...target, jumpHost: sshd.connection({ privateKey: sshd.keys.strangerKey }) }));
    expect(refusedJump).toBeInstanceOf(TransportError);
    expect(refusedJump).not.toBeInstanceOf(HostUnreachableError);
    expect(refusedJump.message).toMatch(/cannot reach it through its jump host: .*authentication failed/);
  });

  it("a host that refuses the key, or shows another host key, answered: not unreachable; a failing command is a result", async () => {
    const auth = await failure(run(sshd.connection({ privateKey: sshd.keys.strangerKey })));
    expect(auth).toBeInstanceOf(SshAuthError);
    expect(auth).not.toBeInstanceOf(HostUnreachableError);
    const other = await startSshd(box.name);
    try {
      const key = await failure(run(sshd.connection({ hostKey: other.hostKey })));
      expect(key).toBeInstanceOf(HostKeyError);
      expect(key).not.toBeInstanceOf(HostUnreachableError);
    } finally {
      await other.stop();
    }
    expect(await run(sshd.connection(), "echo no >&2; exit 3")).toMatchObject({ code: 3, stderr: "no\n" });
  });
});
