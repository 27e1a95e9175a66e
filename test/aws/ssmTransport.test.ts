import { FAKE_AWS_ENV, fakeClock } from "./fakeAws";
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  GetCommandInvocationCommandOutput,
  InvalidInstanceId,
  InvocationDoesNotExist,
  SSMClient,
  SendCommandCommand,
  ThrottlingException,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { openTransport } from "../../provider/transport/connect";
import type { SsmConnection } from "../../provider/transport/connection";
import { SsmOutputTruncatedError, SsmTransport } from "../../provider/transport/ssm";
import { ssmCommands } from "../../provider/transport/ssmScript";
import { CommandError, TimeoutError, TransportError, runChecked } from "../../provider/transport/types";

// Every AWS call is answered by aws-sdk-client-mock: nothing leaves this process.
const ssm = mockClient(SSMClient);
const ID = "i-0123456789abcdef0";
const CMD = "3f6b1c2e-7a0d-4c1e-9b1a-2f3c4d5e6f70";
const conn: SsmConnection = { kind: "ssm", instanceId: ID };
const meta = { $metadata: {} };

const invocation = (o: Partial<GetCommandInvocationCommandOutput>): GetCommandInvocationCommandOutput => ({
  CommandId: CMD,
  InstanceId: ID,
  DocumentName: "AWS-RunShellScript",
  PluginName: "aws:runShellScript",
  ResponseCode: -1,
  StandardOutputContent: "",
  StandardErrorContent: "",
  ...meta,
  ...o,
});
const running = (status: "Pending" | "InProgress" | "Delayed" = "InProgress") => invocation({ Status: status, StatusDetails: status });
const success = (stdout: string, stderr = "") =>
  invocation({ Status: "Success", StatusDetails: "Success", ResponseCode: 0, StandardOutputContent: stdout, StandardErrorContent: stderr });
const throttled = () => new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", $metadata: { httpStatusCode: 400 } });
const notYet = () => new InvocationDoesNotExist({ message: "", $metadata: { httpStatusCode: 400 } });

function transport(c: SsmConnection = conn) {
  const clock = fakeClock();
  return { t: new SsmTransport(c, clock), clock };
}

beforeEach(() => {
  ssm.reset();
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: CMD }, ...meta });
});
afterAll(() => ssm.restore());

describe("SsmTransport.run", () => {
  it("sends AWS-RunShellScript with the wrapped script and both timeouts, then polls until Success", async () => {
    ssm.on(GetCommandInvocationCommand).resolvesOnce(running("Pending")).resolvesOnce(running()).resolves(success("hello\n"));
    const { t, clock } = transport();
    const r = await t.run("echo hello", { timeoutMs: 90_000 });

    expect(r).toEqual({ command: "echo hello", code: 0, stdout: "hello\n", stderr: "" });
    const sent = ssm.commandCalls(SendCommandCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0].args[0].input).toEqual({
      InstanceIds: [ID],
      DocumentName: "AWS-RunShellScript",
      Comment: "bridgelab",
      TimeoutSeconds: 90,
      Parameters: {
        commands: [
          [
            "sh -c 'echo hello' bridgelab </dev/null",
            "bridgelab_rc=$?",
            `if [ "$bridgelab_rc" -eq 194 ]; then echo 'bridgelab-ssm-exit 194' >&2; exit 1; fi`,
            'exit "$bridgelab_rc"',
          ].join("\n"),
        ],
        executionTimeout: ["90"],
      },
    });
    const polls = ssm.commandCalls(GetCommandInvocationCommand);
    expect(polls).toHaveLength(3);
    for (const p of polls) expect(p.args[0].input).toEqual({ CommandId: CMD, InstanceId: ID });
    expect(clock.sleeps).toEqual([300, 450, 675]); // a first wait, then a growing interval
    expect(t.label).toBe(`ssm:${ID}`);
  });

  it("keeps polling through Pending, InProgress and Delayed, the interval capped at 3 s", async () => {
    const b = ssm.on(GetCommandInvocationCommand);
    let chain = b.resolvesOnce(running("Pending"));
    for (let i = 0; i < 8; i++) chain = chain.resolvesOnce(running(i % 2 ? "Delayed" : "InProgress"));
    chain.resolves(success("done"));
    const { t, clock } = transport();
    expect((await t.run("true")).stdout).toBe("done");
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(10);
    expect(Math.max(...clock.sleeps)).toBe(3000);
  });

  it("retries InvocationDoesNotExist right after SendCommand", async () => {
    ssm.on(GetCommandInvocationCommand).rejectsOnce(notYet()).rejectsOnce(notYet()).resolves(success("ok"));
    const { t } = transport();
    expect((await t.run("true")).stdout).toBe("ok");
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
  });

  it("gives up on InvocationDoesNotExist after 10 answers, naming the command", async () => {
    ssm.on(GetCommandInvocationCommand).rejects(notYet());
    const { t } = transport();
    const e = await t.run("true").catch((x) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect(e.message).toBe(`ssm:${ID}: command ${CMD} (\`true\`) never appeared on ${ID}: GetCommandInvocation answered InvocationDoesNotExist 10 times`);
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(10);
  });

  it("returns a non-zero exit as data: Failed with a ResponseCode, the agent's own stderr line removed", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(
      invocation({
        Status: "Failed",
        StatusDetails: "Failed",
        ResponseCode: 2,
        StandardOutputContent: "partial\n",
        StandardErrorContent: "failed to run commands: exit status 2\nRTNETLINK answers: File exists\n",
      }),
    );
    const { t } = transport();
    const r = await t.run("ip link add br0 type bridge");
    expect(r).toEqual({ command: "ip link add br0 type bridge", code: 2, stdout: "partial\n", stderr: "RTNETLINK answers: File exists\n" });
    const e = await runChecked(t, "ip link add br0 type bridge", 'bridge "br0"').catch((x) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect(e.message).toBe(`bridge "br0" on ssm:${ID}: \`ip link add br0 type bridge\` exited 2: RTNETLINK answers: File exists`);
  });

  it("reports exit status 194 as 194, which the wrapper had turned into 1 so the agent would not reboot the node", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(
      invocation({ Status: "Failed", StatusDetails: "Failed", ResponseCode: 1, StandardErrorContent: "failed to run commands: exit status 1\nbridgelab-ssm-exit 194\n" }),
    );
    const { t } = transport();
    expect(await t.run("exit 194")).toMatchObject({ code: 194, stderr: "" });
  });

  it("embeds stdin as base64 in a quoted here-document", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(success(""));
    const { t } = transport();
    await t.run("cat > /etc/x", { stdin: "line 1\n'$HOME' `id`\n" });
    const commands = ssm.commandCalls(SendCommandCommand)[0].args[0].input.Parameters!.commands;
    expect(commands).toEqual(ssmCommands("cat > /etc/x", "line 1\n'$HOME' `id`\n"));
    expect(commands[0].split("\n").slice(0, 3)).toEqual([
      "base64 -d <<'BRIDGELAB_STDIN' | sh -c 'cat > /etc/x' bridgelab",
      Buffer.from("line 1\n'$HOME' `id`\n").toString("base64"),
      "BRIDGELAB_STDIN",
    ]);
  });

  it("times out: cancels the command and throws a TimeoutError; delivery gets SSM's 30 s minimum", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(running());
    ssm.on(CancelCommandCommand).resolves(meta);
    const { t, clock } = transport();
    const e = await t.run("sleep 100", { timeoutMs: 5_000 }).catch((x) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toBe(`ssm:${ID}: \`sleep 100\` timed out after 5000 ms and was killed (SSM command ${CMD} cancelled)`);
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input).toMatchObject({ TimeoutSeconds: 30, Parameters: { executionTimeout: ["5"] } });
    expect(ssm.commandCalls(CancelCommandCommand).map((c) => c.args[0].input)).toEqual([{ CommandId: CMD, InstanceIds: [ID] }]);
    expect(clock.elapsed()).toBe(5_000); // never sleeps past the deadline
  });

  it("times out even when cancelling fails, and says the node's executionTimeout will stop it", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(running("Delayed"));
    ssm.on(CancelCommandCommand).rejects(new Error("network down"));
    const { t } = transport();
    const e = await t.run("sleep 100", { timeoutMs: 2_000 }).catch((x) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toMatch(/cancelling SSM command .* failed \(Error: network down\): its executionTimeout stops it on the node$/);
  });

  it("an execution timeout on the node is a TimeoutError; other terminal statuses are TransportErrors that say why", async () => {
    const cases: Array<[Partial<GetCommandInvocationCommandOutput>, typeof TransportError, RegExp]> = [
      [{ Status: "TimedOut", StatusDetails: "ExecutionTimedOut" }, TimeoutError, /timed out after 120000 ms .*executionTimeout/],
      [{ Status: "TimedOut", StatusDetails: "DeliveryTimedOut" }, TransportError, /ended TimedOut\/DeliveryTimedOut: it was not delivered in time: is the SSM agent running/],
      [{ Status: "Failed", StatusDetails: "Undeliverable" }, TransportError, /ended Failed\/Undeliverable: it cannot be delivered: the node is stopped, terminated or not managed by SSM/],
      [{ Status: "Cancelled", StatusDetails: "Cancelled" }, TransportError, /ended Cancelled\/Cancelled: it was cancelled/],
      [{ Status: "Failed", StatusDetails: "Failed", ResponseCode: -1, StandardErrorContent: "agent: no shell" }, TransportError, /ended Failed\/Failed: it failed before the script ran: agent: no shell$/],
    ];
    for (const [inv, type, message] of cases) {
      ssm.on(GetCommandInvocationCommand).resolves(invocation(inv));
      const e = await transport().t.run("true").catch((x) => x);
      expect(e).toBeInstanceOf(type);
      expect(e.message).toMatch(message);
    }
  });

  it("detects stdout cut at 24,000 characters and says to keep output compact", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(success("x".repeat(24_000)));
    const e = await transport().t.run("ip -j addr").catch((x) => x);
    expect(e).toBeInstanceOf(SsmOutputTruncatedError);
    expect(e).toBeInstanceOf(TransportError);
    expect(e.message).toBe(
      `ssm:${ID}: the output of \`ip -j addr\` (SSM command ${CMD}, exit 0) was truncated: SSM returns only the first 24000 characters of stdout ` +
        "and 8000 of stderr, and it sent 24000. Keep each script's output compact (fewer objects per run, or a summary instead of a full listing)",
    );
    ssm.on(GetCommandInvocationCommand).resolves(success("x".repeat(23_999)));
    expect((await transport().t.run("ip -j addr")).stdout).toHaveLength(23_999);
  });

  it("marks stderr cut at 8,000 characters; the result itself is intact", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(success("data", "w".repeat(8_000)));
    const r = await transport().t.run("noisy");
    expect(r.stdout).toBe("data");
    expect(r.stderr.endsWith("\n[bridgelab: SSM kept only the first 8000 characters of stderr]")).toBe(true);
  });

  it("backs off and retries throttled calls, with jitter", async () => {
    ssm.on(SendCommandCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({ Command: { CommandId: CMD }, ...meta });
    ssm.on(GetCommandInvocationCommand).rejectsOnce(throttled()).resolves(success("ok"));
    const { t, clock } = transport();
    expect((await t.run("true")).stdout).toBe("ok");
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(2 + 1);
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(2);
    // random() = 0.5: half of 500·2^n; the poll waits 300 first, its throttled call then backs off
    expect(clock.sleeps).toEqual([250, 500, 300, 250]);
  });

  it("stops retrying a throttled call after 6 attempts", async () => {
    ssm.on(SendCommandCommand).rejects(throttled());
    const e = await transport().t.run("true").catch((x) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect(e.message).toBe(`ssm:${ID}: SendCommand for \`true\` failed: ThrottlingException: Rate exceeded (still throttled after 6 attempts)`);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(6);
  });

  it("a throttled SendCommand past the deadline is a timeout that sent nothing", async () => {
    ssm.on(SendCommandCommand).rejects(throttled());
    const e = await transport().t.run("true", { timeoutMs: 1_000 }).catch((x) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toMatch(/timed out after 1000 ms .*\(SendCommand was throttled \d times; nothing was sent\)$/);
    expect(ssm.commandCalls(CancelCommandCommand)).toHaveLength(0);
  });

  it("explains the errors a caller can fix: unmanaged instance, missing permission", async () => {
    ssm.on(SendCommandCommand).rejects(new InvalidInstanceId({ message: "Instances [[i-0123456789abcdef0]] not in a valid state", $metadata: {} }));
    let e = await transport().t.run("true").catch((x) => x);
    expect(e.message).toMatch(/SendCommand for `true` failed: InvalidInstanceId: .* cannot take commands; it is stopped, in another region or account .*AmazonSSMManagedInstanceCore/);
    const denied = Object.assign(new Error("User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ssm:SendCommand"), { name: "AccessDeniedException" });
    ssm.on(SendCommandCommand).rejects(denied);
    e = await transport().t.run("true").catch((x) => x);
    expect(e.message).toMatch(/AccessDeniedException: .*: the caller needs ssm:SendCommand \(on the instance and on document AWS-RunShellScript\), ssm:GetCommandInvocation and ssm:CancelCommand$/);
  });

  it("a missing command id is an error, not a poll for nothing", async () => {
    ssm.on(SendCommandCommand).resolves({ ...meta });
    await expect(transport().t.run("true")).rejects.toThrow(/SendCommand returned no command id/);
  });

  it("closed transports refuse to run; close is idempotent", async () => {
    const { t } = transport();
    await t.close();
    await t.close();
    await expect(t.run("true")).rejects.toThrow(/this transport is closed/);
  });
});

describe("region, profile and credentials", () => {
  it("passes region and profile to the client, created on the first run; the default region comes from the SDK's chain", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(success(""));
    const { t } = transport({ kind: "ssm", instanceId: "i-0abc1234", region: "eu-west-1", profile: "ops" });
    expect(t.label).toBe("ssm:i-0abc1234@eu-west-1");
    expect(t.description).toBe("ssm:i-0abc1234@eu-west-1 (profile ops)");
    await t.run("true");
    const client = ssm.send.getCall(0).thisValue as SSMClient;
    expect(await client.config.region()).toBe("eu-west-1");
    expect(client.config.profile).toBe("ops");

    ssm.resetHistory();
    const plain = transport().t;
    await plain.run("true");
    const c2 = ssm.send.getCall(0).thisValue as SSMClient;
    expect(await c2.config.region()).toBe(FAKE_AWS_ENV.AWS_REGION);
    expect(c2.config.profile).toBeUndefined();
  });

  it("reuses one client per transport and destroys it on close", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(success(""));
    const { t } = transport();
    await t.run("true");
    await t.run("true");
    const clients = new Set(ssm.send.getCalls().map((c) => c.thisValue));
    expect(clients.size).toBe(1);
    await t.close();
  });

  it("openTransport opens an SsmTransport and refuses an invalid SSM connection, naming the field", () => {
    const t = openTransport({ kind: "ssm", instanceId: ID, region: "us-west-2" });
    expect(t).toBeInstanceOf(SsmTransport);
    expect(t.label).toBe(`ssm:${ID}@us-west-2`);
    expect(() => openTransport({ kind: "ssm", instanceId: "i-xyz" } as SsmConnection)).toThrow(
      /^invalid connection ssm:i-xyz: connection.instanceId "i-xyz" is invalid: expected "i-" followed by 8 or 17 lowercase hex digits/,
    );
  });
});
