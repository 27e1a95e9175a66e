import { checkConnection, describeConnection, openTransport } from "../../provider/transport/connect";
import type { HostConnection } from "../../provider/transport/connection";
import { LocalTransport } from "../../provider/transport/local";
import { SandboxTransport } from "../../provider/transport/sandbox";
import { SshTransport } from "../../provider/transport/ssh";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
const PIN = "SHA256:MtwnqdimtaaO0JL/zeNoI95f1rNCv9suXazLnE6vhd8";
const noEnv = {};
const ssh = (extra: Record<string, unknown> = {}) => ({ kind: "ssh", host: "10.0.0.5", privateKey: KEY, hostKey: PIN, ...extra });
const check = (c: unknown) => checkConnection(c, noEnv);

describe("checkConnection", () => {
  it("accepts valid connections of every kind", () => {
    expect(check({ kind: "local" })).toEqual([]);
    expect(check({ kind: "local", sudo: true })).toEqual([]);
    expect(check({ kind: "sandbox", name: "lab-1" })).toEqual([]);
    expect(check(ssh())).toEqual([]);
    expect(check(ssh({ host: "fd00::5", port: 2222, user: "admin", sudo: true, password: "pw", privateKey: undefined }))).toEqual([]);
    expect(check(ssh({ jumpHost: ssh({ host: "bastion.example.com", user: "jump" }) }))).toEqual([]);
    expect(check(ssh({ hostKey: undefined, insecureSkipHostKeyCheck: true }))).toEqual([]);
    expect(check(ssh({ proxyCommand: "nc -x proxy:1080 %h %p" }))).toEqual([]);
    // an agent from the environment counts as credentials
    expect(checkConnection(ssh({ privateKey: undefined }), { SSH_AUTH_SOCK: "/tmp/agent.sock" })).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    ["not an object", "ssh://host", /^connection must be an object with a "kind"/],
    ["an unknown kind", { kind: "telnet" }, /^connection.kind "telnet" is unknown: expected one of "local", "sandbox", "ssh", "ssm"$/],
    ["an invalid sandbox name", { kind: "sandbox", name: "Lab_1" }, /^connection.name "Lab_1" is invalid: a sandbox name is 1–32 characters/],
    ["a missing host", ssh({ host: undefined }), /^connection.host is missing/],
    ["a host with shell characters", ssh({ host: "h;rm -rf /" }), /^connection.host "h;rm -rf \/" is invalid: expected a DNS name/],
    ["port 0", ssh({ port: 0 }), /^connection.port 0 is invalid: a port is an integer 1–65535$/],
    ["port 65536", ssh({ port: 65536 }), /^connection.port 65536 is invalid/],
    ["a port string", ssh({ port: "22" }), /^connection.port "22" is invalid/],
    ["a bad user", ssh({ user: "-oProxyCommand=x" }), /^connection.user "-oProxyCommand=x" is invalid/],
    ["a bad host key", ssh({ hostKey: "MD5:aa:bb" }), /^connection.hostKey: host key "MD5:aa:bb" is invalid: expected an OpenSSH public key line .* or a SHA-256 fingerprint/],
    ["no credentials", ssh({ privateKey: undefined }), /^connection has no credentials: set connection.privateKey, connection.password or connection.agent/],
    ["a passphrase without a key", ssh({ privateKey: undefined, password: "x", passphrase: "p" }), /^connection.passphrase is set but connection.privateKey is not/],
    ["pin and skip together", ssh({ insecureSkipHostKeyCheck: true }), /^connection.hostKey and connection.insecureSkipHostKeyCheck are both set/],
    ["jump and proxy together", ssh({ jumpHost: ssh(), proxyCommand: "nc %h %p" }), /^connection.jumpHost and connection.proxyCommand are both set/],
    ["a bad jump host port", ssh({ jumpHost: ssh({ port: 70000 }) }), /^connection.jumpHost.port 70000 is invalid/],
    ["a jump host of another kind", ssh({ jumpHost: { kind: "local" } }), /^connection.jumpHost must be an ssh connection/],
    ["an unknown proxy escape", ssh({ proxyCommand: "nc %x %p" }), /^connection.proxyCommand has an unknown escape %x/],
    ["dialAttempts 0", ssh({ dialAttempts: 0 }), /^connection.dialAttempts 0 is invalid: expected an integer 1–100$/],
    ["a misspelt field", ssh({ hostkey: PIN }), /^connection.hostkey is not a field of a "ssh" connection \(did you mean hostKey\?\)$/],
    ["a non-boolean sudo", { kind: "local", sudo: "yes" }, /^connection.sudo "yes" is invalid: expected true or false$/],
  ])("reports %s", (_what, c, rule) => {
    const problems = check(c);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => rule.test(p))).toBe(true);
  });

  it("never echoes secrets, even when they are what is wrong", () => {
    const secret = "hunter2-very-secret";
    const problems = [
      ...check(ssh({ privateKey: secret })),
      ...check(ssh({ password: 42, passphrase: secret })),
      ...check(ssh({ jumpHost: { kind: "sandbox", password: secret } })),
      ...check(ssh({ pasword: secret })),
    ];
    expect(problems.join("\n")).not.toContain(secret);
    expect(problems).toContain('connection.privateKey (secret, not shown) is not a private key: expected PEM or OpenSSH text starting with "-----BEGIN … PRIVATE KEY-----"');
    expect(problems).toContain("connection.password must be a string (number given)");
  });

  it("reports every problem at once", () => {
    expect(check(ssh({ host: "", port: -1, user: "" }))).toHaveLength(3);
  });
});

describe("describeConnection and openTransport", () => {
  it("labels without secrets", () => {
    expect(describeConnection({ kind: "local" })).toBe("local");
    expect(describeConnection({ kind: "local", sudo: true })).toBe("local(sudo)");
    expect(describeConnection({ kind: "sandbox", name: "lab-1" })).toBe("sandbox:lab-1");
    const c = ssh({ password: "pw-secret", user: "admin", port: 2222, sudo: true, jumpHost: ssh({ host: "bastion", user: "jump" }) }) as HostConnection;
    expect(describeConnection(c)).toBe("ssh:admin@10.0.0.5:2222 via ssh:jump@bastion:22 (sudo)");
    expect(describeConnection(ssh({ host: "fd00::5" }) as HostConnection)).toBe("ssh:root@[fd00::5]:22");
    expect(describeConnection(ssh({ proxyCommand: "nc %h %p" }) as HostConnection)).toBe("ssh:root@10.0.0.5:22 via proxyCommand");
  });

  it("opens the transport the kind asks for, without connecting", async () => {
    expect(openTransport({ kind: "local" })).toBeInstanceOf(LocalTransport);
    expect(openTransport({ kind: "sandbox", name: "lab-1" })).toBeInstanceOf(SandboxTransport);
    const t = openTransport(ssh() as HostConnection, noEnv);
    expect(t).toBeInstanceOf(SshTransport);
    expect(t.label).toBe("ssh:root@10.0.0.5:22");
    await t.close();
  });

  it("refuses an invalid connection with every problem, no secret", () => {
    expect(() => openTransport(ssh({ port: 0, password: "pw-secret", privateKey: undefined }) as HostConnection, noEnv)).toThrow(
      /^invalid connection ssh:root@10.0.0.5:0: connection.port 0 is invalid/,
    );
    expect(() => openTransport({ kind: "sandbox", name: "X" })).toThrow(/connection.name "X" is invalid/);
  });
});
