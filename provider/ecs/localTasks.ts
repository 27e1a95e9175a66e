import type { NormalizedContainer } from "./containerDefinitions";
import { portAllocatedMessage } from "./portRules";
import type { NormalizedPortMapping } from "./portRules";

/**
 * Tasks of ECS task definitions placed on one lab host, which plays a single container
 * instance: names, address order, and Docker's refusal of a static host port taken twice.
 * Pure. The realisation (a docker0-like bridge, one namespace per container) is the stack
 * ecs-bridge-local's.
 *
 * Names follow the agent's `ecs-FAMILY-REVISION-CONTAINER-HASH` without the revision and
 * hash: FAMILY-N-CONTAINER, N counting the family's tasks on the host from 1.
 */
export interface LocalTaskGroup {
  family: string;
  containers: NormalizedContainer[];
  /** How many tasks of this definition run on the host. */
  count: number;
}

export interface LocalContainer {
  /** "ecs-networking-demo-bridge-stat-1-nginx": its namespace's and process's name. */
  name: string;
  /** The container definition's name, "nginx". */
  container: string;
  image: string;
  portMappings: NormalizedPortMapping[];
  /** Address slot on the bridge: containers take 172.17.0.2, .3, … in task order, as Docker hands them out. */
  index: number;
}

export interface LocalTask {
  /** "ecs-networking-demo-bridge-stat-1" */
  id: string;
  family: string;
  containers: LocalContainer[];
}

export class LocalTaskError extends Error {}

/** Names the lab host's kernel objects accept: a namespace name is 1–64 safe characters. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export function planLocalTasks(groups: LocalTaskGroup[]): LocalTask[] {
  const tasks: LocalTask[] = [];
  const perFamily = new Map<string, number>();
  let slot = 0;
  const claimed: Array<{ task: string; container: string; hostPort: number; protocol: string }> = [];
  groups.forEach((g, gi) => {
    if (!Number.isInteger(g.count) || g.count < 0 || g.count > 50) throw new LocalTaskError(`tasks[${gi}].count ${JSON.stringify(g.count)} must be an integer from 0 to 50`);
    for (let t = 0; t < g.count; t++) {
      const n = (perFamily.get(g.family) ?? 0) + 1;
      perFamily.set(g.family, n);
      const id = `${g.family}-${n}`;
      const containers = g.containers.map((c): LocalContainer => {
        const name = `${id}-${c.name}`;
        if (!NAME.test(name)) throw new LocalTaskError(`tasks[${gi}]: container name ${JSON.stringify(name)} (FAMILY-N-CONTAINER) must be 1–64 letters, digits, '_', '.' or '-'; shorten the family or the container's name`);
        for (const m of c.portMappings) {
          if (m.hostPort === 0) continue;
          const before = claimed.find((x) => x.hostPort === m.hostPort && x.protocol === m.protocol);
          if (before) {
            throw new LocalTaskError(
              `task "${id}" container "${c.name}" hostPort ${m.hostPort}: ${portAllocatedMessage(m.hostPort)} ` +
                `(task "${before.task}" container "${before.container}" already publishes ${m.protocol} 0.0.0.0:${m.hostPort} on this host; ` +
                `one container instance runs one task per static host port: use hostPort 0, or another host)`,
            );
          }
          claimed.push({ task: id, container: c.name, hostPort: m.hostPort, protocol: m.protocol });
        }
        return { name, container: c.name, image: c.image, portMappings: c.portMappings, index: slot++ };
      });
      tasks.push({ id, family: g.family, containers });
    }
  });
  return tasks;
}

/**
 * `docker ps`'s PORTS column for a container: "0.0.0.0:32768->80/tcp", several joined
 * with ", " in mapping order.
 */
export function dockerPsPorts(published: Array<{ hostIp: string; hostPort: number; containerPort: number; protocol: string }>): string {
  return published.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(", ");
}
