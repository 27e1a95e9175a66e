import "./fakeAws";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  InvalidInstanceId,
  SSMClient,
  SendCommandCommand,
  SendCommandCommandInput,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { dockerHostCheckScript } from "../../provider/host/dockerHostScripts";
import { UNKNOWN } from "../../provider/resources/contract";
import { EcsHostCheckInputs, EcsHostCheckOutputs, ecsHostCheckProvider as provider } from "../../provider/resources/ecsHostCheck";
import { ssmCommands } from "../../provider/transport/ssmScript";
import { captureConsole, infoOnly } from "../support/consoleCapture";

// EcsHostCheck end to end below the engine: check → create → read → diff → update → delete
// through the real SSM transport, with the SSM API answered by aws-sdk-client-mock from
// fixture outputs (test/fixtures/docker/). No AWS call leaves this process.
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "docker", `${name}.txt`), "utf8");
const ssm = mockClient(SSMClient);
const A = "i-0a1b2c3d4e5f60718";
const B = "i-0f1e2d3c4b5a69788";
const ARN = "arn:aws:ecs:us-east-1:123456789012:task/staging/";

/** What each instance answers: a fixture name, or an error thrown by SendCommand. */
let hosts: Record<string, string | Error> = {};

beforeEach(() => {
  ssm.reset();
  hosts = { [A]: "docker25-ecs", [B]: "docker28-ecs" };
  ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
    const answer = hosts[input.InstanceIds![0]];
    if (answer instanceof Error) throw answer;
    return { Command: { CommandId: `cmd-${input.InstanceIds![0]}` } };
  });
  ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId: string; InstanceId: string }) => ({
    CommandId: input.CommandId,
    InstanceId: input.InstanceId,
    Status: "Success",
    StatusDetails: "Success",
    ResponseCode: 0,
    StandardOutputContent: fixture(hosts[input.InstanceId] as string),
    StandardErrorContent: "",
  }));
});
afterAll(() => ssm.restore());

async function checked(news: Record<string, unknown>): Promise<EcsHostCheckInputs> {
  const r = await provider.check!({}, news);
  expect(r.failures).toEqual([]);
  return r.inputs as EcsHostCheckInputs;
}

describe("EcsHostCheck over SSM (mocked)", () => {
  it("create: one AWS-RunShellScript per instance carrying the check script; reports per instance", async () => {
    const inputs = await checked({ instanceIds: [A, B], region: "us-east-1" });
    expect(inputs.connections).toEqual([
      { kind: "ssm", instanceId: A, region: "us-east-1" },
      { kind: "ssm", instanceId: B, region: "us-east-1" },
    ]);
    const { result, log, error } = await captureConsole(() => provider.create(inputs));
    const { id, outs } = result;
    expect(id).toMatch(/^ecs-host-check-[0-9a-f]{12}$/);
    // What the user sees on `up`: one info line, no error.
    expect([log, error]).toEqual([["ECS host check: 2 hosts, 7 containers, 7 published ports: consistent"], []]);

    const sent = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(sent.map((s) => s.InstanceIds)).toEqual(expect.arrayContaining([[A], [B]]));
    for (const s of sent) {
      expect(s).toEqual({
        InstanceIds: s.InstanceIds,
        DocumentName: "AWS-RunShellScript",
        Comment: "bridgelab",
        TimeoutSeconds: 60,
        Parameters: { commands: ssmCommands(dockerHostCheckScript()), executionTimeout: ["60"] },
      });
    }
    expect(ssm.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input)).toEqual(
      expect.arrayContaining([
        { CommandId: `cmd-${A}`, InstanceId: A },
        { CommandId: `cmd-${B}`, InstanceId: B },
      ]),
    );

    const o = outs as EcsHostCheckOutputs;
    expect(o.consistent).toBe(true);
    expect(o.summary).toBe("2 hosts, 7 containers, 7 published ports: consistent");
    expect(o.hosts.map((h) => [h.host, h.bridgeAddress, h.consistent, h.proxies.length, h.dnat.length])).toEqual([
      [A, "172.17.0.1/16", true, 2, 2],
      [B, "172.17.0.1/16", true, 10, 5],
    ]);
    // Seed 000: the static task on 8080, the dynamic one on 32768 (from the ephemeral range).
    expect(o.hostPorts.filter((p) => p.host === A)).toEqual([
      {
        host: A,
        containerId: "36b4b914e8ba",
        containerName: "ecs-ecs-networking-demo-bridge-stat-1-nginx-f0fbbff98de4aeafae01",
        taskArn: ARN + "04812b97f24e460cb9fc70f4282bbb85",
        family: "ecs-networking-demo-bridge-stat",
        ecsContainer: "nginx",
        protocol: "tcp",
        containerPort: 80,
        hostPort: 8080,
        hostIps: ["0.0.0.0"],
        ephemeral: false,
      },
      expect.objectContaining({ hostPort: 32768, ephemeral: true, family: "ecs-networking-demo-bridge-dyn" }),
    ]);
    expect(o.hostPorts.filter((p) => p.host === B).map((p) => `${p.hostPort}/${p.protocol}`)).toEqual(["32768/tcp", "32769/tcp", "8080/tcp", "9000/udp", "9001/udp"]);
  });

  it("refresh re-runs the check: changed ports and drift are recorded, not thrown; the next up re-verifies", async () => {
    const inputs = await checked({ instanceIds: [A, B], family: "web-bridge" });
    const { id, outs } = await infoOnly(() => provider.create(inputs));
    expect((outs as EcsHostCheckOutputs).hostPorts.map((p) => p.hostPort)).toEqual([32768, 32769]);

    hosts[B] = "docker28-drift"; // task 0f9e… is gone, its rule stayed, a docker-proxy was killed
    const { result: read, error } = await captureConsole(() => provider.read!(id, outs));
    const props = read.props as EcsHostCheckOutputs;
    // Refresh tells the user about the drifted host, one line naming all its problems.
    expect(error).toEqual([`ECS host check drift on ${B}: ${props.hosts[1].problems.join("; ")}`]);
    expect(props.hosts[1].problems).toHaveLength(4);
    expect(read.id).toBe(id);
    expect(props.hostPorts.map((p) => p.hostPort)).toEqual([32768]);
    expect(props.consistent).toBe(false);
    expect(props.summary).toBe("2 hosts, 1 container, 1 published port: 4 problems");
    expect(props.hosts[1].problems[1]).toBe("nat DOCKER DNATs 0.0.0.0:32769/tcp to 172.17.0.3:80 but no running container publishes it");

    expect(await provider.diff!(id, props, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    await expect(provider.update!(id, props, inputs)).rejects.toThrow(
      new RegExp(`^ECS host check: 2 hosts, 1 container, 1 published port: 4 problems\\n  ${B}:\\n    - container ecs-web-static-2-nginx-8e0c2a4f6b1d3e5a7c01 \\(1a3c5e7f9b2d\\) publishes 0.0.0.0:8080->80/tcp but no docker-proxy listens there`),
    );

    hosts[B] = "docker28-ecs"; // repaired
    const { result: again, log } = await captureConsole(() => provider.update!(id, props, inputs));
    expect((again.outs as EcsHostCheckOutputs).consistent).toBe(true);
    expect(log).toEqual(["ECS host check: 2 hosts, 2 containers, 2 published ports: consistent"]);
    expect(await provider.diff!(id, again.outs, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("expectedTasks: a family's tasks counted across instances (distinct task ARNs); a count that differs fails create", async () => {
    const inputs = await checked({ instanceIds: [A, B], family: "web-bridge", expectedTasks: 2 });
    const { outs } = await infoOnly(() => provider.create(inputs));
    const o = outs as EcsHostCheckOutputs;
    expect([o.consistent, o.problems, o.taskArns]).toEqual([true, [], [ARN + "a1b2c3d4e5f60718293a4b5c6d7e8f90", ARN + "0f9e8d7c6b5a49382716a5b4c3d2e1f0"]]);
    await expect(provider.create(await checked({ instanceIds: [A, B], family: "web-bridge", expectedTasks: 3 }))).rejects.toThrow(
      "ECS host check: 2 hosts, 2 containers, 2 published ports: 1 problem\n  tasks:\n    - family web-bridge: 2 tasks running on the hosts, 3 expected",
    );
    const d = await provider.diff!("id", o, await checked({ instanceIds: [A, B], family: "web-bridge", expectedTasks: 3 }));
    expect(d.changes).toBe(true);
  });

  it("requireConsistent: false reports problems without failing", async () => {
    hosts[A] = "docker28-drift";
    const inputs = await checked({ instanceIds: [A], requireConsistent: false });
    const { result, log, error } = await captureConsole(() => provider.create(inputs));
    const outs = result.outs as EcsHostCheckOutputs;
    expect(outs.consistent).toBe(false);
    expect(outs.hosts[0].problems).toHaveLength(4);
    // Not failing, so the problems reach the user as an error line, the summary as info.
    expect(error).toEqual([`ECS host check on ${A}: ${outs.hosts[0].problems.join("; ")}`]);
    expect(log).toEqual([`ECS host check: ${outs.summary}`]);
    expect(outs.summary).toMatch(/: 4 problems$/);
  });

  it("an instance SSM cannot reach fails create, and is recorded by refresh", async () => {
    const inputs = await checked({ instanceIds: [A, B] });
    const { id, outs } = await infoOnly(() => provider.create(inputs));
    hosts[B] = new InvalidInstanceId({ message: "Instances not in a valid state for account", $metadata: {} });
    await expect(provider.create(inputs)).rejects.toThrow(/^ECS host check: 2 hosts, 3 containers, 2 published ports: 1 problem\n  i-0f1e2d3c4b5a69788:\n    - cannot check the host: ssm:i-0f1e2d3c4b5a69788: SendCommand for .* failed: InvalidInstanceId/);
    const { result: read, error } = await captureConsole(() => provider.read!(id, outs));
    const props = read.props as EcsHostCheckOutputs;
    expect(error).toEqual([expect.stringMatching(new RegExp(`^ECS host check drift on ${B}: cannot check the host: ssm:${B}: SendCommand for .* failed: InvalidInstanceId: `))]);
    expect(props.hosts[1]).toMatchObject({ host: B, consistent: false, containers: [] });
    expect(props.hosts[1].error).toMatch(/InvalidInstanceId: .*cannot take commands/);
    expect(props.hosts[0].consistent).toBe(true);
  });

  it("diff: other instances or options re-run in place; nothing replaces; delete makes no call", async () => {
    const inputs = await checked({ instanceIds: [A] });
    const { id, outs } = await infoOnly(() => provider.create(inputs));
    const d = (news: Record<string, unknown>) => checked(news).then((n) => provider.diff!(id, outs, n));
    expect(await d({ instanceIds: [A] })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect(await d({ instanceIds: [A, B] })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await d({ instanceIds: [A], trigger: 2 })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await d({ instanceIds: [A], family: "web" })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    ssm.resetHistory();
    await provider.delete!(id, outs);
    expect(ssm.calls()).toHaveLength(0);
    expect(ssm.commandCalls(CancelCommandCommand)).toHaveLength(0);
  });
});

describe("EcsHostCheck check", () => {
  const reasons = async (news: Record<string, unknown>) => (await provider.check!({}, news)).failures!.map((f) => `${f.property}: ${f.reason}`);

  it("names the field, the value and the rule", async () => {
    expect(await reasons({})).toEqual(["instanceIds: no hosts: set instanceIds (SSM instance ids of the container instances) or connections"]);
    expect(await reasons({ instanceIds: [A], connections: [{ kind: "local" }] })).toEqual([
      "connections: instanceIds and connections are both set: give SSM instance ids or full connections, not both",
    ]);
    expect(await reasons({ instanceIds: [] })).toEqual(["instanceIds: instanceIds must be a non-empty list of SSM instance ids"]);
    expect(await reasons({ instanceIds: [A, "i-123", A], region: "Ireland" })).toEqual([
      'region: region "Ireland" is invalid: expected a region code such as "us-east-1", "eu-central-2" or "us-gov-west-1"',
      'instanceIds: instanceIds[1] "i-123" is invalid: expected "i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")',
      `instanceIds: instanceIds[2] "${A}" is listed twice`,
    ]);
    expect(await reasons({ connections: [{ kind: "sandbox", name: "lab" }], region: "us-east-1" })).toEqual([
      "region: region and profile apply to instanceIds only: put them in each SSM connection instead",
    ]);
    expect(await reasons({ connections: [{ kind: "ssm", instanceId: "i-zz" }, { kind: "sandbox", name: "lab" }, { kind: "sandbox", name: "lab" }] })).toEqual([
      'connections: connections[0].instanceId "i-zz" is invalid: expected "i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")',
      'connections: connections lists the host "sandbox:lab" twice',
    ]);
    expect(await reasons({ instanceIds: [A], bridge: "a-very-long-bridge-name", natChain: "DOCKER CHAIN", family: "web/app", requireConsistent: "yes", trigger: {} })).toEqual([
      expect.stringMatching(/^bridge: bridge "a-very-long-bridge-name" /),
      `natChain: natChain "DOCKER CHAIN" is invalid: a chain name is 1–28 letters, digits, '-', '_' and '.'`,
      `family: family "web/app" is invalid: a task definition family is 1–255 letters, digits, '-' and '_'`,
      'requireConsistent: requireConsistent "yes" is invalid: expected true or false',
      "trigger: trigger must be a string or a number, got {}",
    ]);
    expect(await reasons({ instanceIds: [A], expectedTasks: 2 })).toEqual(["expectedTasks: expectedTasks counts the tasks of one task definition family: set family too"]);
    expect(await reasons({ instanceIds: [A], family: "web", expectedTasks: 1.5 })).toEqual(["expectedTasks: expectedTasks 1.5 is invalid: expected a whole number of tasks, 0 or more"]);
  });

  it("defaults, and unknown instance ids at preview pass through", async () => {
    const i = await checked({ instanceIds: UNKNOWN, region: UNKNOWN });
    expect(i).toEqual({ instanceIds: UNKNOWN, region: UNKNOWN, connections: UNKNOWN, bridge: "docker0", natChain: "DOCKER", requireConsistent: true });
    expect((await checked({ instanceIds: [A, UNKNOWN] })).connections).toEqual([
      { kind: "ssm", instanceId: A },
      { kind: "ssm", instanceId: UNKNOWN },
    ]);
  });
});
