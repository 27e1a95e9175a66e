import { mapCommandConnection } from "../../provider/config/commandConnectionMapping";
import type { SshConnection } from "../../provider/transport/connection";
import { SshTransport, closeAllSshConnections } from "../../provider/transport/ssh";
import { makeSandbox } from "../support/sandboxFixture";
import { ListeningSshd, SshdHost, startListeningSshd, startSshd } from "../support/sshd";

// Connections mapped from @pulumi/command's remote.ConnectionArgs, used for real by the SSH
// transport against OpenSSH inside a sandbox host: an encrypted key with privateKeyPassword, the
// pinned hostKey, and a proxy as the jump host to a second sshd in the sandbox's outside
// namespace. The sandbox's own sshd is reached over a proxy command (no port is opened), which
// remote.ConnectionArgs cannot say: the test adds it to the mapped result, and nothing else.
let box: Awaited<ReturnType<typeof makeSandbox>>;
let sshd: SshdHost;
let outside: ListeningSshd;
const transports: SshTransport[] = [];
beforeAll(async () => {
  box = await makeSandbox("cl-conn");
  sshd = await startSshd(box.name);
  outside = await startListeningSshd(box.name, sshd);
});
afterAll(async () => {
  await closeAllSshConnections();
  await outside?.stop();
  await sshd?.stop();
  await box?.dispose();
});

function run(c: SshConnection, script: string) {
  const t = new SshTransport(c, {});
  transports.push(t);
  return t.run(script);
}

describe("a connection made from remote.ConnectionArgs, over real SSH", () => {
  it("logs in with the encrypted key and its privateKeyPassword, the host key pinned, in one dial", async () => {
    const mapped = mapCommandConnection(
      { host: box.name, user: "root", privateKey: sshd.keys.encryptedKey, privateKeyPassword: sshd.keys.passphrase, hostKey: sshd.hostKey, dialErrorLimit: 0, perDialTimeout: 20 },
      {},
      {},
    );
    expect(mapped).toMatchObject({ passphrase: sshd.keys.passphrase, dialAttempts: 1, readyTimeoutMs: 20_000 });
    const r = await run({ ...mapped, proxyCommand: sshd.proxyCommand }, "hostname; id -u");
    expect(r).toMatchObject({ code: 0, stdout: `${box.name}\n0\n` });
  });

  it("goes through the proxy as a jump host (ssh -J), each host's key pinned", async () => {
    const mapped = mapCommandConnection(
      {
        host: outside.address,
        port: outside.port,
        user: "root",
        privateKey: outside.privateKey,
        hostKey: outside.hostKey,
        proxy: { host: box.name, user: "root", privateKey: sshd.keys.privateKey, hostKey: sshd.hostKey },
      },
      {},
      {},
    );
    expect(mapped.jumpHost).toEqual({ kind: "ssh", host: box.name, user: "root", privateKey: sshd.keys.privateKey, hostKey: sshd.hostKey });
    const r = await run({ ...mapped, jumpHost: { ...mapped.jumpHost!, proxyCommand: sshd.proxyCommand } }, "ip -4 -o addr show dev eth0 | awk '{print $4}'");
    expect(r).toMatchObject({ code: 0, stdout: "198.51.100.1/24\n" });
  });
});
