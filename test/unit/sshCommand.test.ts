import * as fs from "node:fs";
import * as path from "node:path";
import { dialBackoffMs } from "../../provider/transport/sshDial";
import { redact } from "../../provider/transport/sshErrors";
import { remoteCommand, remoteKillCommand, remoteKillScript, signalExitCode } from "../../provider/transport/sshExec";
import { resolveSsh } from "../../provider/transport/sshOptions";
import { sshPoolKey } from "../../provider/transport/sshPool";
import { expandProxyCommand } from "../../provider/transport/sshProxy";

// The commands the SSH transport sends, compared with fixture files
// (UPDATE_FIXTURES=1 rewrites them; read the diff before committing).
const fixtures = path.join(__dirname, "..", "fixtures", "ssh");
function matchesFixture(name: string, actual: string): void {
  const file = path.join(fixtures, name);
  if (process.env.UPDATE_FIXTURES) fs.writeFileSync(file, actual);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}
const marker = "bridgelab-pgid-000000000000";

describe("remoteCommand", () => {
  it("runs the script from stdin under a wrapper that reports its process group", () => {
    matchesFixture("remote-command.sh", remoteCommand("ip link show", { sudo: false, viaStdin: true, marker }) + "\n");
  });

  it("sudo: true runs `sudo -n sh -s`", () => {
    const cmd = remoteCommand("ip link show", { sudo: true, viaStdin: true, marker });
    matchesFixture("remote-command-sudo.sh", cmd + "\n");
    expect(cmd).toContain("exec sudo -n sh -s");
  });

  it("puts the script in `sh -c` when the caller has stdin, quoted twice", () => {
    const cmd = remoteCommand("cat > '/tmp/x'; echo $HOME", { sudo: true, viaStdin: false, marker });
    matchesFixture("remote-command-stdin.sh", cmd + "\n");
  });

  it("kill script: stop the group and its descendants, then kill them; root through sudo", () => {
    matchesFixture("remote-kill.sh", remoteKillScript(4242) + "\n");
    expect(remoteKillCommand(false)).toBe("sh -s");
    expect(remoteKillCommand(true)).toBe("sudo -n sh -s");
    expect(() => remoteKillScript(1)).toThrow(/refusing/);
    expect(() => remoteKillScript(Number.NaN)).toThrow(/refusing/);
  });

  it("maps a signal to the shell's exit status", () => {
    expect(signalExitCode("KILL")).toBe(137);
    expect(signalExitCode("SIGTERM")).toBe(143);
    expect(signalExitCode("BOGUS")).toBe(255);
  });
});

describe("proxy command, backoff, pool key, redaction", () => {
  it("expands %h %p %r %% like OpenSSH", () => {
    expect(expandProxyCommand("nc -X 5 -x proxy:1080 %h %p # %r 100%%", "10.0.0.5", 22, "admin")).toBe("nc -X 5 -x proxy:1080 10.0.0.5 22 # admin 100%");
    expect(() => expandProxyCommand("nc %n", "h", 22, "u")).toThrow(/unknown escape %n/);
  });

  it("backs off exponentially with jitter, capped", () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => dialBackoffMs(n, () => 0.5))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect(dialBackoffMs(1, () => 0)).toBe(375);
    expect(dialBackoffMs(1, () => 1)).toBe(625);
  });

  it("keys the pool by user, host, port, trust, credentials and route, without secrets", () => {
    const salt = Buffer.alloc(32, 7);
    const base = { kind: "ssh" as const, host: "10.0.0.5", password: "s3cret-pass", hostKey: "SHA256:MtwnqdimtaaO0JL/zeNoI95f1rNCv9suXazLnE6vhd8" };
    const key = sshPoolKey(resolveSsh(base, {}), salt);
    expect(key).toMatch(/^root@10\.0\.0\.5:22 hostkey=SHA256:Mtwn\S+ creds#\S+$/);
    expect(key).not.toContain("s3cret-pass");
    expect(sshPoolKey(resolveSsh({ ...base }, {}), salt)).toBe(key);
    const others = [
      { ...base, password: "other" },
      { ...base, port: 2222 },
      { ...base, user: "admin" },
      { ...base, hostKey: undefined, insecureSkipHostKeyCheck: true },
      { ...base, proxyCommand: "nc %h %p" },
      { ...base, jumpHost: { ...base, host: "bastion" } },
    ].map((c) => sshPoolKey(resolveSsh(c, {}), salt));
    expect(new Set([key, ...others]).size).toBe(others.length + 1);
    expect(others[5]).toContain(" via(root@bastion:22 ");
    // sudo does not change the connection: it is shared
    expect(sshPoolKey(resolveSsh({ ...base, sudo: true }, {}), salt)).toBe(key);
  });

  it("redacts secrets and each long line of a multi-line one", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAbase64bodyline1\nAAAAbase64bodyline2\n-----END OPENSSH PRIVATE KEY-----";
    expect(redact("oops AAAAbase64bodyline2 and pw hunter2", [key, "hunter2", undefined])).toBe("oops [redacted] and pw [redacted]");
  });
});
