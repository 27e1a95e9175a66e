import { EcsValidationError } from "../../../provider/ecs/ecsValidationError";
import { planService, staticDeployment } from "../../../provider/ecs/servicePlan";
import type { EcsBridgeServiceArgs } from "../../../provider/ecs/types";

// What EcsBridgeService decides from its arguments alone, and every argument it refuses. Pure.
const net = { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"] };
const nginx = (hostPort: number) => [{ name: "nginx", image: "nginx:alpine", portMappings: [{ containerPort: 80, hostPort }] }];
const plan = (args: Partial<EcsBridgeServiceArgs>, name = "web") => planService(`stack/${name}`, name, { ...net, containers: nginx(8080), ...args } as EcsBridgeServiceArgs);
/** The problems of a refused plan. */
function problems(args: Partial<EcsBridgeServiceArgs>): string[] {
  try {
    plan(args);
  } catch (e) {
    expect(e).toBeInstanceOf(EcsValidationError);
    return (e as EcsValidationError).problems;
  }
  throw new Error("the plan was accepted");
}

describe("planService", () => {
  it("static ports: distinctInstance, a new cluster of 2, no load balancer, a deployment that can stop a task first", () => {
    const p = plan({ desiredCount: 2 });
    expect(p).toMatchObject({
      path: "stack/web",
      family: "web",
      portMode: "static",
      staticPorts: [{ field: "containers[0].portMappings[0]", container: "nginx", hostPort: 8080, protocol: "tcp" }],
      desiredCount: 2,
      newCluster: { name: "web", instanceType: "t3.small", instanceCount: 2, amiParameter: "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id" },
      instanceCount: 2,
      placementConstraints: [{ type: "distinctInstance" }],
      deployment: { minimumHealthyPercent: 50, maximumPercent: 100 },
      enableExecuteCommand: false,
    });
    expect(p.loadBalancer).toBeUndefined();
  });

  it("dynamic ports: no placement constraint, an ALB on the container's port, the ephemeral range opened", () => {
    const p = plan({ containers: nginx(0), desiredCount: 5, capacity: { instanceCount: 1 } });
    expect(p.portMode).toBe("dynamic");
    expect(p.placementConstraints).toEqual([]);
    expect(p.deployment).toEqual({ minimumHealthyPercent: 100, maximumPercent: 200 });
    expect(p.loadBalancer).toEqual({
      containerName: "nginx",
      containerPort: 80,
      hostPort: 0,
      listenerPort: 80,
      internal: false,
      allowedCidrs: ["0.0.0.0/0"],
      healthCheckPath: "/",
      instanceIngress: { fromPort: 32768, toPort: 65535 },
    });
    expect(plan({ containers: nginx(0), loadBalancer: false }).loadBalancer).toBeUndefined();
    expect(plan({ containers: nginx(0), ephemeralPortRange: [49153, 65535] }).loadBalancer!.instanceIngress).toEqual({ fromPort: 49153, toPort: 65535 });
  });

  it("a load balancer in front of static ports opens only the host port", () => {
    const p = plan({ loadBalancer: { listenerPort: 8000 } });
    expect(p.loadBalancer).toMatchObject({ containerPort: 80, hostPort: 8080, listenerPort: 8000, instanceIngress: { fromPort: 8080, toPort: 8080 } });
  });

  it("an existing cluster: the service's instance count comes from instanceCount", () => {
    const p = plan({ cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/staging", instanceCount: 3, desiredCount: 3 });
    expect(p.newCluster).toBeUndefined();
    expect(p.instanceCount).toBe(3);
    expect(p.deployment).toEqual({ minimumHealthyPercent: 66, maximumPercent: 100 });
    // One static task, instances unknown: it must stop before its replacement binds the port.
    expect(plan({ cluster: "staging" }).deployment).toEqual({ minimumHealthyPercent: 0, maximumPercent: 100 });
  });

  it("staticDeployment leaves room for one task to move", () => {
    expect(staticDeployment(1, 1)).toEqual({ minimumHealthyPercent: 0, maximumPercent: 100 });
    expect(staticDeployment(2, 2)).toEqual({ minimumHealthyPercent: 50, maximumPercent: 100 });
    expect(staticDeployment(3, 3)).toEqual({ minimumHealthyPercent: 66, maximumPercent: 100 });
    expect(staticDeployment(2, 3)).toEqual({ minimumHealthyPercent: 100, maximumPercent: 150 });
    expect(staticDeployment(2, 4)).toEqual({ minimumHealthyPercent: 100, maximumPercent: 200 });
    expect(staticDeployment(0, 2)).toEqual({ minimumHealthyPercent: 100, maximumPercent: 200 });
  });

  it("refuses desiredCount above the instance count with static ports, saying why", () => {
    const [p] = problems({ desiredCount: 3 });
    expect(p).toBe(
      "desiredCount 3 is above the 2 container instances of the new cluster: with static host port 8080 (containers[0].portMappings[0].hostPort) each task needs a container instance of its own " +
        '(placement constraint distinctInstance): two tasks on one instance would both bind tcp port 8080, and Docker refuses the second with "Bind for 0.0.0.0:8080 failed: port is already allocated". ' +
        "Lower desiredCount to 2, raise capacity.instanceCount to 3, or use hostPort 0 (dynamic) behind the load balancer",
    );
    expect(problems({ cluster: "staging", instanceCount: 1, desiredCount: 2 })[0]).toContain("desiredCount 2 is above the 1 container instance given by instanceCount: ");
    expect(problems({ cluster: "staging", desiredCount: 2 })[0]).toMatch(/^desiredCount 2 needs instanceCount with an existing cluster: .*port is already allocated/);
    // Dynamic ports have no such bound.
    expect(plan({ containers: nginx(0), desiredCount: 10, capacity: { instanceCount: 1 } }).desiredCount).toBe(10);
  });

  it("names the component's path in the error", () => {
    expect(() => plan({ containers: nginx(22) })).toThrow(
      "EcsBridgeService [stack/web] containers[0].portMappings[0].hostPort 22 is reserved on the container instance (ECS keeps 22 for SSH, 2375 and 2376 for the Docker daemon and 51678–51680 for the ECS agent)",
    );
    expect(() => plan({ containers: nginx(22), desiredCount: -1 })).toThrow(
      /^EcsBridgeService \[stack\/web\] is invalid:\n {2}\[stack\/web\] containers\[0\]\.portMappings\[0\]\.hostPort 22 .*\n {2}\[stack\/web\] desiredCount -1 must be an integer from 0 to 5000$/,
    );
  });

  it.each([
    [{ cluster: "staging", capacity: {} }, "cluster and capacity conflict: cluster uses an existing cluster, capacity builds a new one; give one of them"],
    [{ cluster: "staging", clusterName: "web" }, "cluster and clusterName conflict: cluster uses an existing cluster, clusterName names a new one; give one of them"],
    [{ capacity: {}, instanceCount: 2 }, "instanceCount and capacity conflict: instanceCount counts an existing cluster's instances, capacity.instanceCount sets the new cluster's; give one of them"],
    [{ instanceCount: 2 }, "instanceCount 2 needs cluster: it counts an existing cluster's instances"],
    [{ capacityProvider: "cp" }, "capacityProvider needs cluster: it names an existing cluster's capacity provider, and a new cluster makes its own"],
    [{ instanceSecurityGroupId: "sg-1" }, "instanceSecurityGroupId needs cluster: a new cluster makes its instances' security group"],
    [{ cluster: "staging", containers: nginx(0) }, "loadBalancer needs instanceSecurityGroupId with an existing cluster: the load balancer's security group must be let into the instances on 32768–65535"],
  ])("refuses conflicting arguments, naming both: %j", (args, message) => {
    expect(problems(args as Partial<EcsBridgeServiceArgs>)[0]).toContain(message);
  });

  it.each([
    [{ desiredCount: 1.5 }, "desiredCount 1.5 must be an integer from 0 to 5000"],
    [{ family: "my family" }, `family "my family" may hold only letters, digits, '-' and '_'`],
    [{ clusterName: "a/b" }, `clusterName "a/b" may hold only letters, digits, '-' and '_'`],
    [{ capacity: { instanceCount: 0 } }, "capacity.instanceCount 0 must be an integer from 1 to 1000"],
    [{ capacity: { instanceType: "large" } }, `capacity.instanceType "large" must be an EC2 instance type such as "t3.small"`],
    [{ capacity: { amiParameter: "ami-123" } }, `capacity.amiParameter "ami-123" must be an SSM parameter name starting with "/"`],
    [{ containers: nginx(40000) }, "containers[0].portMappings[0].hostPort 40000 lies in the ephemeral port range 32768–65535 (ECS's default ephemeral port range;"],
    [{ containers: nginx(2375) }, "containers[0].portMappings[0].hostPort 2375 is reserved on the container instance"],
    [{ containers: nginx(51680) }, "containers[0].portMappings[0].hostPort 51680 is reserved on the container instance"],
    [{ containers: nginx(70000) }, "containers[0].portMappings[0].hostPort 70000 must be an integer from 1 to 65535 for a static port, or 0 for a dynamic one"],
    [{ containers: [{ name: "n", image: "x", portMappings: [{ containerPort: 0 }] }] }, "containers[0].portMappings[0].containerPort 0 must be an integer from 1 to 65535"],
    [{ loadBalancer: { containerName: "db" } }, `loadBalancer.containerName "db" is not a container of this task; choose one of "nginx"`],
    [{ loadBalancer: { containerPort: 8080 } }, "loadBalancer.containerPort 8080 is not a containerPort of container \"nginx\" (it maps 80); the service's loadBalancers entry names the container's port, not a host port"],
    [{ loadBalancer: { listenerPort: 0 } }, "loadBalancer.listenerPort 0 must be an integer from 1 to 65535"],
    [{ loadBalancer: { allowedCidrs: ["10.0.0.0"] } }, `loadBalancer.allowedCidrs[0] "10.0.0.0" must be an IPv4 CIDR`],
    [{ loadBalancer: { healthCheckPath: "health" } }, `loadBalancer.healthCheckPath "health" must be a path starting with "/"`],
    [{ containers: [{ name: "n", image: "x" }], loadBalancer: {} }, "loadBalancer is given, but no container has a port mapping for it to send to"],
    [{ containers: [{ name: "n", image: "x", portMappings: [{ containerPort: 53, protocol: "udp" as const }] }], loadBalancer: {} }, `loadBalancer targets container "n" port 53/udp, but an Application Load Balancer speaks HTTP over tcp`],
    [{ reservedPorts: [99999] }, "reservedPorts[0] 99999 must be an integer from 1 to 65535"],
    [{ deploymentMinimumHealthyPercent: 120 }, "deploymentMinimumHealthyPercent 120 must be an integer from 0 to 100"],
    [{ deploymentMaximumPercent: 50 }, "deploymentMaximumPercent 50 must be an integer from 100 to 200"],
    [{ enableExecuteCommand: "yes" as never }, `enableExecuteCommand "yes" must be true or false`],
  ])("refuses %j, naming field, value and rule", (args, message) => {
    expect(problems(args as Partial<EcsBridgeServiceArgs>)[0]).toContain(message);
  });
});
