import type * as pulumi from "@pulumi/pulumi";

/**
 * The arguments of EcsBridgeService and the shapes its pure parts share. Every optional
 * property says its default. Plain values (not Inputs) are the ones validated in the
 * constructor, so that a bad service fails at `pulumi preview`.
 */

export type EcsProtocol = "tcp" | "udp";

/**
 * One `portMappings` entry of a container definition, in bridge network mode.
 *
 *   { containerPort: 80, hostPort: 8080 }   static: `docker run -p 8080:80`, one task per instance
 *   { containerPort: 80 }                   dynamic: `-p 80`, the agent picks a host port from the
 *                                           ephemeral range, as many tasks per instance as fit
 */
export interface EcsPortMapping {
  /** The container's port, 1–65535. */
  containerPort: number;
  /** The container instance's port; 0 lets ECS pick one from the ephemeral range (dynamic). @default 0 */
  hostPort?: number;
  /** @default "tcp" */
  protocol?: EcsProtocol;
}

/** A container of the task definition (the fields bridge mode cares about). */
export interface EcsContainer {
  /** Letters, digits, '-' and '_', up to 255 (ECS's rule); unique in the task. */
  name: string;
  /** The image, e.g. "nginx:alpine". */
  image: string;
  /** Hard memory limit in MiB (EC2 tasks need this or memoryReservation). @default 128, unless memoryReservation is given */
  memory?: number;
  /** Soft memory limit in MiB. @default none */
  memoryReservation?: number;
  /** CPU units (1024 = one vCPU). @default 0 (a share of what is free) */
  cpu?: number;
  /** The task stops when this container stops. @default true */
  essential?: boolean;
  /** Overrides the image's CMD. @default the image's */
  command?: string[];
  /** Environment variables. @default {} */
  environment?: Record<string, string>;
  /** @default [] */
  portMappings?: EcsPortMapping[];
}

/** EC2 capacity for a new cluster: a launch template, an auto scaling group and a capacity provider. */
export interface EcsCapacityArgs {
  /** @default "t3.small" */
  instanceType?: string;
  /**
   * How many container instances run (the auto scaling group's min, max and desired size).
   * With static host ports this bounds desiredCount: one task per instance. @default 2
   */
  instanceCount?: number;
  /** An EC2 key pair for SSH. @default none (use SSM Session Manager) */
  keyName?: pulumi.Input<string>;
  /** The public SSM parameter holding the AMI id. @default the ECS-optimized Amazon Linux 2023 AMI (ECS_AMI_PARAMETER) */
  amiParameter?: string;
}

/** An Application Load Balancer in front of the service. */
export interface EcsLoadBalancerArgs {
  /** The container the target group sends to. @default the first container with a port mapping */
  containerName?: string;
  /** That container's port (its containerPort, never a host port). @default its first mapping's containerPort */
  containerPort?: number;
  /** The listener's port (HTTP). @default 80 */
  listenerPort?: number;
  /** Subnets of the load balancer (two availability zones at least). @default subnetIds */
  subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** An internal load balancer. @default false */
  internal?: boolean;
  /** Who may reach the listener. @default ["0.0.0.0/0"] */
  allowedCidrs?: string[];
  /** The target group's health check path. @default "/" */
  healthCheckPath?: string;
}

export interface EcsBridgeServiceArgs {
  /**
   * An existing cluster, by name or ARN. Conflicts with clusterName and capacity, which make
   * a new cluster. @default a new cluster with EC2 capacity
   */
  cluster?: pulumi.Input<string>;
  /** The new cluster's name. @default the component's name */
  clusterName?: string;
  /** The new cluster's EC2 capacity. @default { instanceType: "t3.small", instanceCount: 2 } */
  capacity?: EcsCapacityArgs;
  /**
   * With an existing cluster: how many container instances can run the service. Needed for
   * static host ports when desiredCount is above 1 (one task per instance). Conflicts with
   * capacity, whose instanceCount says it for a new cluster. @default unknown
   */
  instanceCount?: number;
  /** With an existing cluster: its capacity provider for the service. Conflicts with capacity. @default launch type EC2 */
  capacityProvider?: pulumi.Input<string>;
  /**
   * With an existing cluster and a load balancer: the instances' security group, opened to the
   * load balancer's. Conflicts with capacity (a new cluster makes its own). @default none
   */
  instanceSecurityGroupId?: pulumi.Input<string>;
  /** The VPC of the instances and the target group. */
  vpcId: pulumi.Input<string>;
  /** Subnets of the new cluster's instances (and of the load balancer unless it says otherwise). */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** The task definition's family. @default the component's name */
  family?: string;
  /** The task's containers; networkMode is always "bridge". */
  containers: EcsContainer[];
  /** How many tasks run. @default 1 */
  desiredCount?: number;
  /**
   * An Application Load Balancer (target group of type `instance`). `false`: none.
   * @default one when every host port is dynamic, none when one is static
   */
  loadBalancer?: EcsLoadBalancerArgs | false;
  /**
   * `up` waits until the service is stable (its tasks running, as `aws ecs wait services-stable`),
   * so that what comes after it — an EcsHostCheck of its instances — sees the tasks. @default false
   */
  waitForSteadyState?: boolean;
  /** ECS Exec (`aws ecs execute-command`): enableExecuteCommand and a task role with the ssmmessages actions. @default false */
  enableExecuteCommand?: boolean;
  /** The task execution role (pulling from ECR, logs). @default none: public images only */
  executionRoleArn?: pulumi.Input<string>;
  /** Host ports a task may not take. @default ECS's: 22, 2375, 2376, 51678, 51679, 51680 */
  reservedPorts?: number[];
  /**
   * The container instances' ephemeral port range, from which ECS picks dynamic host ports;
   * static host ports must stay out of it. @default [32768, 65535], ECS's default
   */
  ephemeralPortRange?: [number, number];
  /** @default 100 with a spare instance for every task, else low enough that one task per instance can stop first (static) */
  deploymentMinimumHealthyPercent?: number;
  /** @default 200, or as many tasks as there are instances (static) */
  deploymentMaximumPercent?: number;
  /** Tags on every resource that takes them. @default {} */
  tags?: Record<string, string>;
}
