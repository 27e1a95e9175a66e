import { fakeClock } from "./fakeAws";
import { GetCommandInvocationCommand, GetCommandInvocationCommandOutput, InvalidInstanceId, SSMClient, SendCommandCommand } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { providerFor } from "../../provider/resources/providers";
import type { SsmConnection } from "../../provider/transport/connection";
import { HostUnreachableError } from "../../provider/transport/hostErrors";
import { SsmTransport } from "../../provider/transport/ssm";
import { TransportError } from "../../provider/transport/types";
import { captureConsole } from "../support/consoleCapture";

// An SSM host that cannot be reached (terminated, stopped, its agent offline) is told apart
// from one that refuses the caller or ran the script; and a delete on such a host fails naming
// it and BRIDGELAB_GONE_HOSTS, unless it is listed there. Every AWS call is mocked.
const ssm = mockClient(SSMClient);
const ID = "i-0123456789abcdef0";
const CMD = "3f6b1c2e-7a0d-4c1e-9b1a-2f3c4d5e6f70";
const conn: SsmConnection = { kind: "ssm", instanceId: ID, region: "us-east-1" };
const meta = { $metadata: {} };
const ended = (Status: string, StatusDetails: string, ResponseCode = -1): GetCommandInvocationCommandOutput => ({ CommandId: CMD, InstanceId: ID, Status: Status as never, StatusDetails, ResponseCode, ...meta });
const terminated = () => new InvalidInstanceId({ message: "Instances [[i-0123456789abcdef0]] not in a valid state for account 123456789012", $metadata: { httpStatusCode: 400 } });

beforeEach(() => {
  ssm.reset();
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: CMD }, ...meta });
  delete process.env.BRIDGELAB_GONE_HOSTS;
});
afterAll(() => {
  ssm.restore();
  delete process.env.BRIDGELAB_GONE_HOSTS;
});

const run = (c = conn) => new SsmTransport(c, fakeClock()).run("true").catch((e: Error) => e);

describe("SSM: which failures mean the host cannot be reached", () => {
  it("InvalidInstanceId, Undeliverable and DeliveryTimedOut are HostUnreachableError", async () => {
    ssm.on(SendCommandCommand).rejects(terminated());
    expect(await run()).toBeInstanceOf(HostUnreachableError);
    for (const [status, details] of [["Failed", "Undeliverable"], ["TimedOut", "DeliveryTimedOut"]]) {
      ssm.reset();
      ssm.on(SendCommandCommand).resolves({ Command: { CommandId: CMD }, ...meta });
      ssm.on(GetCommandInvocationCommand).resolves(ended(status, details));
      const e = await run();
      expect(e).toBeInstanceOf(HostUnreachableError);
      expect((e as Error).message).toContain(`ended ${status}/${details}`);
    }
  });

  it("access denied, a cancelled or failed-to-start command, and a script's own failure are not", async () => {
    ssm.on(SendCommandCommand).rejects(Object.assign(new Error("User is not authorized to perform: ssm:SendCommand"), { name: "AccessDeniedException" }));
    const denied = await run();
    expect(denied).toBeInstanceOf(TransportError);
    expect(denied).not.toBeInstanceOf(HostUnreachableError);
    for (const inv of [ended("Cancelled", "Cancelled"), ended("Failed", "Failed")]) {
      ssm.reset();
      ssm.on(SendCommandCommand).resolves({ Command: { CommandId: CMD }, ...meta });
      ssm.on(GetCommandInvocationCommand).resolves(inv);
      expect(await run()).not.toBeInstanceOf(HostUnreachableError);
    }
    ssm.on(GetCommandInvocationCommand).resolves({ ...ended("Failed", "NonZeroExitCode", 2) });
    expect(await run()).toMatchObject({ code: 2 });
  });
});

describe("deleting a Bridge on a terminated SSM instance", () => {
  const bridge = providerFor("bridgeProvider");
  const props = { connection: conn, name: "br0", mtu: 1500, up: true, ifindex: 5, mac: "02:42:ac:12:00:01" };

  it("fails naming the instance and the way out, and the refresh too; nothing is forgotten", async () => {
    ssm.on(SendCommandCommand).rejects(terminated());
    const e = (await bridge.delete!("br0", props).catch((x) => x)) as Error;
    expect(e).toBeInstanceOf(HostUnreachableError);
    expect(e.message).toMatch(new RegExp(`^ssm:${ID}: cannot be reached \\(SendCommand for .* failed: InvalidInstanceId: .*\\), so Bridge br0 cannot be deleted\\. `));
    expect(e.message).toContain(`If it is gone for good (a terminated VM), nothing on it needs deleting: run again with BRIDGELAB_GONE_HOSTS=ssm:${ID} `);
    const r = (await bridge.read!("br0", props).catch((x) => x)) as Error;
    expect(r.message).toMatch(/so Bridge br0 cannot be read\. .*BRIDGELAB_GONE_HOSTS=ssm:i-0123456789abcdef0/);
  });

  it("with BRIDGELAB_GONE_HOSTS naming it: forgotten without a call to AWS, said once in the log", async () => {
    process.env.BRIDGELAB_GONE_HOSTS = `ssh:root@10.0.0.9:22, ssm:${ID}`;
    const { error } = await captureConsole(async () => {
      await expect(bridge.delete!("br0", props)).resolves.toBeUndefined();
      await expect(bridge.read!("br0", props)).resolves.toEqual({ id: "", props: {} });
    });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(error).toEqual([
      `ssm:${ID} is listed in BRIDGELAB_GONE_HOSTS, so it is treated as gone without being contacted: its resources are forgotten (Bridge br0 on delete), and anything still on that host stays there`,
    ]);
    // Another instance is not listed: it is contacted as ever.
    ssm.on(SendCommandCommand).rejects(terminated());
    await expect(bridge.delete!("br0", { ...props, connection: { ...conn, instanceId: "i-0fedcba9876543210" } })).rejects.toThrow(/BRIDGELAB_GONE_HOSTS=ssm:i-0fedcba9876543210/);
  });
});
