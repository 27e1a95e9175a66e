import { ECS_EPHEMERAL_PORT_RANGE, ECS_RESERVED_PORTS, checkPortMapping, formatPorts, portAllocatedMessage, portRuleProblems } from "../../../provider/ecs/portRules";

// Host port rules of bridge mode on an ECS container instance. Pure.
describe("ECS host port rules", () => {
  it("are ECS's defaults", () => {
    expect(ECS_RESERVED_PORTS).toEqual([22, 2375, 2376, 51678, 51679, 51680]);
    expect(ECS_EPHEMERAL_PORT_RANGE).toEqual([32768, 65535]);
    expect(formatPorts(ECS_RESERVED_PORTS)).toBe("22, 2375, 2376, 51678–51680");
    expect(portAllocatedMessage(8080)).toBe("Bind for 0.0.0.0:8080 failed: port is already allocated");
  });

  it("write hostPort and protocol out: static, and dynamic as 0", () => {
    expect(checkPortMapping("m", { containerPort: 80, hostPort: 8080 })).toEqual({ mapping: { containerPort: 80, hostPort: 8080, protocol: "tcp" }, problems: [] });
    expect(checkPortMapping("m", { containerPort: 53, protocol: "udp" })).toEqual({ mapping: { containerPort: 53, hostPort: 0, protocol: "udp" }, problems: [] });
    // Next to the reserved ports and just below the ephemeral range: allowed.
    for (const p of [21, 23, 2374, 2377, 32767]) expect(checkPortMapping("m", { containerPort: 80, hostPort: p }).problems).toEqual([]);
  });

  it.each(ECS_RESERVED_PORTS.map((p) => [p]))("refuse reserved host port %i, saying who holds it", (p) => {
    const [problem] = checkPortMapping("containers[0].portMappings[0]", { containerPort: 80, hostPort: p }).problems;
    expect(problem).toBe(
      `containers[0].portMappings[0].hostPort ${p} is reserved on the container instance (ECS keeps 22 for SSH, 2375 and 2376 for the Docker daemon and 51678–51680 for the ECS agent); ` +
        `a task cannot bind it: choose another port below 32768, or 0 for a dynamic one`,
    );
  });

  it.each([[32768], [40000], [65535]])("refuse static host port %i in the ephemeral range, naming ECS's default", (p) => {
    const [problem] = checkPortMapping("containers[0].portMappings[0]", { containerPort: 80, hostPort: p }).problems;
    expect(problem).toContain(`containers[0].portMappings[0].hostPort ${p} lies in the ephemeral port range 32768–65535 (ECS's default ephemeral port range; set ephemeralPortRange`);
    expect(problem).toContain("choose a port below 32768, or 0 to let ECS pick one");
  });

  it("follow a custom range and reserved list", () => {
    const rules = { reservedPorts: [8081], ephemeralPortRange: [49153, 65535] as [number, number] };
    expect(checkPortMapping("m", { containerPort: 80, hostPort: 40000 }, rules).problems).toEqual([]);
    expect(checkPortMapping("m", { containerPort: 80, hostPort: 22 }, rules).problems).toEqual([]);
    expect(checkPortMapping("m", { containerPort: 80, hostPort: 8081 }, rules).problems[0]).toContain("m.hostPort 8081 is reserved on the container instance (reservedPorts: 8081)");
    expect(checkPortMapping("m", { containerPort: 80, hostPort: 50000 }, rules).problems[0]).toContain("lies in the ephemeral port range 49153–65535 (ephemeralPortRange;");
  });

  it.each([
    [{ containerPort: 0 }, "m.containerPort 0 must be an integer from 1 to 65535"],
    [{ containerPort: 65536 }, "m.containerPort 65536 must be an integer from 1 to 65535"],
    [{ containerPort: 80.5 }, "m.containerPort 80.5 must be an integer from 1 to 65535"],
    [{ containerPort: "80" }, 'm.containerPort "80" must be an integer from 1 to 65535'],
    [{ containerPort: 80, hostPort: -1 }, "m.hostPort -1 must be an integer from 1 to 65535 for a static port, or 0 for a dynamic one"],
    [{ containerPort: 80, hostPort: 70000 }, "m.hostPort 70000 must be an integer from 1 to 65535"],
    [{ containerPort: 80, protocol: "sctp" }, 'm.protocol "sctp" must be "tcp" or "udp"'],
  ])("refuse bad numbers: %j", (m, message) => {
    const r = checkPortMapping("m", m as never);
    expect(r.mapping).toBeUndefined();
    expect(r.problems[0]).toContain(message);
  });

  it("check the rules themselves", () => {
    expect(portRuleProblems({})).toEqual([]);
    expect(portRuleProblems({ reservedPorts: [22, 0] })).toEqual(["reservedPorts[1] 0 must be an integer from 1 to 65535"]);
    expect(portRuleProblems({ ephemeralPortRange: [60000, 50000] })[0]).toContain("ephemeralPortRange [60000,50000] must be [first, last] with 1 ≤ first ≤ last ≤ 65535");
  });
});
