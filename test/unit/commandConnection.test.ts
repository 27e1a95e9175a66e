import * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import { CommandConnectionError, commandConnectionProblems, inCommandTerms, mapCommandConnection } from "../../provider/config/commandConnectionMapping";
import { sshFromCommandConnection } from "../../provider/config/sshFromCommandConnection";
import type { CommandConnectionArgs } from "../../provider/config/sshFromCommandConnection";
import type { SshConnection } from "../../provider/transport/connection";

// @pulumi/command's remote.ConnectionArgs → bridgelab's SshConnection (issue 14): the mapping of
// every field, the refusals of what has no equivalent, and Outputs and secrets kept as they are.
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfsec23YU/JR4q7hrG2eNPBvPTx9YQFOoOIq1YTsIR9 root@lab";
const FINGERPRINT = "SHA256:MtwnqdimtaaO0JL/zeNoI95f1rNCv9suXazLnE6vhd8";
const noEnv = {};
const map = (c: Record<string, unknown>, o: Record<string, unknown> = {}) => mapCommandConnection(c as never, o, noEnv);
const problems = (c: unknown, o: unknown = {}) => commandConnectionProblems(c, o);

/** An Output's value and whether it is secret (OutputImpl's own promises, every one awaited: a refused one rejects them all). */
async function resolve<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
  const impl = o as unknown as { promise(): Promise<T>; isKnown: Promise<boolean>; isSecret: Promise<boolean> };
  const [value, , secret] = await Promise.allSettled([impl.promise(), impl.isKnown, impl.isSecret]);
  if (value.status === "rejected") throw value.reason;
  if (secret.status === "rejected") throw secret.reason;
  return { value: value.value, secret: secret.value };
}
async function refusal(o: pulumi.Output<unknown>): Promise<string> {
  try {
    await resolve(o);
  } catch (e) {
    expect(e).toBeInstanceOf(CommandConnectionError);
    return (e as Error).message;
  }
  throw new Error("expected the connection to be refused");
}

describe("the mapping, field by field", () => {
  it("maps every field of remote.ConnectionArgs to its SshConnection equivalent", () => {
    expect(
      map({
        host: "203.0.113.10",
        port: 2222,
        user: "admin",
        password: "pw",
        privateKey: KEY,
        privateKeyPassword: "pass",
        agentSocketPath: "/run/agent.sock",
        hostKey: HOST_KEY,
        dialErrorLimit: 4,
        perDialTimeout: 30,
      }),
    ).toEqual<SshConnection>({
      kind: "ssh",
      host: "203.0.113.10",
      port: 2222,
      user: "admin",
      password: "pw",
      privateKey: KEY,
      passphrase: "pass",
      agent: "/run/agent.sock",
      hostKey: HOST_KEY,
      dialAttempts: 5, // remote.Command allows 4 failed dials, so dials up to 5 times
      readyTimeoutMs: 30_000,
      sudo: true, // admin is not root
    });
  });

  it("keeps both tools' defaults: port 22 and user root are left to bridgelab, which has the same; root needs no sudo", () => {
    expect(map({ host: "10.0.0.5", privateKey: KEY, hostKey: HOST_KEY })).toEqual({ kind: "ssh", host: "10.0.0.5", privateKey: KEY, hostKey: HOST_KEY });
    expect(map({ host: "10.0.0.5", user: "root", privateKey: KEY, hostKey: HOST_KEY })).not.toHaveProperty("sudo");
    expect(map({ host: "10.0.0.5", user: "admin", privateKey: KEY, hostKey: HOST_KEY }, { sudo: false })).not.toHaveProperty("sudo");
  });

  it("maps dialErrorLimit 0 to one dial, and the largest limit bridgelab takes (99) to 100 dials", () => {
    expect(map({ host: "h", privateKey: KEY, hostKey: HOST_KEY, dialErrorLimit: 0 }).dialAttempts).toBe(1);
    expect(map({ host: "h", privateKey: KEY, hostKey: HOST_KEY, dialErrorLimit: 99 }).dialAttempts).toBe(100);
  });

  it("maps the proxy to a jump host, with its own credentials, pin and dial settings", () => {
    const c = map(
      {
        host: "10.0.1.5",
        user: "ec2-user",
        privateKey: KEY,
        hostKey: HOST_KEY,
        proxy: { host: "bastion.example.com", user: "jump", password: "jpw", dialErrorLimit: 2, perDialTimeout: 5 },
      },
      { proxyHostKey: FINGERPRINT },
    );
    expect(c.jumpHost).toEqual({ kind: "ssh", host: "bastion.example.com", user: "jump", password: "jpw", hostKey: FINGERPRINT, dialAttempts: 3, readyTimeoutMs: 5000 });
    expect(c.sudo).toBe(true);
    expect(c.jumpHost).not.toHaveProperty("sudo");
  });

  it("takes the pin from options when the connection has none (a fingerprint is fine there: only bridgelab reads it)", () => {
    expect(map({ host: "h", privateKey: KEY }, { hostKey: FINGERPRINT }).hostKey).toBe(FINGERPRINT);
    expect(map({ host: "h", privateKey: KEY, hostKey: HOST_KEY }, { hostKey: ` ${HOST_KEY} ` }).hostKey).toBe(HOST_KEY);
    expect(map({ host: "h", privateKey: KEY }, { insecureSkipHostKeyCheck: true })).toMatchObject({ insecureSkipHostKeyCheck: true });
    expect(map({ host: "h", privateKey: KEY }, { insecureSkipHostKeyCheck: true })).not.toHaveProperty("hostKey");
  });
});

describe("refusals: what has no equivalent, named by remote.ConnectionArgs' own fields", () => {
  const base = { host: "10.0.0.5", privateKey: KEY, hostKey: HOST_KEY };
  it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
    ["dialErrorLimit -1 (unlimited)", { ...base, dialErrorLimit: -1 }, {}, /^connection\.dialErrorLimit -1 \(dial again without limit\) has no bridgelab equivalent: .*Give 0–99 \(remote\.Command dials dialErrorLimit \+ 1 times\)$/],
    ["dialErrorLimit 100", { ...base, dialErrorLimit: 100 }, {}, /^connection\.dialErrorLimit 100 is invalid: expected an integer 0–99/],
    ["dialErrorLimit 2.5", { ...base, dialErrorLimit: 2.5 }, {}, /^connection\.dialErrorLimit 2\.5 is invalid/],
    ["perDialTimeout 0 (no limit)", { ...base, perDialTimeout: 0 }, {}, /^connection\.perDialTimeout 0 \(no time limit\) has no bridgelab equivalent: bridgelab bounds every dial \(readyTimeoutMs\)\. Give 1–600 seconds$/],
    ["perDialTimeout 601", { ...base, perDialTimeout: 601 }, {}, /^connection\.perDialTimeout 601 is invalid: expected whole seconds 1–600$/],
    ["the proxy's perDialTimeout 0", { ...base, proxy: { host: "b", password: "x", hostKey: HOST_KEY, perDialTimeout: 0 } }, {}, /^connection\.proxy\.perDialTimeout 0 \(no time limit\)/],
    ["an unknown field", { ...base, keepAlive: true }, {}, /^connection\.keepAlive is not a field bridgelab can map \(it maps host, port, .*\): a field of a newer @pulumi\/command with no bridgelab equivalent yet/],
    ["a misspelt field", { ...base, privatekey: KEY }, {}, /^connection\.privatekey is not a field bridgelab can map \(did you mean privateKey\?\)$/],
    ["an unknown option", base, { hostkey: HOST_KEY }, /^options\.hostkey is not a field bridgelab can map \(did you mean hostKey\?\)$/],
    ["a passphrase without a key", { host: "h", password: "pw", privateKeyPassword: "p", hostKey: HOST_KEY }, {}, /^connection\.privateKeyPassword is set but connection\.privateKey is not/],
    ["no host key anywhere", { host: "h", privateKey: KEY }, {}, /^connection\.hostKey is missing: remote\.Command skips host key verification without it, and bridgelab does not connect to a host whose key it cannot check\. Set connection\.hostKey .* or give options\.hostKey .* or options\.insecureSkipHostKeyCheck: true/],
    ["no key for the proxy", { ...base, proxy: { host: "b", password: "x" } }, {}, /^connection\.proxy\.hostKey is missing: .* or give options\.proxyHostKey/],
    ["a fingerprint where remote.Command needs a key line", { ...base, hostKey: FINGERPRINT }, {}, /^connection\.hostKey "SHA256:Mtwn.*" is a fingerprint: remote\.Command reads hostKey as a public key line .* give the fingerprint as options\.hostKey \(bridgelab only\)$/],
    ["two different pins", base, { hostKey: FINGERPRINT }, /^connection\.hostKey and options\.hostKey differ/],
    ["a pin and the skip", base, { insecureSkipHostKeyCheck: true }, /^options\.insecureSkipHostKeyCheck is true but connection\.hostKey pins the key/],
    ["a proxy pin without a proxy", base, { proxyHostKey: HOST_KEY }, /^options\.proxyHostKey is set but connection\.proxy is not/],
    ["a connection that is not an object", "ssh://h" as never, {}, /^connection must be a remote\.ConnectionArgs object .*; got a string$/],
  ])("%s", (_what, c, o, rule) => {
    const found = problems(c, o);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(rule);
    expect(() => map(c, o)).toThrow(CommandConnectionError);
  });

  it("bridgelab's own check of the result speaks of the Command fields: connection.proxy.host, not jumpHost", () => {
    expect(() => map({ host: "h;rm -rf /", privateKey: KEY, hostKey: HOST_KEY })).toThrow(/^sshFromCommandConnection: connection\.host "h;rm -rf \/" is invalid: expected a DNS name/);
    expect(() => map({ ...base, proxy: { host: "bad host", password: "x", hostKey: HOST_KEY } })).toThrow(/connection\.proxy\.host "bad host" is invalid/);
    expect(() => map({ ...base, port: 70000 })).toThrow(/connection\.port 70000 is invalid: a port is an integer 1–65535/);
    expect(() => map({ host: "h", hostKey: HOST_KEY })).toThrow(/connection has no credentials: set connection\.privateKey, connection\.password or connection\.agentSocketPath/);
    expect(inCommandTerms("connection.jumpHost.passphrase is set but connection.jumpHost.privateKey is not")).toBe("connection.proxy.privateKeyPassword is set but connection.proxy.privateKey is not");
  });

  it("names every problem at once and never shows a secret", () => {
    const secret = "hunter2-very-secret";
    let message = "";
    try {
      map({ host: "h", password: secret, privateKeyPassword: secret, dialErrorLimit: -1, perDialTimeout: 0, proxy: { host: "b", password: secret } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split("; ").map((p) => p.replace(/^sshFromCommandConnection: /, "").split(" ")[0])).toEqual([
      "connection.dialErrorLimit",
      "connection.perDialTimeout",
      "connection.privateKeyPassword",
      "connection.hostKey",
      "connection.proxy.hostKey",
    ]);
    expect(message).not.toContain(secret);
  });
});

describe("sshFromCommandConnection: Outputs and secrets", () => {
  it("accepts a real remote.ConnectionArgs (the type of the installed @pulumi/command) and declares every field it has", async () => {
    const real: types.input.remote.ConnectionArgs = { host: "10.0.0.5", user: "admin", privateKey: KEY, hostKey: HOST_KEY, dialErrorLimit: 2, perDialTimeout: 10 };
    // Compile-time: every field of the installed remote.ConnectionArgs and ProxyConnectionArgs is declared by bridgelab.
    const coversConnection: [Exclude<keyof types.input.remote.ConnectionArgs, keyof CommandConnectionArgs>] extends [never] ? true : false = true;
    const coversProxy: [Exclude<keyof types.input.remote.ProxyConnectionArgs, keyof CommandConnectionArgs>] extends [never] ? true : false = true;
    expect([coversConnection, coversProxy]).toEqual([true, true]);
    const { value } = await resolve(sshFromCommandConnection(real));
    expect(value).toEqual({ kind: "ssh", host: "10.0.0.5", user: "admin", privateKey: KEY, hostKey: HOST_KEY, dialAttempts: 3, readyTimeoutMs: 10_000, sudo: true });
  });

  it("keeps a secret secret: a secret key (or password, or proxy) makes the whole connection secret", async () => {
    const key = await resolve(sshFromCommandConnection({ host: "10.0.0.5", user: "admin", privateKey: pulumi.secret(KEY), hostKey: HOST_KEY }));
    expect(key).toEqual({ secret: true, value: expect.objectContaining({ privateKey: KEY, host: "10.0.0.5" }) });
    const proxy = await resolve(
      sshFromCommandConnection({ host: "10.0.1.5", privateKey: KEY, hostKey: HOST_KEY, proxy: pulumi.output({ host: "b", password: pulumi.secret("jpw"), hostKey: HOST_KEY }) }),
    );
    expect(proxy.secret).toBe(true);
    expect(proxy.value.jumpHost).toEqual({ kind: "ssh", host: "b", password: "jpw", hostKey: HOST_KEY });
    const plain = await resolve(sshFromCommandConnection({ host: "10.0.0.5", privateKey: KEY, hostKey: HOST_KEY }));
    expect(plain.secret).toBe(false);
  });

  it("takes Outputs anywhere: the host of an instance, the pin from a resource, the whole connection", async () => {
    const host = pulumi.output("203.0.113.10");
    const { value } = await resolve(sshFromCommandConnection({ host, user: "ec2-user", privateKey: KEY }, { hostKey: pulumi.output(HOST_KEY) }));
    expect(value).toMatchObject({ host: "203.0.113.10", user: "ec2-user", hostKey: HOST_KEY, sudo: true });
    const whole = await resolve(sshFromCommandConnection(pulumi.output({ host: "10.0.0.5", privateKey: KEY, hostKey: HOST_KEY } as CommandConnectionArgs)));
    expect(whole.value).toEqual({ kind: "ssh", host: "10.0.0.5", privateKey: KEY, hostKey: HOST_KEY });
  });

  it("refuses at the call what it can tell there (an Output host key counts as given)", async () => {
    expect(() => sshFromCommandConnection({ host: "h", privateKey: KEY })).toThrow(/^sshFromCommandConnection: connection\.hostKey is missing/);
    expect(() => sshFromCommandConnection({ host: "h", privateKey: KEY, hostKey: HOST_KEY, dialErrorLimit: -1 })).toThrow(/connection\.dialErrorLimit -1/);
    let later: pulumi.Output<SshConnection> | undefined;
    expect(() => (later = sshFromCommandConnection({ host: pulumi.output("h"), privateKey: KEY, hostKey: pulumi.output(HOST_KEY), dialErrorLimit: pulumi.output(-1) }))).not.toThrow();
    expect(await refusal(later!)).toMatch(/connection\.dialErrorLimit -1/);
  });

  it("refuses the rest when the Outputs resolve (in preview, before anything runs on the host)", async () => {
    expect(await refusal(sshFromCommandConnection({ host: "h", privateKey: KEY, hostKey: HOST_KEY, dialErrorLimit: pulumi.output(-1) }))).toMatch(/connection\.dialErrorLimit -1 \(dial again without limit\)/);
    expect(await refusal(sshFromCommandConnection({ host: "h", privateKey: KEY, hostKey: pulumi.output(FINGERPRINT) }))).toMatch(/connection\.hostKey "SHA256:.*" is a fingerprint/);
  });
});
