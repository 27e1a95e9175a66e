import { AMI_ID, INSTANCE_IDS, invoked, one, ofType, registered, settle, value } from "./awsMocks";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ecsBridge } from "../../stacks/ecsBridge";

// Stack ecs-bridge (seed 000's two exercises on ECS) under Pulumi's mocks: the variants
// chosen by config, the arguments each sends to AWS, and the config it refuses. Every stack
// run here gets its own `name`, so the resources of one run are told apart by prefix.
const SERVICE = "aws:ecs/service:Service";
const TASKDEF = "aws:ecs/taskDefinition:TaskDefinition";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const LISTENER = "aws:lb/listener:Listener";
const HOST_CHECK = "pulumi-nodejs:dynamic/bridgelab:EcsHostCheck";

/** Run the stack with these bridgelab:KEY values (and nothing else). */
function stack(cfg: Record<string, string>): Record<string, pulumi.Output<unknown>> {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k.includes(":") ? k : `bridgelab:${k}`, v])));
  return ecsBridge(new pulumi.Config("bridgelab"));
}
const containerDefinitions = (prefix: string) => JSON.parse(one(TASKDEF, prefix).inputs.containerDefinitions);
let refused = 0;
afterAll(settle);

describe("stack ecs-bridge, variant static (seed 000's first exercise)", () => {
  let out: Record<string, pulumi.Output<unknown>>;
  beforeAll(async () => {
    out = stack({ variant: "static", name: "demo-stat", vpcId: "vpc-1", subnetIds: '["subnet-a","subnet-b"]' });
    await settle();
  });

  it("registers the seed's task definition: bridge mode, nginx:alpine, 8080 → 80/tcp written out", async () => {
    const td = one(TASKDEF, "demo-stat").inputs;
    expect(td).toMatchObject({ family: "ecs-networking-demo-bridge-stat", networkMode: "bridge", requiresCompatibilities: ["EC2"] });
    expect(containerDefinitions("demo-stat")).toEqual([
      { name: "nginx", image: "nginx:alpine", cpu: 0, memory: 128, essential: true, portMappings: [{ containerPort: 80, hostPort: 8080, protocol: "tcp" }], environment: [] },
    ]);
    expect(await value(out.containerDefinitions)).toEqual(containerDefinitions("demo-stat"));
    expect(await value(out.networkMode)).toBe("bridge");
    expect(await value(out.taskDefinitionSource)).toBe("labs/taskDefinitions/ecs-networking-demo-bridge-mode-stat.json");
  });

  it("runs two tasks on two instances, one each (distinctInstance), with ECS Exec as the seed uses it", async () => {
    const s = one(SERVICE, "demo-stat").inputs;
    expect(s).toMatchObject({ desiredCount: 2, placementConstraints: [{ type: "distinctInstance" }], enableExecuteCommand: true });
    expect(s.loadBalancers).toBeUndefined();
    expect(one("aws:autoscaling/group:Group", "demo-stat").inputs).toMatchObject({ minSize: 2, maxSize: 2, desiredCapacity: 2, vpcZoneIdentifiers: ["subnet-a", "subnet-b"] });
    expect(await value(out.variant)).toBe("static");
    expect(await value(out.placementConstraints)).toEqual([{ type: "distinctInstance" }]);
    expect(await value(out.execCommand)).toBe('aws ecs execute-command --cluster demo-stat --task TASK_ID --container nginx --command "/bin/sh" --interactive');
    expect(out.url).toBeUndefined();
  });

  it("boots the ECS-optimized AL2023 AMI with ECS_CLUSTER user data", async () => {
    expect(invoked.map((i) => [i.token, i.inputs.name])).toContainEqual(["aws:ssm/getParameter:getParameter", "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"]);
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate", "demo-stat").inputs;
    expect(lt.imageId).toBe(AMI_ID);
    expect(Buffer.from(lt.userData, "base64").toString()).toContain("echo ECS_CLUSTER=demo-stat >> /etc/ecs/ecs.config");
    expect(await value(out.amiId)).toBe(AMI_ID);
  });

  it("verifies its own instances in the same program: EcsHostCheck over SSM after the service is stable, 2 tasks of its family", async () => {
    const check = one(HOST_CHECK, "demo-stat");
    expect(check.name).toBe("demo-stat-hosts");
    expect(check.inputs).toMatchObject({ instanceIds: INSTANCE_IDS, family: "ecs-networking-demo-bridge-stat", expectedTasks: 2 });
    expect(check.inputs.connections).toBeUndefined();
    expect(check.dependencies).toContain(one(SERVICE, "demo-stat").urn);
    expect(one(SERVICE, "demo-stat").inputs.waitForSteadyState).toBe(true);
    expect(await value(out.instanceIds)).toEqual(INSTANCE_IDS);
    expect(out.hostCheck).toBeDefined();
    expect(out.hostPorts).toBeDefined();
  });
});

describe("stack ecs-bridge, variant dynamic (seed 000's second exercise)", () => {
  let out: Record<string, pulumi.Output<unknown>>;
  beforeAll(async () => {
    // No vpcId/subnetIds: the region's default VPC and its subnets.
    out = stack({ variant: "dynamic", name: "demo-dyn" });
    await settle();
  });

  it("writes hostPort 0 and protocol explicitly", () => {
    expect(one(TASKDEF, "demo-dyn").inputs).toMatchObject({ family: "ecs-networking-demo-bridge-dyn", networkMode: "bridge" });
    expect(containerDefinitions("demo-dyn")[0].portMappings).toEqual([{ containerPort: 80, hostPort: 0, protocol: "tcp" }]);
  });

  it("runs three tasks on two instances behind an ALB: instance target group, the container's port, after the listener", async () => {
    const s = one(SERVICE, "demo-dyn");
    expect(s.inputs).toMatchObject({ desiredCount: 3, placementConstraints: [] });
    expect(one("aws:lb/targetGroup:TargetGroup", "demo-dyn").inputs).toMatchObject({ targetType: "instance", vpcId: "vpc-default" });
    expect(s.inputs.loadBalancers).toEqual([expect.objectContaining({ containerName: "nginx", containerPort: 80 })]);
    expect(s.dependencies).toContain(one(LISTENER, "demo-dyn").urn);
    expect(await value(out.url)).toBe("http://demo-dyn-4f7a2c1-1234567890.eu-west-1.elb.amazonaws.com/");
    expect(await value(out.variant)).toBe("dynamic");
  });

  it("lets only the ALB's security group into the instances, on 32768–65535", () => {
    const rule = ofType(INGRESS, "demo-dyn").find((r) => r.name === "demo-dyn-instances-from-alb")!.inputs;
    expect(rule).toEqual(
      expect.objectContaining({ securityGroupId: "demo-dyn-instances-id", referencedSecurityGroupId: "demo-dyn-alb-id", ipProtocol: "tcp", fromPort: 32768, toPort: 65535 }),
    );
    expect(ofType(INGRESS, "demo-dyn").filter((r) => r.inputs.securityGroupId === "demo-dyn-instances-id")).toHaveLength(1);
  });

  it("found the default VPC and its subnets through data sources", () => {
    expect(invoked.map((i) => i.token)).toEqual(expect.arrayContaining(["aws:ec2/getVpc:getVpc", "aws:ec2/getSubnets:getSubnets"]));
    expect(invoked.find((i) => i.token === "aws:ec2/getVpc:getVpc")!.inputs).toEqual({ default: true });
    expect(one("aws:lb/loadBalancer:LoadBalancer", "demo-dyn").inputs.subnets).toEqual(["subnet-default-a", "subnet-default-b"]);
  });
});

describe("stack ecs-bridge, other sources and the lab switch", () => {
  it("is chosen by bridgelab:lab in stacks/index.ts", async () => {
    pulumi.runtime.setAllConfig({ "bridgelab:lab": "ecs-bridge", "bridgelab:name": "via-index", "bridgelab:vpcId": "vpc-1", "bridgelab:subnetIds": '["subnet-a"]' });
    const out = require("../../stacks") as Record<string, pulumi.Output<unknown>>;
    await settle();
    expect(await value(out.family)).toBe("ecs-networking-demo-bridge-stat");
    expect(one(SERVICE, "via-index").inputs.placementConstraints).toEqual([{ type: "distinctInstance" }]);
  });

  it("takes a task definition file or inline JSON, and an existing cluster", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-taskdef-"));
    try {
      const file = path.join(dir, "td.json");
      fs.writeFileSync(file, JSON.stringify({ family: "from-file", containerDefinitions: [{ name: "web", image: "httpd", portMappings: [{ containerPort: 8000, hostPort: 9000 }] }] }));
      stack({ taskDefinitionFile: file, name: "from-file", vpcId: "vpc-1", subnetIds: '["subnet-a"]', instanceCount: "3" });
      await settle();
      expect(containerDefinitions("from-file")[0].portMappings).toEqual([{ containerPort: 8000, hostPort: 9000, protocol: "tcp" }]);
      expect(one(SERVICE, "from-file").inputs.desiredCount).toBe(3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const inline = { family: "inline", containerDefinitions: [{ name: "web", image: "httpd", portMappings: [{ containerPort: 80 }] }] };
    stack({ taskDefinition: JSON.stringify(inline), name: "inline", cluster: "staging", instanceSecurityGroupId: "sg-9", vpcId: "vpc-1", subnetIds: '["subnet-a"]' });
    await settle();
    expect(ofType("aws:ecs/cluster:Cluster", "inline")).toEqual([]);
    expect(one(SERVICE, "inline").inputs).toMatchObject({ cluster: "staging", launchType: "EC2", desiredCount: 1 });
    // An existing cluster's instances are not known: no host check unless they are given.
    expect(ofType(HOST_CHECK, "inline")).toEqual([]);
    expect(one(SERVICE, "inline").inputs.waitForSteadyState).toBeUndefined();
    expect(containerDefinitions("inline")[0].portMappings).toEqual([{ containerPort: 80, hostPort: 0, protocol: "tcp" }]);
  });

  it("checks an existing cluster's instances when bridgelab:instanceIds lists them", async () => {
    stack({ variant: "static", name: "ext-check", cluster: "staging", instanceCount: "2", instanceIds: '["i-0123456789abcdef0","i-0fedcba9876543210"]', vpcId: "vpc-1", subnetIds: '["subnet-a"]' });
    await settle();
    expect(one(HOST_CHECK, "ext-check").inputs).toMatchObject({ instanceIds: ["i-0123456789abcdef0", "i-0fedcba9876543210"], family: "ecs-networking-demo-bridge-stat", expectedTasks: 2 });
    expect(one(SERVICE, "ext-check").inputs.waitForSteadyState).toBe(true);
  });

  it.each([
    [{ variant: "static", desiredCount: "3" }, "EcsBridgeService [bad-1] desiredCount 3 is above the 2 container instances of the new cluster"],
    [{ variant: "static", desiredCount: "3" }, 'Docker refuses the second with "Bind for 0.0.0.0:8080 failed: port is already allocated"'],
    [{ variant: "blue" }, 'bridgelab:variant "blue" must be one of "static", "dynamic"'],
    [{ variant: "static", taskDefinitionFile: "x.json" }, "bridgelab:variant and bridgelab:taskDefinitionFile conflict: each chooses the task definition; give one of them"],
    [{ taskDefinitionFile: "no/such.json" }, 'bridgelab:taskDefinitionFile "no/such.json" cannot be read (ENOENT)'],
    [{ taskDefinition: '{"family":"f","containerDefinitions":[{"name":"n","image":"x","portMappings":[{"containerPort":80,"hostPort":22}]}]}' }, "containerDefinitions[0].portMappings[0].hostPort 22 is reserved"],
    [{ taskDefinition: '{"family":"f","containerDefinitions":[{"name":"n","image":"x","portMappings":[{"containerPort":80,"hostPort":50000}]}]}' }, "hostPort 50000 lies in the ephemeral port range 32768–65535"],
    [{ taskDefinition: '{"family":"f","networkMode":"awsvpc","containerDefinitions":[{"name":"n","image":"x"}]}' }, 'networkMode "awsvpc" must be "bridge"'],
    [{ cluster: "staging", desiredCount: "2" }, "EcsBridgeService [bad-9] desiredCount 2 needs instanceCount with an existing cluster"],
    [{ variant: "dynamic", cluster: "staging" }, "EcsBridgeService [bad-10] loadBalancer needs instanceSecurityGroupId with an existing cluster"],
    [{ cluster: "staging", hostCheck: "true" }, "bridgelab:hostCheck with an existing cluster (bridgelab:cluster) needs bridgelab:instanceIds"],
    [{ instanceIds: '["i-0123456789abcdef0"]' }, "bridgelab:instanceIds is for an existing cluster (bridgelab:cluster)"],
  ])("refuses %j", (cfg, message) => {
    const n = ++refused;
    const before = registered.length;
    expect(() => stack({ name: `bad-${n}`, vpcId: "vpc-1", subnetIds: '["subnet-a"]', ...cfg })).toThrow(message);
    expect(registered.slice(before).filter((r) => r.name.startsWith(`bad-${n}`))).toEqual([]);
  });
});
