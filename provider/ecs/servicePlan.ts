import * as ipaddr from "ipaddr.js";
import { ECS_NAME, NormalizedContainer, normalizeContainers } from "./containerDefinitions";
import { EcsValidationError } from "./ecsValidationError";
import { ECS_EPHEMERAL_PORT_RANGE, ECS_RESERVED_PORTS, NormalizedPortMapping, PortRules, portAllocatedMessage, portRuleProblems } from "./portRules";
import type { EcsBridgeServiceArgs } from "./types";
import { ECS_AMI_PARAMETER } from "./userData";

/**
 * Everything EcsBridgeService decides before it declares a resource, from its arguments
 * alone. Pure: no Pulumi, no AWS. Throws an EcsValidationError listing every problem.
 */
export type PortMode = "static" | "dynamic" | "none";

export interface StaticPort {
  /** "containers[0].portMappings[0]" */
  field: string;
  container: string;
  hostPort: number;
  protocol: string;
}

export interface LoadBalancerPlan {
  containerName: string;
  /** The container's port: what the service's loadBalancers entry names (never a host port). */
  containerPort: number;
  /** The mapping's host port: 0 when ECS picks it. */
  hostPort: number;
  listenerPort: number;
  internal: boolean;
  allowedCidrs: string[];
  healthCheckPath: string;
  /** What the instances' security group lets in from the load balancer's. */
  instanceIngress: { fromPort: number; toPort: number };
}

export interface ServicePlan {
  /** The component's path, "parent/name". */
  path: string;
  family: string;
  containers: NormalizedContainer[];
  /** static: some host port is fixed (one task per instance); dynamic: every host port is 0; none: no port mappings. */
  portMode: PortMode;
  staticPorts: StaticPort[];
  desiredCount: number;
  /** A new cluster's name and capacity; undefined with an existing cluster. */
  newCluster?: { name: string; instanceType: string; instanceCount: number; amiParameter: string };
  /** How many instances can run the service, when known. */
  instanceCount?: number;
  placementConstraints: Array<{ type: "distinctInstance" }>;
  deployment: { minimumHealthyPercent: number; maximumPercent: number };
  loadBalancer?: LoadBalancerPlan;
  enableExecuteCommand: boolean;
  rules: PortRules;
}

const show = (v: unknown) => JSON.stringify(v);
const isInt = (v: unknown, lo: number, hi = Number.MAX_SAFE_INTEGER): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;

/**
 * Deployment percentages. With static host ports a new task can only start on an instance
 * whose port is free, so when there is no spare instance per task the default 100/200
 * would never place a new task: ECS must be allowed to stop old tasks first. Pure.
 *
 *   desired 2 on 2 instances → min 50, max 100     desired 2 on 4 instances → min 100, max 200
 */
export function staticDeployment(desiredCount: number, instanceCount: number): { minimumHealthyPercent: number; maximumPercent: number } {
  if (desiredCount <= 0) return { minimumHealthyPercent: 100, maximumPercent: 200 };
  const maximumPercent = Math.max(100, Math.min(200, Math.floor((100 * instanceCount) / desiredCount)));
  const spare = instanceCount - desiredCount;
  const minimumHealthyPercent = spare >= 1 ? 100 : Math.floor((100 * (desiredCount - 1)) / desiredCount);
  return { minimumHealthyPercent, maximumPercent };
}

export function planService(path: string, name: string, args: EcsBridgeServiceArgs): ServicePlan {
  const problems: string[] = [];
  const a = (args ?? {}) as EcsBridgeServiceArgs;

  // Conflicting arguments: an existing cluster, or a new one.
  const existing = a.cluster !== undefined;
  if (existing && a.capacity !== undefined) problems.push(`cluster and capacity conflict: cluster uses an existing cluster, capacity builds a new one; give one of them`);
  if (existing && a.clusterName !== undefined) problems.push(`cluster and clusterName conflict: cluster uses an existing cluster, clusterName names a new one; give one of them`);
  if (a.capacity !== undefined && a.instanceCount !== undefined) {
    problems.push(`instanceCount and capacity conflict: instanceCount counts an existing cluster's instances, capacity.instanceCount sets the new cluster's; give one of them`);
  } else if (!existing && a.instanceCount !== undefined) {
    problems.push(`instanceCount ${show(a.instanceCount)} needs cluster: it counts an existing cluster's instances (a new cluster's come from capacity.instanceCount); give cluster, or move it to capacity.instanceCount`);
  }
  if (!existing && a.capacityProvider !== undefined) problems.push(`capacityProvider needs cluster: it names an existing cluster's capacity provider, and a new cluster makes its own; give cluster, or drop capacityProvider`);
  if (!existing && a.instanceSecurityGroupId !== undefined) {
    problems.push(`instanceSecurityGroupId needs cluster: a new cluster makes its instances' security group; give cluster, or drop instanceSecurityGroupId`);
  }

  // Names.
  const family = a.family ?? name;
  if (typeof family !== "string" || !ECS_NAME.test(family)) problems.push(`family ${show(family)} may hold only letters, digits, '-' and '_' (1–255 characters), as ECS requires${a.family === undefined ? " (it defaults to the component's name)" : ""}`);
  let newCluster: ServicePlan["newCluster"];
  if (!existing) {
    const clusterName = a.clusterName ?? name;
    if (typeof clusterName !== "string" || !ECS_NAME.test(clusterName)) {
      problems.push(`clusterName ${show(clusterName)} may hold only letters, digits, '-' and '_' (1–255 characters), as ECS requires${a.clusterName === undefined ? " (it defaults to the component's name)" : ""}`);
    }
    const c = a.capacity ?? {};
    const instanceType = c.instanceType ?? "t3.small";
    const instanceCount = c.instanceCount ?? 2;
    const amiParameter = c.amiParameter ?? ECS_AMI_PARAMETER;
    if (typeof instanceType !== "string" || !INSTANCE_TYPE.test(instanceType)) problems.push(`capacity.instanceType ${show(instanceType)} must be an EC2 instance type such as "t3.small"`);
    if (!isInt(instanceCount, 1, 1000)) problems.push(`capacity.instanceCount ${show(instanceCount)} must be an integer from 1 to 1000`);
    if (typeof amiParameter !== "string" || !amiParameter.startsWith("/")) problems.push(`capacity.amiParameter ${show(amiParameter)} must be an SSM parameter name starting with "/", e.g. ${show(ECS_AMI_PARAMETER)}`);
    newCluster = { name: clusterName, instanceType, instanceCount, amiParameter };
  } else if (a.instanceCount !== undefined && !isInt(a.instanceCount, 1)) {
    problems.push(`instanceCount ${show(a.instanceCount)} must be an integer of at least 1 (the container instances that can run the service)`);
  }
  const instanceCount = newCluster ? newCluster.instanceCount : a.instanceCount;

  // Containers and ports.
  const rp = portRuleProblems({ reservedPorts: a.reservedPorts, ephemeralPortRange: a.ephemeralPortRange });
  problems.push(...rp);
  const rules: PortRules = {
    reservedPorts: rp.some((p) => p.startsWith("reservedPorts")) ? ECS_RESERVED_PORTS : (a.reservedPorts ?? ECS_RESERVED_PORTS),
    ephemeralPortRange: rp.some((p) => p.startsWith("ephemeralPortRange")) ? ECS_EPHEMERAL_PORT_RANGE : (a.ephemeralPortRange ?? ECS_EPHEMERAL_PORT_RANGE),
  };
  const cs = normalizeContainers(a.containers, rules);
  problems.push(...cs.problems);
  const containers = cs.containers;
  const mappings: Array<{ field: string; container: string; m: NormalizedPortMapping }> = [];
  containers.forEach((c, i) => c.portMappings.forEach((m, k) => mappings.push({ field: `containers[${i}].portMappings[${k}]`, container: c.name, m })));
  const staticPorts: StaticPort[] = mappings.filter((x) => x.m.hostPort !== 0).map((x) => ({ field: x.field, container: x.container, hostPort: x.m.hostPort, protocol: x.m.protocol }));
  const portMode: PortMode = staticPorts.length > 0 ? "static" : mappings.length > 0 ? "dynamic" : "none";

  // How many tasks.
  const desiredCount = a.desiredCount ?? 1;
  if (!isInt(desiredCount, 0, 5000)) problems.push(`desiredCount ${show(desiredCount)} must be an integer from 0 to 5000`);
  else if (portMode === "static" && desiredCount > 1) {
    const first = staticPorts[0];
    const why =
      `with static host port ${first.hostPort} (${first.field}.hostPort) each task needs a container instance of its own (placement constraint distinctInstance): ` +
      `two tasks on one instance would both bind ${first.protocol} port ${first.hostPort}, and Docker refuses the second with "${portAllocatedMessage(first.hostPort)}"`;
    if (instanceCount === undefined) {
      problems.push(`desiredCount ${desiredCount} needs instanceCount with an existing cluster: ${why}; give instanceCount (how many instances of the cluster can run it), or use hostPort 0 (dynamic)`);
    } else if (isInt(instanceCount, 1) && desiredCount > instanceCount) {
      const more = newCluster ? "capacity.instanceCount" : "instanceCount";
      problems.push(
        `desiredCount ${desiredCount} is above the ${instanceCount} container instance${instanceCount === 1 ? "" : "s"} ${newCluster ? "of the new cluster" : "given by instanceCount"}: ${why}. ` +
          `Lower desiredCount to ${instanceCount}, raise ${more} to ${desiredCount}, or use hostPort 0 (dynamic) behind the load balancer`,
      );
    }
  }

  // Deployment.
  const computed = portMode === "static" && isInt(instanceCount, 1) && isInt(desiredCount, 0) ? staticDeployment(desiredCount, instanceCount) : { minimumHealthyPercent: 100, maximumPercent: 200 };
  if (portMode === "static" && instanceCount === undefined && isInt(desiredCount, 0)) {
    // One task whose instance count is unknown: it must stop before its replacement can bind the port.
    computed.minimumHealthyPercent = 0;
    computed.maximumPercent = 100;
  }
  const deployment = {
    minimumHealthyPercent: a.deploymentMinimumHealthyPercent ?? computed.minimumHealthyPercent,
    maximumPercent: a.deploymentMaximumPercent ?? computed.maximumPercent,
  };
  if (!isInt(deployment.minimumHealthyPercent, 0, 100)) problems.push(`deploymentMinimumHealthyPercent ${show(a.deploymentMinimumHealthyPercent)} must be an integer from 0 to 100`);
  if (!isInt(deployment.maximumPercent, 100, 200)) problems.push(`deploymentMaximumPercent ${show(a.deploymentMaximumPercent)} must be an integer from 100 to 200`);

  // Load balancer.
  let loadBalancer: LoadBalancerPlan | undefined;
  const lbArg = a.loadBalancer;
  const wantLb = lbArg === undefined ? portMode === "dynamic" : lbArg !== false;
  if (lbArg !== undefined && lbArg !== false && (lbArg === null || typeof lbArg !== "object")) {
    problems.push(`loadBalancer ${show(lbArg)} must be an object, or false for none`);
  } else if (wantLb) {
    const lb = lbArg || {};
    const candidates = containers.filter((c) => c.portMappings.length > 0);
    if (candidates.length === 0) {
      if (cs.problems.length === 0) problems.push(`loadBalancer is given, but no container has a port mapping for it to send to; add portMappings, or drop loadBalancer`);
    } else {
      const target = lb.containerName === undefined ? candidates[0] : containers.find((c) => c.name === lb.containerName);
      if (!target) {
        problems.push(`loadBalancer.containerName ${show(lb.containerName)} is not a container of this task; choose one of ${containers.map((c) => show(c.name)).join(", ")}`);
      } else if (target.portMappings.length === 0) {
        problems.push(`loadBalancer.containerName ${show(lb.containerName)} has no port mappings; the target group needs a containerPort to send to`);
      } else {
        const containerPort = lb.containerPort ?? target.portMappings[0].containerPort;
        const mapping = target.portMappings.find((m) => m.containerPort === containerPort);
        if (!mapping) {
          problems.push(
            `loadBalancer.containerPort ${show(lb.containerPort)} is not a containerPort of container ${show(target.name)} (it maps ${target.portMappings.map((m) => m.containerPort).join(", ")}); ` +
              `the service's loadBalancers entry names the container's port, not a host port`,
          );
        } else if (mapping.protocol !== "tcp") {
          problems.push(`loadBalancer targets container ${show(target.name)} port ${containerPort}/${mapping.protocol}, but an Application Load Balancer speaks HTTP over tcp`);
        } else {
          const [lo, hi] = rules.ephemeralPortRange;
          loadBalancer = {
            containerName: target.name,
            containerPort,
            hostPort: mapping.hostPort,
            listenerPort: lb.listenerPort ?? 80,
            internal: lb.internal ?? false,
            allowedCidrs: lb.allowedCidrs ?? ["0.0.0.0/0"],
            healthCheckPath: lb.healthCheckPath ?? "/",
            instanceIngress: mapping.hostPort === 0 ? { fromPort: lo, toPort: hi } : { fromPort: mapping.hostPort, toPort: mapping.hostPort },
          };
        }
      }
    }
    if (lb.listenerPort !== undefined && !isInt(lb.listenerPort, 1, 65535)) problems.push(`loadBalancer.listenerPort ${show(lb.listenerPort)} must be an integer from 1 to 65535`);
    if (lb.healthCheckPath !== undefined && (typeof lb.healthCheckPath !== "string" || !/^\/[\x21-\x7e]*$/.test(lb.healthCheckPath))) {
      problems.push(`loadBalancer.healthCheckPath ${show(lb.healthCheckPath)} must be a path starting with "/"`);
    }
    (lb.allowedCidrs ?? []).forEach((c, i) => {
      if (typeof c !== "string" || !ipaddr.IPv4.isValidCIDR(c)) problems.push(`loadBalancer.allowedCidrs[${i}] ${show(c)} must be an IPv4 CIDR such as "203.0.113.0/24" or "0.0.0.0/0"`);
    });
    if (existing && a.instanceSecurityGroupId === undefined) {
      problems.push(
        `loadBalancer needs instanceSecurityGroupId with an existing cluster: the load balancer's security group must be let into the instances` +
          `${loadBalancer ? ` on ${loadBalancer.instanceIngress.fromPort}–${loadBalancer.instanceIngress.toPort}` : ""}; give instanceSecurityGroupId, or loadBalancer: false`,
      );
    }
  }

  if (a.enableExecuteCommand !== undefined && typeof a.enableExecuteCommand !== "boolean") problems.push(`enableExecuteCommand ${show(a.enableExecuteCommand)} must be true or false`);

  if (problems.length > 0) throw new EcsValidationError(path, problems);
  const plan: ServicePlan = {
    path,
    family,
    containers,
    portMode,
    staticPorts,
    desiredCount,
    placementConstraints: portMode === "static" ? [{ type: "distinctInstance" }] : [],
    deployment,
    enableExecuteCommand: a.enableExecuteCommand ?? false,
    rules,
  };
  if (newCluster) plan.newCluster = newCluster;
  if (instanceCount !== undefined) plan.instanceCount = instanceCount;
  if (loadBalancer) plan.loadBalancer = loadBalancer;
  return plan;
}
