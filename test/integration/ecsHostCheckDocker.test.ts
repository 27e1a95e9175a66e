import { EcsHostCheckInputs, EcsHostCheckOutputs, ecsHostCheckProvider as provider } from "../../provider/resources/ecsHostCheck";
import { DOCKER_IMAGE } from "../../provider/sandbox/sandboxDockerScripts";
import type { SshConnection } from "../../provider/transport/connection";
import { closeAllSshConnections } from "../../provider/transport/sshPool";
import { captureConsole, infoOnly } from "../support/consoleCapture";
import { DockerBox, describeWithDocker, makeDockerSandbox } from "../support/dockerSandbox";
import { SshdHost, startSshd } from "../support/sshd";

/**
 * EcsHostCheck against a real engine: Docker 20.10 inside a sandbox host (sandboxDocker.ts),
 * reached over SSH as a container instance would be (a real sshd in the sandbox host; its
 * session's PATH is the engine's own, /usr/sbin:/usr/bin:/sbin:/bin, so `docker` is Debian's
 * 20.10 client and not a newer one from /usr/local/bin). Containers are started as the ECS
 * agent starts them, with its labels:
 *
 *   docker run -d --name ecs-web-static-2-nginx-… --label com.amazonaws.ecs.task-arn=… \
 *       --label com.amazonaws.ecs.task-definition-family=web-static --label …version=2 \
 *       --label com.amazonaws.ecs.container-name=nginx -p 8080:80 bridgelab/busybox httpd -f -p 80
 *
 * one static task (8080) and two dynamic ones (`-p 80`: a port from the ephemeral range).
 * The verdict comes from real `docker ps`, real docker-proxy processes and real DNAT rules;
 * then drift made by hand is what a refresh records. The parsers' cases are the fixtures
 * captured from this engine (test/fixtures/docker/docker20-*.txt, test/unit).
 */
const ARN = "arn:aws:ecs:us-east-1:123456789012:task/staging/";
const TASKS = [
  { name: "ecs-web-static-2-nginx-8e0c2a4f6b1d3e5a7c01", family: "web-static", version: "2", container: "nginx", task: "5d4c3b2a190817263544a3b2c1d0e9f8", ports: ["-p", "8080:80"] },
  { name: "ecs-web-bridge-3-web-bridge-b6d1e0f2a4c8e9f7d301", family: "web-bridge", version: "3", container: "web-bridge", task: "a1b2c3d4e5f60718293a4b5c6d7e8f90", ports: ["-p", "80"] },
  { name: "ecs-web-bridge-3-web-bridge-d2f4a6c8e0b1d3f5a702", family: "web-bridge", version: "3", container: "web-bridge", task: "0f9e8d7c6b5a49382716a5b4c3d2e1f0", ports: ["-p", "80"] },
];

describeWithDocker("EcsHostCheck on a real Docker engine, over SSH", () => {
  let docker: DockerBox;
  let sshd: SshdHost;
  let connection: SshConnection;
  beforeAll(async () => {
    docker = await makeDockerSandbox("ek-ecs");
    sshd = await startSshd(docker.name, { path: ["/usr/sbin:/usr/bin:/sbin:/bin"] });
    connection = sshd.connection();
    for (const t of TASKS) {
      const labels = [
        ["cluster", "staging"],
        ["task-arn", ARN + t.task],
        ["task-definition-family", t.family],
        ["task-definition-version", t.version],
        ["container-name", t.container],
      ].flatMap(([k, v]) => ["--label", `com.amazonaws.ecs.${k}=${v}`]);
      await docker.dockerOk("run", "-d", "--name", t.name, ...labels, ...t.ports, DOCKER_IMAGE, "httpd", "-f", "-p", "80", "-h", "/www");
    }
  });
  afterAll(async () => {
    await closeAllSshConnections();
    await sshd?.stop();
    await docker?.dispose();
  });

  const check = async (news: Record<string, unknown>) => {
    const r = await provider.check!({}, { connections: [connection], ...news });
    expect(r.failures).toEqual([]);
    return r.inputs as EcsHostCheckInputs;
  };
  /** The host port Docker gave NAME's port 80, as `docker port` says it ("0.0.0.0:32768" → 32768). */
  const dockerPort = async (name: string) => Number(/^0\.0\.0\.0:(\d+)$/m.exec(await docker.dockerOk("port", name, "80/tcp"))![1]);

  it("static and dynamic host ports of every task, from real docker ps, docker-proxy and DNAT rules: consistent", async () => {
    // A docker-proxy of another host on the same machine (here: the sandbox's outside namespace)
    // must not count: sandbox hosts share the machine's PIDs, as containers share a host's.
    const imposter = (await docker.outside(
      `setsid bash -c 'exec -a "/usr/sbin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 9999 -container-ip 172.17.0.9 -container-port 80" sleep 300' </dev/null >/dev/null 2>&1 & echo $!`,
    )).trim();
    try {
      const { result, log } = await captureConsole(async () => provider.create(await check({ family: "web-bridge", expectedTasks: 2 })));
      const o = result.outs as EcsHostCheckOutputs;
      expect(log).toEqual(["ECS host check: 1 host, 2 containers, 2 published ports: consistent"]);
      const h = o.hosts[0];
      expect(h.host).toMatch(new RegExp(`^ssh:root@${docker.name}:22`));
      expect(h).toMatchObject({ bridgeAddress: "172.17.0.1/16", userlandProxy: true, problems: [], consistent: true });
      expect(h.ephemeralRange).toEqual((await docker.sh("cat /proc/sys/net/ipv4/ip_local_port_range")).trim().split(/\s+/).map(Number));
      // Every published port of all three tasks: a DNAT rule each, a docker-proxy per port and
      // address family (0.0.0.0 and ::); not the imposter, which `ps` in the host does show.
      const dynamic = await Promise.all(TASKS.slice(1).map((t) => dockerPort(t.name)));
      const ports = [8080, ...dynamic].sort();
      expect(h.dnat.map((r) => r.hostPort).sort()).toEqual(ports);
      expect(h.proxies.map((p) => `${p.hostIp} ${p.hostPort}`).sort()).toEqual(ports.flatMap((p) => [`0.0.0.0 ${p}`, `:: ${p}`]).sort());
      expect(await docker.sh("ps -eo args")).toContain("docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 9999");
      expect(o.taskArns.sort()).toEqual([ARN + TASKS[2].task, ARN + TASKS[1].task].sort());
      expect(o.hostPorts.map((p) => [p.containerName, p.hostPort, p.hostIps, p.ephemeral, p.family, p.ecsContainer, p.revision]).sort()).toEqual(
        TASKS.slice(1).map((t, k) => [t.name, dynamic[k], ["0.0.0.0", "::"], true, "web-bridge", "web-bridge", "3"]).sort(),
      );

      const all = (await infoOnly(async () => provider.create(await check({})))).outs as EcsHostCheckOutputs;
      expect(all.hostPorts.find((p) => p.family === "web-static")).toMatchObject({ hostPort: 8080, containerPort: 80, ephemeral: false, revision: "2", taskArn: ARN + TASKS[0].task });
    } finally {
      await docker.outside(`kill ${imposter} 2>/dev/null || true`);
    }
  });

  it("drift made by hand is what refresh records: a task removed with docker rm -f (only the count shows it), a killed docker-proxy, a deleted DNAT rule", async () => {
    const inputs = await check({ family: "web-bridge", expectedTasks: 2 });
    const { id, outs } = await infoOnly(() => provider.create(inputs));
    const gone = TASKS[2];
    const kept = { name: TASKS[1].name, port: await dockerPort(TASKS[1].name), ip: await docker.dockerOk("inspect", "-f", "{{.NetworkSettings.IPAddress}}", TASKS[1].name) };

    // docker rm -f: Docker takes the container's DNAT rule and docker-proxies with it, so the
    // host itself stays consistent; the family's task count is short.
    await docker.dockerOk("rm", "-f", gone.name);
    const first = await captureConsole(() => provider.read!(id, outs));
    const p1 = first.result.props as EcsHostCheckOutputs;
    expect(p1.hosts[0].problems).toEqual([]);
    expect(p1.problems).toEqual(["family web-bridge: 1 task running on the hosts, 2 expected"]);
    expect([p1.consistent, p1.summary]).toEqual([false, "1 host, 1 container, 1 published port: 1 problem"]);
    expect(first.error).toEqual(["ECS host check drift: family web-bridge: 1 task running on the hosts, 2 expected"]);
    expect((await provider.diff!(id, p1, inputs)).changes).toBe(true);
    await expect(provider.update!(id, p1, inputs)).rejects.toThrow(/\n  tasks:\n    - family web-bridge: 1 task running on the hosts, 2 expected$/);

    // The static task's docker-proxy killed (`kill PID`), the dynamic task's DNAT rule deleted (`iptables -t nat -D DOCKER …`).
    await docker.sh(
      [
        `kill $(ps -eo pid,args | awk '/[d]ocker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 / { print $1 }')`,
        `iptables -w -t nat -D DOCKER ! -i docker0 -p tcp -m tcp --dport ${kept.port} -j DNAT --to-destination ${kept.ip}:80`,
      ].join("\n"),
    );
    const second = await captureConsole(() => provider.read!(id, outs));
    const p2 = second.result.props as EcsHostCheckOutputs;
    expect(p2.hosts[0].problems).toEqual([
      `container ${kept.name} (${p2.hostPorts[0].containerId}) publishes 0.0.0.0:${kept.port}->80/tcp but nat DOCKER has no DNAT rule for it`,
      expect.stringMatching(/^container ecs-web-static-2-nginx-8e0c2a4f6b1d3e5a7c01 \([0-9a-f]{12}\) publishes 0\.0\.0\.0:8080->80\/tcp but no docker-proxy listens there \(the userland proxy is on\)$/),
    ]);
    expect(second.error).toEqual([`ECS host check drift on ${p2.hosts[0].host}: ${p2.hosts[0].problems.join("; ")}`, "ECS host check drift: family web-bridge: 1 task running on the hosts, 2 expected"]);
  });
});
