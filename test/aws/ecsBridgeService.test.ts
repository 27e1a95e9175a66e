import { AMI_ID, INSTANCE_IDS, invoked, one, ofType, registered, settle, value } from "./awsMocks";
import * as pulumi from "@pulumi/pulumi";
import { EcsBridgeService, EcsValidationError } from "../../provider/ecs";

// EcsBridgeService under Pulumi's mocks: the AWS resources it declares, with their real
// arguments and dependencies, for a new cluster and an existing one, static and dynamic
// ports; and the arguments it refuses before declaring anything. No AWS call is made.
const net = { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"] };
const nginx = (hostPort: number) => [{ name: "nginx", image: "nginx:alpine", portMappings: [{ containerPort: 80, hostPort }] }];
const T = {
  cluster: "aws:ecs/cluster:Cluster",
  role: "aws:iam/role:Role",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  profile: "aws:iam/instanceProfile:InstanceProfile",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  asg: "aws:autoscaling/group:Group",
  capacityProvider: "aws:ecs/capacityProvider:CapacityProvider",
  clusterCapacityProviders: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  lb: "aws:lb/loadBalancer:LoadBalancer",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  listener: "aws:lb/listener:Listener",
  service: "aws:ecs/service:Service",
};
const arn = (type: string, physical: string) => `arn:aws:mock:eu-west-1:123456789012:${type.split(":")[1]}/${physical}`;
afterAll(settle);

describe("EcsBridgeService, new cluster, static host port", () => {
  let svc: EcsBridgeService;
  beforeAll(async () => {
    svc = new EcsBridgeService("stat", { ...net, clusterName: "demo-stat", containers: nginx(8080), desiredCount: 2, enableExecuteCommand: true, tags: { lab: "seed000" } });
    await settle();
  });

  it("reads the ECS-optimized AL2023 AMI from its public SSM parameter", async () => {
    expect(invoked.filter((i) => i.token === "aws:ssm/getParameter:getParameter").map((i) => i.inputs)).toContainEqual({
      name: "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    });
    expect(await value(svc.amiId!)).toBe(AMI_ID);
  });

  it("gives the instances a profile with the ECS and SSM managed policies", () => {
    const role = ofType(T.role, "stat").find((r) => r.name === "stat-instance")!;
    expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" });
    expect(ofType(T.attachment, "stat").map((a) => [a.inputs.role, a.inputs.policyArn])).toEqual([
      ["stat-instance-4f7a2c1", "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"],
      ["stat-instance-4f7a2c1", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
    ]);
    expect(one(T.profile, "stat").inputs.role).toBe("stat-instance-4f7a2c1");
  });

  it("launches the AMI with user data that joins the cluster, in an auto scaling group behind a capacity provider", () => {
    const lt = one(T.launchTemplate, "stat").inputs;
    expect(lt.imageId).toBe(AMI_ID);
    expect(lt.instanceType).toBe("t3.small");
    expect(Buffer.from(lt.userData, "base64").toString()).toBe("#!/bin/bash\necho ECS_CLUSTER=demo-stat >> /etc/ecs/ecs.config\n");
    expect(lt.iamInstanceProfile).toEqual({ arn: arn(T.profile, "stat-instance-4f7a2c1") });
    expect(lt.vpcSecurityGroupIds).toEqual(["stat-instances-id"]);
    expect(lt.metadataOptions).toEqual({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
    const asg = one(T.asg, "stat").inputs;
    expect(asg).toMatchObject({ minSize: 2, maxSize: 2, desiredCapacity: 2, vpcZoneIdentifiers: ["subnet-a", "subnet-b"], launchTemplate: { id: "stat-id", version: "$Latest" } });
    expect(asg.tags).toContainEqual({ key: "AmazonECSManaged", value: "true", propagateAtLaunch: true });
    expect(asg.tags).toContainEqual({ key: "lab", value: "seed000", propagateAtLaunch: true });
    expect(one(T.capacityProvider, "stat").inputs.autoScalingGroupProvider).toMatchObject({ autoScalingGroupArn: arn(T.asg, "stat-4f7a2c1"), managedTerminationProtection: "DISABLED" });
    expect(one(T.clusterCapacityProviders, "stat").inputs).toEqual({
      clusterName: "demo-stat",
      capacityProviders: ["stat-4f7a2c1"],
      defaultCapacityProviderStrategies: [{ capacityProvider: "stat-4f7a2c1", weight: 1, base: 0 }],
    });
    expect(one(T.cluster, "stat").inputs.name).toBe("demo-stat");
  });

  it("registers a bridge-mode task definition whose port mappings carry hostPort and protocol", () => {
    const td = one(T.taskDefinition, "stat").inputs;
    expect(td.networkMode).toBe("bridge");
    expect(td.requiresCompatibilities).toEqual(["EC2"]);
    expect(td.family).toBe("stat");
    expect(JSON.parse(td.containerDefinitions)).toEqual([
      { name: "nginx", image: "nginx:alpine", cpu: 0, memory: 128, essential: true, portMappings: [{ containerPort: 80, hostPort: 8080, protocol: "tcp" }], environment: [] },
    ]);
    expect(td.containerDefinitions).toBe(svc.containerDefinitions);
  });

  it("turns ECS Exec on with a task role allowed the ssmmessages channels", () => {
    const task = ofType(T.role, "stat").find((r) => r.name === "stat-task")!;
    expect(JSON.parse(task.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "ecs-tasks.amazonaws.com" });
    const policy = JSON.parse(one(T.rolePolicy, "stat").inputs.policy);
    expect(policy.Statement[0].Action).toEqual(["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]);
    expect(one(T.taskDefinition, "stat").inputs.taskRoleArn).toBe(arn(T.role, "stat-task-4f7a2c1"));
    expect(one(T.service, "stat").inputs.enableExecuteCommand).toBe(true);
  });

  it("runs one task per instance: distinctInstance, a deployment that may stop a task first, no load balancer", () => {
    const s = one(T.service, "stat");
    expect(s.inputs).toMatchObject({
      cluster: arn(T.cluster, "demo-stat"),
      taskDefinition: arn(T.taskDefinition, "stat-4f7a2c1"),
      desiredCount: 2,
      placementConstraints: [{ type: "distinctInstance" }],
      capacityProviderStrategies: [{ capacityProvider: "stat-4f7a2c1", weight: 1, base: 0 }],
      deploymentMinimumHealthyPercent: 50,
      deploymentMaximumPercent: 100,
    });
    expect(s.inputs.launchType).toBeUndefined();
    expect(s.inputs.loadBalancers).toBeUndefined();
    expect(ofType(T.lb, "stat")).toEqual([]);
    expect(ofType(T.ingress, "stat")).toEqual([]);
    // The service waits for the capacity provider to be attached to the cluster.
    expect(s.dependencies).toContain(one(T.clusterCapacityProviders, "stat").urn);
    expect(svc.url).toBeUndefined();
    expect(s.inputs.waitForSteadyState).toBeUndefined();
  });

  it("exposes its container instances: the auto scaling group's, by its tag, sorted (EcsHostCheck's instanceIds)", async () => {
    expect(await value(svc.instanceIds!)).toEqual(INSTANCE_IDS);
    expect(invoked.filter((i) => i.token === "aws:ec2/getInstances:getInstances").map((i) => i.inputs)).toContainEqual({
      instanceTags: { "aws:autoscaling:groupName": "stat-4f7a2c1" },
      instanceStateNames: ["pending", "running"],
    });
  });
});

describe("EcsBridgeService, new cluster, dynamic host ports", () => {
  let svc: EcsBridgeService;
  beforeAll(async () => {
    svc = new EcsBridgeService("dyn", { ...net, containers: nginx(0), desiredCount: 3, capacity: { instanceCount: 1, instanceType: "t3.medium" } });
    await settle();
  });

  it("writes hostPort 0 explicitly and places no constraint", () => {
    expect(JSON.parse(one(T.taskDefinition, "dyn").inputs.containerDefinitions)[0].portMappings).toEqual([{ containerPort: 80, hostPort: 0, protocol: "tcp" }]);
    const s = one(T.service, "dyn").inputs;
    expect(s.placementConstraints).toEqual([]);
    expect(s.desiredCount).toBe(3);
    expect(s.deploymentMinimumHealthyPercent).toBe(100);
    expect(s.deploymentMaximumPercent).toBe(200);
    expect(s.enableExecuteCommand).toBe(false);
    expect(ofType(T.role, "dyn").map((r) => r.name)).toEqual(["dyn-instance"]);
  });

  it("puts an ALB in front: target group of type instance, a listener forwarding to it", () => {
    const tg = one(T.targetGroup, "dyn").inputs;
    expect(tg).toMatchObject({ targetType: "instance", protocol: "HTTP", port: 80, vpcId: "vpc-1", healthCheck: { path: "/", protocol: "HTTP", matcher: "200-399" } });
    const lb = one(T.lb, "dyn").inputs;
    expect(lb).toMatchObject({ loadBalancerType: "application", internal: false, securityGroups: ["dyn-alb-id"], subnets: ["subnet-a", "subnet-b"] });
    expect(one(T.listener, "dyn").inputs).toMatchObject({
      loadBalancerArn: arn(T.lb, "dyn-4f7a2c1"),
      port: 80,
      protocol: "HTTP",
      defaultActions: [{ type: "forward", targetGroupArn: arn(T.targetGroup, "dyn-4f7a2c1") }],
    });
  });

  it("lets the ALB's security group into the instances on 32768–65535, and the world into the listener", () => {
    const ingress = ofType(T.ingress, "dyn");
    const fromAlb = ingress.find((r) => r.name === "dyn-instances-from-alb")!.inputs;
    expect(fromAlb).toMatchObject({ securityGroupId: "dyn-instances-id", referencedSecurityGroupId: "dyn-alb-id", ipProtocol: "tcp", fromPort: 32768, toPort: 65535 });
    expect(fromAlb.cidrIpv4).toBeUndefined();
    expect(ingress.find((r) => r.name === "dyn-alb-listener")!.inputs).toMatchObject({ securityGroupId: "dyn-alb-id", cidrIpv4: "0.0.0.0/0", fromPort: 80, toPort: 80, ipProtocol: "tcp" });
    expect(ofType(T.egress, "dyn").find((r) => r.name === "dyn-alb-to-instances")!.inputs).toMatchObject({
      securityGroupId: "dyn-alb-id",
      referencedSecurityGroupId: "dyn-instances-id",
      fromPort: 32768,
      toPort: 65535,
    });
    expect(one(T.sg, "dyn-instances").inputs.vpcId).toBe("vpc-1");
  });

  it("names the container's port in the service's loadBalancers entry and depends on the listener", async () => {
    const s = one(T.service, "dyn");
    expect(s.inputs.loadBalancers).toEqual([{ targetGroupArn: arn(T.targetGroup, "dyn-4f7a2c1"), containerName: "nginx", containerPort: 80 }]);
    expect(s.inputs.healthCheckGracePeriodSeconds).toBe(30);
    expect(s.dependencies).toContain(one(T.listener, "dyn").urn);
    expect(s.dependencies).toContain(ofType(T.ingress, "dyn").find((r) => r.name === "dyn-instances-from-alb")!.urn);
    expect(await value(svc.url!)).toBe("http://dyn-4f7a2c1-1234567890.eu-west-1.elb.amazonaws.com/");
  });
});

describe("EcsBridgeService, existing cluster", () => {
  it("by ARN with dynamic ports: no cluster or capacity resources, its capacity provider, its instances' security group opened", async () => {
    const clusterArn = "arn:aws:ecs:eu-west-1:123456789012:cluster/staging";
    const amiLookups = invoked.filter((i) => i.token === "aws:ssm/getParameter:getParameter").length;
    new EcsBridgeService("ext-dyn", { ...net, cluster: clusterArn, capacityProvider: "staging-cp", instanceSecurityGroupId: "sg-instances", containers: nginx(0), desiredCount: 4 });
    await settle();
    for (const t of [T.cluster, T.launchTemplate, T.asg, T.capacityProvider, T.clusterCapacityProviders, T.profile]) expect(ofType(t, "ext-dyn")).toEqual([]);
    expect(invoked.filter((i) => i.token === "aws:ssm/getParameter:getParameter")).toHaveLength(amiLookups); // no AMI: no instances of ours
    const s = one(T.service, "ext-dyn").inputs;
    expect(s).toMatchObject({ cluster: clusterArn, capacityProviderStrategies: [{ capacityProvider: "staging-cp", weight: 1, base: 0 }], desiredCount: 4 });
    expect(ofType(T.ingress, "ext-dyn").find((r) => r.name === "ext-dyn-instances-from-alb")!.inputs).toMatchObject({
      securityGroupId: "sg-instances",
      referencedSecurityGroupId: "ext-dyn-alb-id",
      fromPort: 32768,
      toPort: 65535,
    });
  });

  it("by name with a static port: launch type EC2, distinctInstance, bounded by instanceCount", async () => {
    new EcsBridgeService("ext-stat", { ...net, cluster: "staging", instanceCount: 3, containers: nginx(8080), desiredCount: 3 });
    await settle();
    const s = one(T.service, "ext-stat").inputs;
    expect(s).toMatchObject({ cluster: "staging", launchType: "EC2", placementConstraints: [{ type: "distinctInstance" }], desiredCount: 3, deploymentMinimumHealthyPercent: 66, deploymentMaximumPercent: 100 });
    expect(s.capacityProviderStrategies).toBeUndefined();
  });

  it("has no instances of its own to expose; waitForSteadyState reaches the service", async () => {
    const svc = new EcsBridgeService("ext-wait", { ...net, cluster: "staging", containers: nginx(0), loadBalancer: false, waitForSteadyState: true });
    await settle();
    expect(svc.instanceIds).toBeUndefined();
    expect(one(T.service, "ext-wait").inputs.waitForSteadyState).toBe(true);
  });
});

describe("EcsBridgeService refuses, at construction, before declaring anything", () => {
  const parent = new pulumi.ComponentResource("test:index:Lab", "lab");
  const refuse = (name: string, args: object) => {
    const before = registered.length;
    let error: unknown;
    try {
      new EcsBridgeService(name, { ...net, containers: nginx(8080), ...args } as never, { parent });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EcsValidationError);
    expect(registered.slice(before).filter((r) => r.name.startsWith(name))).toEqual([]);
    return (error as Error).message;
  };

  it("desiredCount above the instance count with a static port, saying why, with the construct path", () => {
    expect(refuse("too-many", { desiredCount: 3, capacity: { instanceCount: 2 } })).toBe(
      "EcsBridgeService [lab/too-many] desiredCount 3 is above the 2 container instances of the new cluster: with static host port 8080 (containers[0].portMappings[0].hostPort) " +
        "each task needs a container instance of its own (placement constraint distinctInstance): two tasks on one instance would both bind tcp port 8080, " +
        'and Docker refuses the second with "Bind for 0.0.0.0:8080 failed: port is already allocated". Lower desiredCount to 2, raise capacity.instanceCount to 3, or use hostPort 0 (dynamic) behind the load balancer',
    );
  });

  it.each([
    ["reserved-22", { containers: nginx(22) }, "[lab/reserved-22] containers[0].portMappings[0].hostPort 22 is reserved on the container instance"],
    ["reserved-2376", { containers: nginx(2376) }, "[lab/reserved-2376] containers[0].portMappings[0].hostPort 2376 is reserved on the container instance"],
    ["reserved-51679", { containers: nginx(51679) }, "[lab/reserved-51679] containers[0].portMappings[0].hostPort 51679 is reserved on the container instance"],
    ["ephemeral", { containers: nginx(32768) }, "[lab/ephemeral] containers[0].portMappings[0].hostPort 32768 lies in the ephemeral port range 32768–65535 (ECS's default ephemeral port range"],
    ["bad-host", { containers: nginx(65536) }, "[lab/bad-host] containers[0].portMappings[0].hostPort 65536 must be an integer from 1 to 65535 for a static port, or 0 for a dynamic one"],
    ["bad-container", { containers: [{ name: "n", image: "x", portMappings: [{ containerPort: -80 }] }] }, "[lab/bad-container] containers[0].portMappings[0].containerPort -80 must be an integer from 1 to 65535"],
    ["both-clusters", { cluster: "staging", capacity: {} }, "[lab/both-clusters] cluster and capacity conflict"],
    ["name-and-cluster", { cluster: "staging", clusterName: "x" }, "[lab/name-and-cluster] cluster and clusterName conflict"],
    ["count-twice", { capacity: {}, instanceCount: 2 }, "[lab/count-twice] instanceCount and capacity conflict"],
    ["no-sg", { cluster: "staging", containers: nginx(0) }, "[lab/no-sg] loadBalancer needs instanceSecurityGroupId with an existing cluster"],
  ])("%s", (name, args, message) => {
    expect(refuse(name, args)).toContain(message);
  });
});
