import { containerDefinitionsJson, normalizeContainers } from "../../../provider/ecs/containerDefinitions";

// Container definitions of a bridge-mode task: defaults written out, every rule named. Pure.
describe("container definitions", () => {
  it("always carry hostPort and protocol, in a fixed key order", () => {
    const { containers, problems } = normalizeContainers([{ name: "nginx", image: "nginx:alpine", portMappings: [{ containerPort: 80 }, { containerPort: 443, hostPort: 8443 }] }]);
    expect(problems).toEqual([]);
    expect(containerDefinitionsJson(containers)).toBe(
      '[{"name":"nginx","image":"nginx:alpine","cpu":0,"memory":128,"essential":true,' +
        '"portMappings":[{"containerPort":80,"hostPort":0,"protocol":"tcp"},{"containerPort":443,"hostPort":8443,"protocol":"tcp"}],"environment":[]}]',
    );
  });

  it("keep what is given: memoryReservation alone, command, environment sorted by name", () => {
    const { containers } = normalizeContainers([{ name: "app", image: "busybox", memoryReservation: 64, cpu: 256, essential: true, command: ["sh", "-c", "sleep 1d"], environment: { B: "2", A: "1" } }]);
    expect(JSON.parse(containerDefinitionsJson(containers))).toEqual([
      { name: "app", image: "busybox", cpu: 256, memoryReservation: 64, essential: true, portMappings: [], command: ["sh", "-c", "sleep 1d"], environment: [{ name: "A", value: "1" }, { name: "B", value: "2" }] },
    ]);
  });

  it("name every problem by its path", () => {
    const { problems } = normalizeContainers([
      { name: "web app", image: "nginx" },
      { name: "db", image: "", memory: 64, memoryReservation: 128, cpu: -1 },
      { name: "db", image: "x", essential: "yes" as never, command: "run" as never, environment: { A: 1 } as never },
    ]);
    expect(problems).toEqual([
      `containers[0].name "web app" may hold only letters, digits, '-' and '_' (1–255 characters), as ECS requires`,
      `containers[1].image "" must be an image reference such as "nginx:alpine"`,
      "containers[1].memoryReservation 128 is above containers[1].memory 64; the soft limit must not exceed the hard one",
      "containers[1].cpu -1 must be a whole number of CPU units (1024 = one vCPU), 0 or more",
      `containers[2].name "db" is already containers[1].name; container names are unique in a task`,
      `containers[2].essential "yes" must be true or false`,
      `containers[2].command "run" must be a list of strings`,
      `containers[2].environment {"A":1} must map names to string values`,
    ]);
    expect(normalizeContainers([]).problems).toEqual(["containers [] must list at least one container"]);
    expect(normalizeContainers([{ name: "a", image: "x", essential: false }]).problems).toEqual([
      "containers: every container has essential false; ECS needs at least one essential container in a task",
    ]);
  });

  it("refuse one static host port twice in a task, as Docker would", () => {
    const { problems } = normalizeContainers([
      { name: "a", image: "x", portMappings: [{ containerPort: 80, hostPort: 8080 }] },
      { name: "b", image: "x", portMappings: [{ containerPort: 81, hostPort: 8080 }, { containerPort: 81, hostPort: 8080, protocol: "udp" }, { containerPort: 82 }, { containerPort: 83 }] },
    ]);
    expect(problems).toEqual(["containers[1].portMappings[0].hostPort 8080 (tcp) is already containers[0].portMappings[0].hostPort in this task: Bind for 0.0.0.0:8080 failed: port is already allocated"]);
  });
});
