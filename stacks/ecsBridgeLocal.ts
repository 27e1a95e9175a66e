import * as pulumi from "@pulumi/pulumi";
import { Container, Network } from "../provider/components";
import type { ExposeSpec, PortSpec } from "../provider/components/container";
import { LocalTask, dockerPsPorts, planLocalTasks } from "../provider/ecs/localTasks";
import { helloServerCommand } from "../provider/host/helloServer";
import { connectionFromConfig } from "../provider/config/connectionFromConfig";
import { TaskDefinitionSource, loadTaskDefinition } from "./taskDefinitionConfig";
import { verificationFromConfig } from "./verification";

/**
 * Lab "ecs-bridge-local": seed 000's ECS task definitions realised on a lab host, which
 * plays one ECS container instance, with bridgelab's own resources instead of Docker:
 *
 *   docker0 on 172.17.0.0/16, gateway 172.17.0.1, egress NAT   (`docker network inspect bridge`)
 *   per task and container: a namespace with eth0 (172.17.0.2, .3, … in task order), a
 *   default route via 172.17.0.1, and a hello server on the containerPort (for nginx:alpine)
 *   per port mapping: a PortPublish, static (hostPort 8080) or dynamic (hostPort 0: a free
 *   port from the host's ip_local_port_range, as the ECS agent and Docker take one)
 *
 * Two tasks of one host on the same static host port fail at preview with Docker's
 * `Bind for 0.0.0.0:8080 failed: port is already allocated`: one container instance runs
 * one task per static host port, which is why ECS places such tasks with distinctInstance.
 *
 * Config (bridgelab:KEY), all optional:
 *   tasks     a list of { variant | taskDefinitionFile | taskDefinition, count (1) } (see
 *             taskDefinitionConfig.ts); default one static task and two dynamic ones:
 *             [{"variant":"static","count":1},{"variant":"dynamic","count":2}]
 *   networkName bridge · bridgeName docker0 · subnet 172.17.0.0/16 · mtu 1500
 *   and verification.ts's publicAddress, egressTarget, probeFromOutside, verify.
 *
 * Exports per task: each container's IP and its ports in `docker ps`'s PORTS form
 * ("0.0.0.0:32768->80/tcp"), the dynamic ones as allocated.
 */
export const DEFAULT_TASKS = [
  { variant: "static", count: 1 },
  { variant: "dynamic", count: 2 },
];

type TaskEntry = TaskDefinitionSource & { count?: number };

export interface LocalContainerOutput {
  /** FAMILY-N-CONTAINER: the namespace's and the process's name. */
  name: string;
  image: string;
  ipAddress: string;
  /** docker ps's PORTS column: "0.0.0.0:8080->80/tcp". */
  ports: string;
  /** "80/tcp" → the host port (the allocated one for hostPort 0). */
  hostPorts: Record<string, number>;
}

export function ecsBridgeLocal(config: pulumi.Config): Record<string, pulumi.Output<unknown>> {
  const connection = connectionFromConfig(config);
  const entries = config.getObject<TaskEntry[]>("tasks") ?? DEFAULT_TASKS;
  if (!Array.isArray(entries)) throw new Error(`bridgelab:tasks ${JSON.stringify(entries)} must be a list of { variant | taskDefinitionFile | taskDefinition, count }`);
  const ignored: string[] = [];
  const groups = entries.map((e, i) => {
    const where = `bridgelab:tasks[${i}].`;
    if (e === null || typeof e !== "object") throw new Error(`bridgelab:tasks[${i}] ${JSON.stringify(e)} must be an object { variant | taskDefinitionFile | taskDefinition, count }`);
    const td = loadTaskDefinition(e, where);
    ignored.push(...td.ignored.map((f) => `${td.source}: ${f}`));
    return { family: td.family, containers: td.normalized, count: e.count ?? 1 };
  });
  // Names, address order, and a static host port taken twice: refused here, at preview.
  const tasks = planLocalTasks(groups);

  const bridge = new Network("bridge", {
    connection,
    name: config.get("networkName") ?? "bridge",
    bridgeName: config.get("bridgeName") ?? "docker0",
    subnet: config.get("subnet") ?? "172.17.0.0/16",
    mtu: config.getNumber("mtu") ?? 1500,
  });

  const containers: Array<{ task: LocalTask; container: string; image: string; c: Container }> = [];
  for (const task of tasks) {
    for (const lc of task.containers) {
      // nginx:alpine's stand-in: a hello server on the first tcp containerPort.
      const served = lc.portMappings.find((m) => m.protocol === "tcp");
      const expose: ExposeSpec[] = served ? [{ port: served.containerPort, probe: "http" }] : [];
      const ports: PortSpec[] = lc.portMappings.map((m) => ({
        port: m.containerPort,
        hostPort: m.hostPort,
        protocol: m.protocol,
        probe: m === served ? "http" : "none",
      }));
      const c = new Container(lc.name, {
        connection,
        name: lc.name,
        network: { network: bridge, index: lc.index },
        ...(served ? { command: helloServerCommand(served.containerPort, `hello from ${lc.name}`) } : {}),
        expose,
        ports,
      });
      containers.push({ task, container: lc.container, image: lc.image, c });
    }
  }

  const perContainer = containers.map(({ task, container, image, c }) =>
    c.facts.apply((f) => {
      const ipAddress = (f.attachments[0]?.address ?? "").split("/")[0];
      const published = f.ports.map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.port, protocol: p.protocol }));
      const out: LocalContainerOutput = {
        name: f.name,
        image,
        ipAddress,
        ports: dockerPsPorts(published),
        hostPorts: Object.fromEntries(published.map((p) => [`${p.containerPort}/${p.protocol}`, p.hostPort])),
      };
      return { task: task.id, family: task.family, container, out };
    }),
  );
  const v = verificationFromConfig(
    config,
    connection,
    [bridge],
    containers.map((x) => x.c),
  );
  return {
    tasks: pulumi.all(perContainer).apply((list) => {
      const byTask: Record<string, { family: string; containers: Record<string, LocalContainerOutput> }> = {};
      for (const x of list) (byTask[x.task] ??= { family: x.family, containers: {} }).containers[x.container] = x.out;
      return byTask;
    }),
    dockerPs: pulumi.all(perContainer).apply((list) => list.map((x) => ({ names: x.out.name, image: x.out.image, ports: x.out.ports }))),
    network: bridge.inspect,
    ...(ignored.length > 0 ? { taskDefinitionIgnored: pulumi.output(ignored) } : {}),
    topology: v.topology,
    expectedPaths: v.expectedPaths,
    ...(v.verification ? { verification: v.verification, verificationSummary: v.verificationSummary! } : {}),
  };
}
