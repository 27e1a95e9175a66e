import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EcsBridgeService } from "bridgelab/ecs";

// nginx on Amazon ECS, EC2 launch type, network mode "bridge": each task's container gets a
// network namespace on docker0 of its instance, and its port 80 is published on a host port.
//   hostPort 8080  static:  every task binds 8080, so one task per instance
//   hostPort 0     dynamic: ECS picks a port from 32768-65535 per task; an ALB finds them
const config = new pulumi.Config();
const hostPort = config.getNumber("hostPort") ?? 8080;
const instanceCount = config.getNumber("instanceCount") ?? 2;

// The instances' network: given, or the region's default VPC and its subnets.
const vpcId = config.get("vpcId") ?? aws.ec2.getVpcOutput({ default: true }).id;
const subnetIds = config.getObject<string[]>("subnetIds") ?? aws.ec2.getSubnetsOutput({ filters: [{ name: "vpc-id", values: [vpcId] }] }).ids;

const service = new EcsBridgeService("ecs-networking-demo", {
  vpcId,
  subnetIds,
  capacity: { instanceType: config.get("instanceType") ?? "t3.small", instanceCount },
  containers: [{ name: "nginx", image: "nginx:alpine", memory: 128, portMappings: [{ containerPort: 80, hostPort }] }],
  desiredCount: config.getNumber("desiredCount") ?? (hostPort === 0 ? instanceCount + 1 : instanceCount),
  // `aws ecs execute-command --cluster … --task … --container nginx --interactive --command /bin/sh`
  enableExecuteCommand: true,
});

export const clusterName = service.clusterName;
export const serviceName = service.service.name;
export const portMode = service.portMode;
// The load balancer's address (dynamic ports); with static ports, each instance's port 8080.
export const url = service.url;
