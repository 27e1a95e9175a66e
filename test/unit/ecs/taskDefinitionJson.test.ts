import * as fs from "node:fs";
import * as path from "node:path";
import { TaskDefinitionError, parseTaskDefinition } from "../../../provider/ecs/taskDefinitionJson";

// The seed's task definitions (register-task-definition JSON) read into EcsBridgeService's shapes. Pure.
const dir = path.resolve(__dirname, "../../../labs/taskDefinitions");
const file = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");

describe("parseTaskDefinition", () => {
  it("reads the seed's static and dynamic definitions", () => {
    const stat = parseTaskDefinition(file("ecs-networking-demo-bridge-mode-stat.json"), "stat");
    expect(stat).toEqual({
      family: "ecs-networking-demo-bridge-stat",
      networkMode: "bridge",
      containers: [{ name: "nginx", image: "nginx:alpine", memory: 128, essential: true, portMappings: [{ hostPort: 8080, protocol: "tcp", containerPort: 80 }] }],
      normalized: [{ name: "nginx", image: "nginx:alpine", cpu: 0, memory: 128, essential: true, portMappings: [{ containerPort: 80, hostPort: 8080, protocol: "tcp" }], environment: [] }],
      ignored: [],
    });
    const dyn = parseTaskDefinition(file("ecs-networking-demo-bridge-mode-dyn.json"), "dyn");
    expect(dyn.family).toBe("ecs-networking-demo-bridge-dyn");
    expect(dyn.normalized[0].portMappings).toEqual([{ containerPort: 80, hostPort: 0, protocol: "tcp" }]);
  });

  it("takes a parsed object, fills defaults, turns environment into a map and lists what it does not realise", () => {
    const td = parseTaskDefinition(
      {
        family: "f",
        taskRoleArn: "arn:aws:iam::1:role/r",
        containerDefinitions: [{ name: "c", image: "x", environment: [{ name: "A", value: "1" }], logConfiguration: {}, portMappings: [{ containerPort: 80, name: "http" }] }],
      },
      "config",
    );
    expect(td.networkMode).toBe("bridge");
    expect(td.containers[0].environment).toEqual({ A: "1" });
    expect(td.normalized[0].portMappings).toEqual([{ containerPort: 80, hostPort: 0, protocol: "tcp" }]);
    expect(td.ignored).toEqual(["taskRoleArn", "containerDefinitions[0].logConfiguration", "containerDefinitions[0].portMappings[0].name"]);
  });

  it.each([
    ["{", /^task definition src: is not valid JSON: /],
    ["[]", /must be a JSON object with family and containerDefinitions/],
    [{ family: "f", networkMode: "awsvpc", containerDefinitions: [{ name: "c", image: "x" }] }, /networkMode "awsvpc" must be "bridge"/],
    [{ family: "f", requiresCompatibilities: ["FARGATE"], containerDefinitions: [{ name: "c", image: "x" }] }, /requiresCompatibilities \["FARGATE"\] must include "EC2"/],
    [{ family: "a b", containerDefinitions: [{ name: "c", image: "x" }] }, /family "a b" may hold only/],
    [{ family: "f", containerDefinitions: [] }, /containerDefinitions \[\] must list at least one container/],
    [{ family: "f", containerDefinitions: [{ name: "c", image: "x", environment: { A: "1" } }] }, /containerDefinitions\[0\]\.environment \{"A":"1"\} must be a list of \{ "name": …, "value": … \}/],
    [{ family: "f", containerDefinitions: [{ name: "c", image: "x", portMappings: [{ containerPort: 80, hostPort: 22 }] }] }, /containerDefinitions\[0\]\.portMappings\[0\]\.hostPort 22 is reserved/],
    [{ family: "f", taskRoleArn: "${TaskRoleArn}", containerDefinitions: [{ name: "c", image: "x" }] }, /still holds envsubst placeholders \(taskRoleArn "\$\{TaskRoleArn\}"\); render the template first/],
  ])("refuses %j", (input, message) => {
    expect(() => parseTaskDefinition(input, "src")).toThrow(TaskDefinitionError);
    expect(() => parseTaskDefinition(input, "src")).toThrow(message);
  });
});
