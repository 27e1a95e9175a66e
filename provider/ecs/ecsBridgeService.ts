// Types only at load: @pulumi/aws (~300 modules) is required by the constructor, so programs that
// import bridgelab without an EcsBridgeService (every lab stack) do not load it.
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { containerDefinitionsJson } from "./containerDefinitions";
import { ECS_INSTANCE_POLICY_ARN, SSM_INSTANCE_POLICY_ARN, assumeRolePolicy, ecsExecPolicy } from "./iamPolicies";
import { PortMode, ServicePlan, planService } from "./servicePlan";
import type { EcsBridgeServiceArgs } from "./types";
import { ecsUserDataBase64 } from "./userData";

/**
 * An Amazon ECS service on EC2 in `bridge` network mode, on @pulumi/aws directly (awsx's ECS
 * components default to awsvpc and are remote components). What the seed's workshop does by
 * hand with `aws ecs register-task-definition` and `run-task`, as one component:
 *
 *   cluster      an existing one (`cluster`), or a new one with EC2 capacity: the ECS-optimized
 *                Amazon Linux 2023 AMI from its public SSM parameter, an instance profile with
 *                AmazonEC2ContainerServiceforEC2Role and AmazonSSMManagedInstanceCore, user data
 *                `echo ECS_CLUSTER=NAME >> /etc/ecs/ecs.config`, a launch template, an auto
 *                scaling group and a capacity provider attached to the cluster
 *   task         `networkMode: "bridge"`; every port mapping written with hostPort and protocol
 *   static ports (`hostPort: 8080`) one task per instance: placement `distinctInstance`, and a
 *                desiredCount above the instance count refused here, at preview, because the
 *                second task on an instance would fail with
 *                `Bind for 0.0.0.0:8080 failed: port is already allocated`
 *   dynamic      (`hostPort: 0`) an ALB whose target group has type `instance`; the service's
 *                loadBalancers entry names the container's port; the ALB's security group is let
 *                into the instances on the ephemeral range 32768–65535; the service waits for the
 *                listener (an ALB target group must be attached to a listener before ECS uses it)
 *   ECS Exec     optional: enableExecuteCommand and a task role with the ssmmessages actions
 *   instances    a new cluster's container instances (`instanceIds`), to verify the host side of
 *                the service in the same program with EcsHostCheck (over SSM):
 *
 *     const svc = new EcsBridgeService("web", { …, waitForSteadyState: true });
 *     new EcsHostCheck("web-hosts", { instanceIds: svc.instanceIds!, family: svc.plan.family,
 *       expectedTasks: svc.plan.desiredCount }, { dependsOn: [svc.service] });
 *
 *   new EcsBridgeService("web", { vpcId, subnetIds, desiredCount: 2,
 *     containers: [{ name: "nginx", image: "nginx:alpine", portMappings: [{ containerPort: 80, hostPort: 8080 }] }] });
 *
 * Arguments are checked in the constructor; an EcsValidationError lists every problem,
 * each naming the component's path, the field, the value and the rule.
 */
export class EcsBridgeService extends pulumi.ComponentResource {
  /** What the arguments resolved to (port mode, placement, deployment, load balancer). */
  readonly plan: ServicePlan;
  readonly portMode: PortMode;
  /** The cluster's name (or, with an existing cluster given by ARN, its ARN). */
  readonly clusterName: pulumi.Output<string>;
  /** The cluster's ARN (or, with an existing cluster given by name, its name). */
  readonly clusterArn: pulumi.Output<string>;
  readonly cluster?: aws.ecs.Cluster;
  readonly instanceRole?: aws.iam.Role;
  readonly instanceProfile?: aws.iam.InstanceProfile;
  readonly instanceSecurityGroup?: aws.ec2.SecurityGroup;
  readonly launchTemplate?: aws.ec2.LaunchTemplate;
  readonly autoScalingGroup?: aws.autoscaling.Group;
  readonly capacityProvider?: aws.ecs.CapacityProvider;
  readonly clusterCapacityProviders?: aws.ecs.ClusterCapacityProviders;
  /** The AMI id read from the public SSM parameter (new cluster only). */
  readonly amiId?: pulumi.Output<string>;
  readonly taskRole?: aws.iam.Role;
  readonly taskDefinition: aws.ecs.TaskDefinition;
  /** The containerDefinitions JSON, exactly as registered. */
  readonly containerDefinitions: string;
  readonly loadBalancerSecurityGroup?: aws.ec2.SecurityGroup;
  readonly loadBalancer?: aws.lb.LoadBalancer;
  readonly targetGroup?: aws.lb.TargetGroup;
  readonly listener?: aws.lb.Listener;
  /** The instances' rule letting the load balancer in (the ephemeral range for dynamic ports). */
  readonly instanceIngress?: aws.vpc.SecurityGroupIngressRule;
  readonly service: aws.ecs.Service;
  /** "http://DNS:PORT/" of the load balancer, when there is one. */
  readonly url?: pulumi.Output<string>;
  /**
   * The new cluster's container instances: the EC2 ids (sorted) of its auto scaling group's
   * pending and running instances, read once the group has its capacity. They are SSM managed
   * nodes too (the instance profile has AmazonSSMManagedInstanceCore): EcsHostCheck's
   * `instanceIds`. Equivalent to
   * `aws ec2 describe-instances --filters Name=tag:aws:autoscaling:groupName,Values=GROUP`.
   * Absent with an existing cluster (give EcsHostCheck its instances yourself).
   */
  readonly instanceIds?: pulumi.Output<string[]>;

  constructor(name: string, args: EcsBridgeServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validated before anything registers: a refused service leaves nothing half-declared.
    const path = opts?.parent ? `${pulumi.resourceName(opts.parent)}/${name}` : name;
    const plan = planService(path, name, args);
    const awsm = loadAws(path);
    super("bridgelab:ecs:EcsBridgeService", name, {}, opts);
    this.plan = plan;
    this.portMode = plan.portMode;
    const tags = args.tags ?? {};
    const child = { parent: this };

    // The cluster and its capacity.
    let clusterRef: pulumi.Output<string>;
    let capacityProviderName: pulumi.Input<string> | undefined;
    let instanceSgId: pulumi.Input<string> | undefined;
    const waitFor: pulumi.Resource[] = [];
    if (plan.newCluster) {
      const nc = plan.newCluster;
      this.cluster = new awsm.ecs.Cluster(name, { name: nc.name, tags }, child);
      this.clusterName = this.cluster.name;
      this.clusterArn = this.cluster.arn;
      clusterRef = this.cluster.arn;
      this.amiId = awsm.ssm.getParameterOutput({ name: nc.amiParameter }, child).value;

      this.instanceRole = new awsm.iam.Role(`${name}-instance`, { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"), tags }, child);
      const attachments = [
        new awsm.iam.RolePolicyAttachment(`${name}-instance-ecs`, { role: this.instanceRole.name, policyArn: ECS_INSTANCE_POLICY_ARN }, child),
        new awsm.iam.RolePolicyAttachment(`${name}-instance-ssm`, { role: this.instanceRole.name, policyArn: SSM_INSTANCE_POLICY_ARN }, child),
      ];
      this.instanceProfile = new awsm.iam.InstanceProfile(`${name}-instance`, { role: this.instanceRole.name, tags }, child);

      this.instanceSecurityGroup = new awsm.ec2.SecurityGroup(
        `${name}-instances`,
        { vpcId: args.vpcId, description: `ECS container instances of ${nc.name} (bridge mode)`, tags },
        child,
      );
      instanceSgId = this.instanceSecurityGroup.id;
      new awsm.vpc.SecurityGroupEgressRule(
        `${name}-instances-egress`,
        { securityGroupId: this.instanceSecurityGroup.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "ECS agent, SSM, image pulls", tags },
        child,
      );

      this.launchTemplate = new awsm.ec2.LaunchTemplate(
        name,
        {
          imageId: this.amiId,
          instanceType: nc.instanceType,
          iamInstanceProfile: { arn: this.instanceProfile.arn },
          vpcSecurityGroupIds: [this.instanceSecurityGroup.id],
          userData: this.cluster.name.apply(ecsUserDataBase64),
          // IMDSv2 only, one hop: bridge-mode containers (one hop further) cannot take the instance's credentials.
          metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
          ...(args.capacity?.keyName !== undefined ? { keyName: args.capacity.keyName } : {}),
          updateDefaultVersion: true,
          tagSpecifications: [{ resourceType: "instance", tags: { ...tags, Name: `${nc.name}-ecs` } }],
          tags,
        },
        { parent: this, dependsOn: attachments },
      );
      this.autoScalingGroup = new awsm.autoscaling.Group(
        name,
        {
          vpcZoneIdentifiers: args.subnetIds,
          minSize: nc.instanceCount,
          maxSize: nc.instanceCount,
          desiredCapacity: nc.instanceCount,
          launchTemplate: { id: this.launchTemplate.id, version: "$Latest" },
          healthCheckType: "EC2",
          // ECS tags the group it manages; declaring the tag keeps `up` from removing it.
          tags: [
            { key: "AmazonECSManaged", value: "true", propagateAtLaunch: true },
            ...Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
          ],
        },
        child,
      );
      this.capacityProvider = new awsm.ecs.CapacityProvider(
        name,
        {
          autoScalingGroupProvider: {
            autoScalingGroupArn: this.autoScalingGroup.arn,
            managedTerminationProtection: "DISABLED",
            managedScaling: { status: "DISABLED" },
          },
          tags,
        },
        child,
      );
      capacityProviderName = this.capacityProvider.name;
      this.clusterCapacityProviders = new awsm.ecs.ClusterCapacityProviders(
        name,
        {
          clusterName: this.cluster.name,
          capacityProviders: [this.capacityProvider.name],
          defaultCapacityProviderStrategies: [{ capacityProvider: this.capacityProvider.name, weight: 1, base: 0 }],
        },
        child,
      );
      waitFor.push(this.clusterCapacityProviders);
      // The group's create returns once its instances are InService (waitForCapacityTimeout), so
      // they are there to be read; their ids change only when instances are replaced.
      this.instanceIds = awsm.ec2
        .getInstancesOutput({ instanceTags: { "aws:autoscaling:groupName": this.autoScalingGroup.name }, instanceStateNames: ["pending", "running"] }, child)
        .apply((r) => [...r.ids].sort());
    } else {
      clusterRef = pulumi.output(args.cluster!);
      this.clusterName = clusterRef;
      this.clusterArn = clusterRef;
      capacityProviderName = args.capacityProvider;
      instanceSgId = args.instanceSecurityGroupId;
    }

    // The task definition.
    if (plan.enableExecuteCommand) {
      this.taskRole = new awsm.iam.Role(`${name}-task`, { assumeRolePolicy: assumeRolePolicy("ecs-tasks.amazonaws.com"), tags }, child);
      waitFor.push(new awsm.iam.RolePolicy(`${name}-task-exec`, { role: this.taskRole.id, policy: ecsExecPolicy() }, child));
    }
    this.containerDefinitions = containerDefinitionsJson(plan.containers);
    this.taskDefinition = new awsm.ecs.TaskDefinition(
      name,
      {
        family: plan.family,
        networkMode: "bridge",
        requiresCompatibilities: ["EC2"],
        containerDefinitions: this.containerDefinitions,
        ...(this.taskRole ? { taskRoleArn: this.taskRole.arn } : {}),
        ...(args.executionRoleArn !== undefined ? { executionRoleArn: args.executionRoleArn } : {}),
        tags,
      },
      child,
    );

    // The load balancer.
    const lb = plan.loadBalancer;
    if (lb) {
      const range = `${lb.instanceIngress.fromPort}–${lb.instanceIngress.toPort}`;
      this.loadBalancerSecurityGroup = new awsm.ec2.SecurityGroup(`${name}-alb`, { vpcId: args.vpcId, description: `load balancer of ${path}`, tags }, child);
      lb.allowedCidrs.forEach(
        (cidr, i) =>
          new awsm.vpc.SecurityGroupIngressRule(
            `${name}-alb-listener${lb.allowedCidrs.length > 1 ? `-${i}` : ""}`,
            { securityGroupId: this.loadBalancerSecurityGroup!.id, ipProtocol: "tcp", fromPort: lb.listenerPort, toPort: lb.listenerPort, cidrIpv4: cidr, description: "listener", tags },
            child,
          ),
      );
      new awsm.vpc.SecurityGroupEgressRule(
        `${name}-alb-to-instances`,
        {
          securityGroupId: this.loadBalancerSecurityGroup.id,
          ipProtocol: "tcp",
          fromPort: lb.instanceIngress.fromPort,
          toPort: lb.instanceIngress.toPort,
          referencedSecurityGroupId: instanceSgId!,
          description: `to the tasks' host ports (${range})`,
          tags,
        },
        child,
      );
      this.instanceIngress = new awsm.vpc.SecurityGroupIngressRule(
        `${name}-instances-from-alb`,
        {
          securityGroupId: instanceSgId!,
          ipProtocol: "tcp",
          fromPort: lb.instanceIngress.fromPort,
          toPort: lb.instanceIngress.toPort,
          referencedSecurityGroupId: this.loadBalancerSecurityGroup.id,
          description: lb.hostPort === 0 ? `ECS dynamic host ports ${range} (bridge mode) from the load balancer` : `host port ${lb.hostPort} from the load balancer`,
          tags,
        },
        child,
      );
      waitFor.push(this.instanceIngress);
      this.loadBalancer = new awsm.lb.LoadBalancer(
        name,
        {
          loadBalancerType: "application",
          internal: lb.internal,
          securityGroups: [this.loadBalancerSecurityGroup.id],
          subnets: args.loadBalancer ? (args.loadBalancer.subnetIds ?? args.subnetIds) : args.subnetIds,
          tags,
        },
        child,
      );
      this.targetGroup = new awsm.lb.TargetGroup(
        name,
        {
          // ECS registers each task as instance-id:host-port; the group's own port is only a default.
          targetType: "instance",
          port: lb.hostPort || lb.containerPort,
          protocol: "HTTP",
          vpcId: args.vpcId,
          deregistrationDelay: 30,
          healthCheck: { path: lb.healthCheckPath, protocol: "HTTP", matcher: "200-399" },
          tags,
        },
        child,
      );
      this.listener = new awsm.lb.Listener(
        name,
        {
          loadBalancerArn: this.loadBalancer.arn,
          port: lb.listenerPort,
          protocol: "HTTP",
          defaultActions: [{ type: "forward", targetGroupArn: this.targetGroup.arn }],
          tags,
        },
        child,
      );
      waitFor.push(this.listener);
      this.url = pulumi.interpolate`http://${this.loadBalancer.dnsName}${lb.listenerPort === 80 ? "" : `:${lb.listenerPort}`}/`;
    }

    // The service.
    this.service = new awsm.ecs.Service(
      name,
      {
        cluster: clusterRef,
        taskDefinition: this.taskDefinition.arn,
        desiredCount: plan.desiredCount,
        ...(capacityProviderName !== undefined ? { capacityProviderStrategies: [{ capacityProvider: capacityProviderName, weight: 1, base: 0 }] } : { launchType: "EC2" }),
        placementConstraints: plan.placementConstraints,
        deploymentMinimumHealthyPercent: plan.deployment.minimumHealthyPercent,
        deploymentMaximumPercent: plan.deployment.maximumPercent,
        enableExecuteCommand: plan.enableExecuteCommand,
        ...(args.waitForSteadyState ? { waitForSteadyState: true } : {}),
        ...(lb && this.targetGroup
          ? {
              loadBalancers: [{ targetGroupArn: this.targetGroup.arn, containerName: lb.containerName, containerPort: lb.containerPort }],
              healthCheckGracePeriodSeconds: 30,
            }
          : {}),
        tags,
      },
      { parent: this, dependsOn: waitFor },
    );

    this.registerOutputs({
      clusterName: this.clusterName,
      clusterArn: this.clusterArn,
      portMode: this.portMode,
      taskDefinitionArn: this.taskDefinition.arn,
      containerDefinitions: this.containerDefinitions,
      serviceName: this.service.name,
      ...(this.url ? { url: this.url } : {}),
      ...(this.instanceIds ? { instanceIds: this.instanceIds } : {}),
    });
  }
}

/** @pulumi/aws, an optional peer dependency: only EcsBridgeService needs it, and then says so. */
function loadAws(path: string): typeof import("@pulumi/aws") {
  try {
    return require("@pulumi/aws") as typeof import("@pulumi/aws");
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === "MODULE_NOT_FOUND" && String(err.message).includes("'@pulumi/aws'")) {
      throw new Error(`EcsBridgeService [${path}] needs @pulumi/aws, an optional peer dependency of bridgelab: install it in the project (\`npm install @pulumi/aws@^7\`)`);
    }
    throw e;
  }
}
