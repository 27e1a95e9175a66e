import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EcsBridgeService } from "../provider/ecs/ecsBridgeService";
import { EcsHostCheck } from "../provider/resources/ecsHostCheck";
import type { EcsBridgeServiceArgs } from "../provider/ecs/types";
import { loadTaskDefinition } from "./taskDefinitionConfig";

/**
 * Lab "ecs-bridge": seed 000's two exercises on Amazon ECS (EC2 launch type, network mode
 * bridge), as an EcsBridgeService:
 *
 *   variant static   ecs-networking-demo-bridge-stat: nginx:alpine, hostPort 8080 → 80/tcp;
 *                    one task per instance (distinctInstance), desiredCount = instanceCount
 *   variant dynamic  ecs-networking-demo-bridge-dyn: hostPort 0 → 80/tcp; more tasks than
 *                    instances, each on a port from 32768–65535, behind an ALB (target type
 *                    instance, the ALB's security group let into the instances on that range)
 *
 * Both with ECS Exec on, as the seed uses it (`aws ecs execute-command … --command "/bin/sh"`).
 *
 * Config (bridgelab:KEY), all optional:
 *   variant static | dynamic · taskDefinitionFile · taskDefinition (one of the three; see taskDefinitionConfig.ts)
 *   name ecs-networking-demo (the component, the new cluster, resource names)
 *   cluster: an existing cluster's name or ARN (then instanceCount counts its instances,
 *            capacityProvider and instanceSecurityGroupId are its own); otherwise a new cluster:
 *   instanceType t3.small · instanceCount 2 · keyName
 *   desiredCount: static = instanceCount, dynamic = instanceCount + 1
 *   vpcId, subnetIds (a list): default the region's default VPC and its subnets
 *   enableExecuteCommand true · listenerPort 80 · allowedCidrs ["0.0.0.0/0"]
 *   hostCheck: verify the container instances with EcsHostCheck over SSM, in the same `up`
 *            (seed 000's docker ps / docker-proxy / iptables -t nat -S DOCKER on each instance):
 *            true by default with a new cluster; with an existing one it needs
 *   instanceIds: the existing cluster's container instances (EC2 ids, a list)
 * and aws:region.
 *
 * With the host check, the service waits for steady state (its tasks running), then
 * EcsHostCheck reads every instance: each task's host port, its DNAT rule and docker-proxy,
 * and desiredCount tasks of the family across the instances.
 */
export function ecsBridge(config: pulumi.Config): Record<string, pulumi.Output<unknown>> {
  const td = loadTaskDefinition(
    { variant: config.get("variant"), taskDefinitionFile: config.get("taskDefinitionFile"), taskDefinition: config.getObject("taskDefinition") },
    "bridgelab:",
    "static",
  );
  const name = config.get("name") ?? "ecs-networking-demo";
  const cluster = config.get("cluster");
  const instanceCount = config.getNumber("instanceCount") ?? (cluster === undefined ? 2 : undefined);
  const dynamic = td.normalized.every((c) => c.portMappings.every((m) => m.hostPort === 0));
  const desiredCount = config.getNumber("desiredCount") ?? (instanceCount === undefined ? 1 : dynamic ? instanceCount + 1 : instanceCount);

  // The network: given, or the region's default VPC.
  const vpcIdConfig = config.get("vpcId");
  const vpcId: pulumi.Input<string> = vpcIdConfig ?? aws.ec2.getVpcOutput({ default: true }).id;
  const subnetIds: pulumi.Input<pulumi.Input<string>[]> =
    config.getObject<string[]>("subnetIds") ?? aws.ec2.getSubnetsOutput({ filters: [{ name: "vpc-id", values: [vpcId] }] }).ids;

  const instanceIdsConfig = config.getObject<string[]>("instanceIds");
  const hostCheck = config.getBoolean("hostCheck") ?? (cluster === undefined || instanceIdsConfig !== undefined);
  if (hostCheck && cluster !== undefined && instanceIdsConfig === undefined) {
    throw new Error("bridgelab:hostCheck with an existing cluster (bridgelab:cluster) needs bridgelab:instanceIds, its container instances' EC2 ids; or set bridgelab:hostCheck false");
  }
  if (instanceIdsConfig !== undefined && cluster === undefined) {
    throw new Error("bridgelab:instanceIds is for an existing cluster (bridgelab:cluster): a new cluster's instances are its own auto scaling group's");
  }

  const listenerPort = config.getNumber("listenerPort");
  const allowedCidrs = config.getObject<string[]>("allowedCidrs");
  const args: EcsBridgeServiceArgs = {
    vpcId,
    subnetIds,
    family: td.family,
    containers: td.containers,
    desiredCount,
    enableExecuteCommand: config.getBoolean("enableExecuteCommand") ?? true,
    ...(hostCheck ? { waitForSteadyState: true } : {}),
  };
  if (cluster !== undefined) {
    args.cluster = cluster;
    if (instanceCount !== undefined) args.instanceCount = instanceCount;
    const cp = config.get("capacityProvider");
    if (cp !== undefined) args.capacityProvider = cp;
    const sg = config.get("instanceSecurityGroupId");
    if (sg !== undefined) args.instanceSecurityGroupId = sg;
  } else {
    args.clusterName = name;
    args.capacity = { instanceType: config.get("instanceType") ?? "t3.small", instanceCount: instanceCount! };
    const keyName = config.get("keyName");
    if (keyName !== undefined) args.capacity.keyName = keyName;
  }
  if (listenerPort !== undefined || allowedCidrs !== undefined) {
    args.loadBalancer = { ...(listenerPort !== undefined ? { listenerPort } : {}), ...(allowedCidrs !== undefined ? { allowedCidrs } : {}) };
  }

  const svc = new EcsBridgeService(name, args);
  const container = td.containers[0].name;
  const check = hostCheck
    ? new EcsHostCheck(
        `${name}-hosts`,
        {
          instanceIds: svc.instanceIds ?? instanceIdsConfig!,
          ...(aws.config.region ? { region: aws.config.region } : {}),
          family: svc.plan.family,
          expectedTasks: svc.plan.desiredCount,
        },
        { dependsOn: [svc.service] },
      )
    : undefined;
  return {
    variant: pulumi.output(dynamic ? "dynamic" : "static"),
    taskDefinitionSource: pulumi.output(td.source),
    ...(td.ignored.length > 0 ? { taskDefinitionIgnored: pulumi.output(td.ignored) } : {}),
    family: pulumi.output(td.family),
    networkMode: svc.taskDefinition.networkMode,
    containerDefinitions: pulumi.output(JSON.parse(svc.containerDefinitions) as unknown),
    portMode: pulumi.output(svc.portMode),
    placementConstraints: pulumi.output(svc.plan.placementConstraints),
    desiredCount: pulumi.output(svc.plan.desiredCount),
    instanceCount: pulumi.output(svc.plan.instanceCount ?? null),
    clusterName: svc.clusterName,
    serviceName: svc.service.name,
    taskDefinitionArn: svc.taskDefinition.arn,
    ...(svc.amiId ? { amiId: svc.amiId } : {}),
    ...(svc.url ? { url: svc.url } : {}),
    // Seed 000's checks: inside a task over ECS Exec, and on the instance over SSM (see EcsHostCheck).
    execCommand: pulumi.interpolate`aws ecs execute-command --cluster ${svc.clusterName} --task TASK_ID --container ${container} --command "/bin/sh" --interactive`,
    hostCommands: pulumi.output(["docker ps", "netstat -tulpn | grep docker-proxy", "docker network inspect bridge", "ip a sh docker0", "iptables -t nat -S DOCKER"]),
    ...(check ? { instanceIds: pulumi.output(svc.instanceIds ?? instanceIdsConfig!), hostCheck: check.summary, hostPorts: check.hostPorts } : {}),
  };
}
