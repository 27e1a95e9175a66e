import { LocalTaskError, dockerPsPorts, planLocalTasks } from "../../../provider/ecs/localTasks";
import type { NormalizedContainer } from "../../../provider/ecs/containerDefinitions";

// Tasks placed on one lab host (one container instance). Pure.
const nginx = (hostPort: number): NormalizedContainer[] => [{ name: "nginx", image: "nginx:alpine", cpu: 0, memory: 128, essential: true, environment: [], portMappings: [{ containerPort: 80, hostPort, protocol: "tcp" }] }];

describe("planLocalTasks", () => {
  it("names tasks FAMILY-N, containers FAMILY-N-CONTAINER, address slots in task order", () => {
    const tasks = planLocalTasks([
      { family: "demo-stat", containers: nginx(8080), count: 1 },
      { family: "demo-dyn", containers: nginx(0), count: 2 },
    ]);
    expect(tasks.map((t) => [t.id, t.containers.map((c) => [c.name, c.index])])).toEqual([
      ["demo-stat-1", [["demo-stat-1-nginx", 0]]],
      ["demo-dyn-1", [["demo-dyn-1-nginx", 1]]],
      ["demo-dyn-2", [["demo-dyn-2-nginx", 2]]],
    ]);
    // The same family in two groups keeps counting.
    expect(planLocalTasks([{ family: "f", containers: nginx(0), count: 1 }, { family: "f", containers: nginx(0), count: 1 }]).map((t) => t.id)).toEqual(["f-1", "f-2"]);
  });

  it("refuses two tasks on one static host port with Docker's message", () => {
    expect(() => planLocalTasks([{ family: "demo-stat", containers: nginx(8080), count: 2 }])).toThrow(
      'task "demo-stat-2" container "nginx" hostPort 8080: Bind for 0.0.0.0:8080 failed: port is already allocated (task "demo-stat-1" container "nginx" already publishes tcp 0.0.0.0:8080 on this host;',
    );
    expect(() => planLocalTasks([{ family: "a", containers: nginx(8080), count: 1 }, { family: "b", containers: nginx(8080), count: 1 }])).toThrow(LocalTaskError);
  });

  it("refuses counts and names the host cannot take", () => {
    expect(() => planLocalTasks([{ family: "f", containers: nginx(0), count: -1 }])).toThrow("tasks[0].count -1 must be an integer from 0 to 50");
    expect(() => planLocalTasks([{ family: "f".repeat(60), containers: nginx(0), count: 1 }])).toThrow(/container name "f{60}-1-nginx" \(FAMILY-N-CONTAINER\) must be 1–64/);
  });

  it("writes docker ps's PORTS column", () => {
    expect(dockerPsPorts([{ hostIp: "0.0.0.0", hostPort: 32768, containerPort: 80, protocol: "tcp" }])).toBe("0.0.0.0:32768->80/tcp");
    expect(dockerPsPorts([{ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" }, { hostIp: "0.0.0.0", hostPort: 5353, containerPort: 53, protocol: "udp" }])).toBe(
      "0.0.0.0:8080->80/tcp, 0.0.0.0:5353->53/udp",
    );
    expect(dockerPsPorts([])).toBe("");
  });
});
