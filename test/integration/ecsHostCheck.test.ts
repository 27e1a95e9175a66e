import { EcsHostCheckInputs, EcsHostCheckOutputs, ecsHostCheckProvider as provider } from "../../provider/resources/ecsHostCheck";
import { captureConsole } from "../support/consoleCapture";
import { useHost } from "../support/hosts";

// The host check script against a real kernel: a sandbox host, first bare (no Docker daemon
// here, so `docker ps` fails), then with a docker0 bridge and a nat DOCKER chain written the
// way Docker writes them. Proves the script's shell and the parsers on real `ip -j` and
// `iptables -S` output; the Docker-side formats are covered by the fixtures in test/unit.
describe("EcsHostCheck on a sandbox host", () => {
  const host = useHost("sandbox", "it-ecs");

  const check = async (requireConsistent: boolean) => {
    const r = await provider.check!({}, { connections: [host.connection], requireConsistent });
    expect(r.failures).toEqual([]);
    return r.inputs as EcsHostCheckInputs;
  };

  it("a bare host: each missing piece is a problem, the port range comes from the kernel", async () => {
    const inputs = await check(false);
    const { result, log, error } = await captureConsole(() => provider.create(inputs));
    const o = result.outs as EcsHostCheckOutputs;
    expect(o.consistent).toBe(false);
    // requireConsistent: false, so the problems reach the user as one error line, the summary as info.
    expect(error).toEqual([`ECS host check on sandbox:${host.name}: ${o.hosts[0].problems.join("; ")}`]);
    expect(log).toEqual(["ECS host check: 1 host, 0 containers, 0 published ports: 3 problems"]);
    const h = o.hosts[0];
    expect(h.host).toBe(`sandbox:${host.name}`);
    expect(h.bridgeAddress).toBeUndefined();
    expect(h.ephemeralRange).toEqual((await host.sh("cat /proc/sys/net/ipv4/ip_local_port_range")).trim().split(/\s+/).map(Number));
    expect(h.problems).toEqual([
      // Each with its own command's stderr, not the whole script's.
      'no bridge docker0: `ip -j addr show dev docker0` exited 1 (stderr: Device "docker0" does not exist.)',
      expect.stringMatching(/^cannot list containers: `docker ps` exited [1-9]\d*/),
      // iptables-nft says "incompatible" for the missing chain; the check says what it means.
      "nat has no DOCKER chain: dockerd makes it when it starts (unless it runs with --iptables=false)",
    ]);
    expect(h.problems[1]).not.toMatch(/docker0|iptables/);
    await expect(provider.create(await check(true))).rejects.toThrow(/^ECS host check: 1 host, 0 containers, 0 published ports: 3 problems\n/);
  });

  it("with docker0 and Docker's nat DOCKER chain: the address and the DNAT rules are read from the kernel", async () => {
    await host.sh(
      [
        "ip link add docker0 type bridge",
        "ip addr add 172.17.0.1/16 dev docker0",
        "ip link set docker0 up",
        "iptables -w -t nat -N DOCKER",
        "iptables -w -t nat -A DOCKER -i docker0 -j RETURN",
        "iptables -w -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
        "iptables -w -t nat -A DOCKER -d 127.0.0.1/32 ! -i docker0 -p udp -m udp --dport 32768 -j DNAT --to-destination 172.17.0.3:53",
      ].join("\n"),
    );
    try {
      const inputs = await check(false);
      const { result, log, error } = await captureConsole(() => provider.create(inputs));
      const h = (result.outs as EcsHostCheckOutputs).hosts[0];
      expect(error).toEqual([`ECS host check on sandbox:${host.name}: ${h.problems.join("; ")}`]);
      expect(log).toEqual(["ECS host check: 1 host, 0 containers, 0 published ports: 1 problem"]);
      expect(h.bridgeAddress).toBe("172.17.0.1/16");
      expect(h.dnat).toEqual([
        { chain: "DOCKER", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80, inInterface: "!docker0" },
        { chain: "DOCKER", protocol: "udp", hostIp: "127.0.0.1", hostPort: 32768, containerIp: "172.17.0.3", containerPort: 53, inInterface: "!docker0" },
      ]);
      expect(h.problems).toEqual([expect.stringMatching(/^cannot list containers: `docker ps` exited/)]);
    } finally {
      await host.sh("iptables -w -t nat -F DOCKER; iptables -w -t nat -X DOCKER; ip link del docker0");
    }
  });
});
