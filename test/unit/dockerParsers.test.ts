import * as fs from "node:fs";
import * as path from "node:path";
import {
  checkPublishing,
  parseDnatRules,
  parseDockerProxies,
  parseDockerPs,
  parsePortsColumn,
  userlandProxyFrom,
} from "../../provider/host/dockerParsers";
import { DOCKER_HOST_SECTIONS, DOCKER_PS_FORMAT, dockerHostCheckScript, parseDockerHostCheck } from "../../provider/host/dockerHostScripts";
import { splitSections } from "../../provider/host/sections";

// Outputs of Docker 20.10 (captured from the real engine in a sandbox host) and in the Docker 25
// and 28 formats (see test/fixtures/docker/README.md).
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "docker", `${name}.txt`), "utf8");
const section = (name: string, s: string) => splitSections(fixture(name))[s];
const ARN = "arn:aws:ecs:us-east-1:123456789012:task/staging/";

describe("parsePortsColumn", () => {
  it("Docker 25, IPv6 off: 0.0.0.0 only", () => {
    expect(parsePortsColumn("0.0.0.0:8080->80/tcp")).toEqual({
      published: [{ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" }],
      exposed: [],
    });
  });

  it("Docker 25 with IPv6 (:::PORT) and Docker 28 ([::]:PORT) read the same", () => {
    const both = [
      { hostIp: "0.0.0.0", hostPort: 32768, containerPort: 80, protocol: "tcp" },
      { hostIp: "::", hostPort: 32768, containerPort: 80, protocol: "tcp" },
    ];
    expect(parsePortsColumn("0.0.0.0:32768->80/tcp, :::32768->80/tcp").published).toEqual(both);
    expect(parsePortsColumn("0.0.0.0:32768->80/tcp, [::]:32768->80/tcp").published).toEqual(both);
  });

  it("specific addresses, ranges, exposed-only ports, udp and sctp", () => {
    expect(parsePortsColumn("127.0.0.1:8000-8001->80-81/udp, [fd00::1]:9000->9000/sctp, 443/tcp, 7000-7001/udp, ")).toEqual({
      published: [
        { hostIp: "127.0.0.1", hostPort: 8000, containerPort: 80, protocol: "udp" },
        { hostIp: "127.0.0.1", hostPort: 8001, containerPort: 81, protocol: "udp" },
        { hostIp: "fd00::1", hostPort: 9000, containerPort: 9000, protocol: "sctp" },
      ],
      exposed: [
        { containerPort: 443, protocol: "tcp" },
        { containerPort: 7000, protocol: "udp" },
        { containerPort: 7001, protocol: "udp" },
      ],
    });
    expect(parsePortsColumn("")).toEqual({ published: [], exposed: [] });
  });

  it("refuses what it cannot read, naming the entry", () => {
    expect(() => parsePortsColumn("0.0.0.0:8080->80/icmp")).toThrow('cannot read the docker ps port entry "0.0.0.0:8080->80/icmp"');
    expect(() => parsePortsColumn("0.0.0.0:8000-8002->80-81/tcp")).toThrow(/host and container ranges differ in length/);
    expect(() => parsePortsColumn("8080->80")).toThrow(/cannot read/);
  });
});

describe("parseDockerPs", () => {
  it("Docker 25 on ECS: static and dynamic tasks with their ECS labels; the agent has neither ports nor labels", () => {
    expect(parseDockerPs(section("docker25-ecs", "containers"))).toEqual([
      {
        id: "36b4b914e8ba",
        name: "ecs-ecs-networking-demo-bridge-stat-1-nginx-f0fbbff98de4aeafae01",
        ports: [{ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" }],
        exposed: [],
        taskArn: ARN + "04812b97f24e460cb9fc70f4282bbb85",
        family: "ecs-networking-demo-bridge-stat",
        ecsContainer: "nginx",
      },
      {
        id: "3de9866ebb5b",
        name: "ecs-ecs-networking-demo-bridge-dyn-1-nginx-fa80a097a8cd87947600",
        ports: [{ hostIp: "0.0.0.0", hostPort: 32768, containerPort: 80, protocol: "tcp" }],
        exposed: [],
        taskArn: ARN + "7c1d5e2f0a9b4c3d8e6f1a2b3c4d5e6f",
        family: "ecs-networking-demo-bridge-dyn",
        ecsContainer: "nginx",
      },
      { id: "2585da539bda", name: "ecs-agent", ports: [], exposed: [] },
    ]);
  });

  it("Docker 28: bracketed IPv6, a UDP range and an exposed port", () => {
    const [, , stat] = parseDockerPs(section("docker28-ecs", "containers"));
    expect(stat.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`)).toEqual([
      "0.0.0.0:8080->80/tcp",
      ":::8080->80/tcp",
      "0.0.0.0:9000->9000/udp",
      "0.0.0.0:9001->9001/udp",
      ":::9000->9000/udp",
      ":::9001->9001/udp",
    ]);
    expect(stat.exposed).toEqual([{ containerPort: 443, protocol: "tcp" }]);
  });

  it("reads the plain three-column format too, and refuses a line without an id", () => {
    expect(parseDockerPs("f879829d1308\tecs-web-bridge-1-web-bridge-aacbafdddd9ad49ef401\t0.0.0.0:32768->80/tcp\n")).toEqual([
      { id: "f879829d1308", name: "ecs-web-bridge-1-web-bridge-aacbafdddd9ad49ef401", ports: [{ hostIp: "0.0.0.0", hostPort: 32768, containerPort: 80, protocol: "tcp" }], exposed: [] },
    ]);
    expect(() => parseDockerPs("CONTAINER ID   IMAGE")).toThrow(/cannot read the docker ps line/);
  });
});

describe("parseDockerProxies", () => {
  it("Docker 25: one process per host address", () => {
    expect(parseDockerProxies(section("docker25-ipv6", "proxies")).slice(0, 2)).toEqual([
      { pid: 25023, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80 },
      { pid: 25030, protocol: "tcp", hostIp: "::", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80 },
    ]);
  });

  it("Docker 28: -use-listen-fd is ignored; udp proxies read", () => {
    const proxies = parseDockerProxies(section("docker28-ecs", "proxies"));
    expect(proxies).toHaveLength(10);
    expect(proxies[0]).toEqual({ pid: 4121, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 32768, containerIp: "172.17.0.2", containerPort: 80 });
    expect(proxies[6]).toEqual({ pid: 3575, protocol: "udp", hostIp: "0.0.0.0", hostPort: 9000, containerIp: "172.17.0.4", containerPort: 9000 });
  });

  it("skips the header and a grep of itself", () => {
    const text = "    PID COMMAND\n 1234 grep docker-proxy\n 99 /usr/libexec/docker/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 80 -container-ip 172.17.0.9 -container-port 8080\n";
    expect(parseDockerProxies(text)).toEqual([{ pid: 99, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 80, containerIp: "172.17.0.9", containerPort: 8080 }]);
    expect(() => parseDockerProxies(" 7 /usr/bin/docker-proxy -proto tcp -host-port x")).toThrow(/cannot read the docker-proxy process/);
  });
});

describe("parseDnatRules", () => {
  it("Docker's DOCKER chain: DNAT rules read, RETURN and -N skipped", () => {
    expect(parseDnatRules(section("docker25-ecs", "dnat"))).toEqual([
      { chain: "DOCKER", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80, inInterface: "!docker0" },
      { chain: "DOCKER", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 32768, containerIp: "172.17.0.3", containerPort: 80, inInterface: "!docker0" },
    ]);
  });

  it("without the userland proxy: no -i, and -d for a host address", () => {
    expect(parseDnatRules(section("docker25-noproxy", "dnat"))).toEqual([
      { chain: "DOCKER", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80 },
      { chain: "DOCKER", protocol: "tcp", hostIp: "127.0.0.1", hostPort: 32768, containerIp: "172.17.0.3", containerPort: 80 },
    ]);
  });

  it("bridgelab's own chain on a lab host, with its quoted comment", () => {
    const line = '-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v1:publish:web" -j DNAT --to-destination 172.17.0.2:80';
    expect(parseDnatRules(line)).toEqual([
      { chain: "BRIDGELAB-DNAT", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80, comment: "bridgelab:v1:publish:web" },
    ]);
    expect(parseDnatRules("-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8000:8001 -j DNAT --to-destination 172.17.0.2")).toEqual([]);
  });
});

describe("userlandProxyFrom", () => {
  it("on by default; daemon.json can turn it off; dockerd's flag wins", () => {
    expect(userlandProxyFrom(section("docker25-ecs", "dockerd"), "")).toBe(true);
    expect(userlandProxyFrom("/usr/bin/dockerd -H fd://", '"userland-proxy": false')).toBe(false);
    expect(userlandProxyFrom("/usr/bin/dockerd --userland-proxy=false", "")).toBe(false);
    expect(userlandProxyFrom("/usr/bin/dockerd --userland-proxy=true", '"userland-proxy":false')).toBe(true);
  });
});

describe("checkPublishing", () => {
  const state = (name: string) => {
    const s = splitSections(fixture(name));
    return {
      containers: parseDockerPs(s.containers),
      proxies: parseDockerProxies(s.proxies),
      dnat: parseDnatRules(s.dnat),
      userlandProxy: userlandProxyFrom(s.dockerd, s["daemon-json"]),
    };
  };

  it.each(["docker25-ecs", "docker25-ipv6", "docker25-noproxy", "docker28-ecs"])("%s is consistent", (name) => {
    expect(checkPublishing(state(name))).toEqual([]);
  });

  it("names every drift: a rule and proxies left by a gone task, a killed proxy", () => {
    expect(checkPublishing(state("docker28-drift"))).toEqual([
      "container ecs-web-static-2-nginx-8e0c2a4f6b1d3e5a7c01 (1a3c5e7f9b2d) publishes 0.0.0.0:8080->80/tcp but no docker-proxy listens there (the userland proxy is on)",
      "nat DOCKER DNATs 0.0.0.0:32769/tcp to 172.17.0.3:80 but no running container publishes it",
      "docker-proxy (pid 4187) listens on 0.0.0.0:32769/tcp for 172.17.0.3:80 but no running container publishes it",
      "docker-proxy (pid 4194) listens on [::]:32769/tcp for 172.17.0.3:80 but no running container publishes it",
    ]);
  });

  it("a missing DNAT rule, a proxy to another address, a port published twice", () => {
    const web = { id: "aaaaaaaaaaaa", name: "web", ports: [{ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" as const }], exposed: [] };
    const proxy = { pid: 7, protocol: "tcp" as const, hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.9", containerPort: 80 };
    const rule = { chain: "DOCKER", protocol: "tcp" as const, hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80 };
    expect(checkPublishing({ containers: [web], proxies: [proxy], dnat: [], userlandProxy: true })).toEqual([
      "container web (aaaaaaaaaaaa) publishes 0.0.0.0:8080->80/tcp but nat DOCKER has no DNAT rule for it",
    ]);
    expect(checkPublishing({ containers: [web], proxies: [proxy], dnat: [rule], userlandProxy: true })).toEqual([
      "container web (aaaaaaaaaaaa) publishes 0.0.0.0:8080->80/tcp but its DNAT rule goes to 172.17.0.2:80 and its docker-proxy (pid 7) to 172.17.0.9:80",
    ]);
    expect(checkPublishing({ containers: [web, { ...web, id: "bbbbbbbbbbbb", name: "web2" }], proxies: [], dnat: [rule], userlandProxy: false, chain: "BRIDGELAB-DNAT" })).toEqual([
      "web and web2 both publish 0.0.0.0:8080/tcp",
    ]);
  });
});

describe("the host check script and its report", () => {
  it("prints every section the parser reads, in one compact script that only reads", () => {
    const s = dockerHostCheckScript();
    expect(s.match(/^echo '@@bridgelab ([a-z-]+)'$/gm)!.map((l) => l.slice(18, -1))).toEqual([...DOCKER_HOST_SECTIONS]);
    expect(s).toContain(`docker ps --format '${DOCKER_PS_FORMAT}'`);
    expect(DOCKER_PS_FORMAT).toBe(
      '{{.ID}}\\t{{.Names}}\\t{{.Ports}}\\t{{.Label "com.amazonaws.ecs.task-arn"}}\\t{{.Label "com.amazonaws.ecs.task-definition-family"}}\\t{{.Label "com.amazonaws.ecs.container-name"}}\\t{{.Label "com.amazonaws.ecs.task-definition-version"}}',
    );
    expect(s).toContain("err_bridge=$(ip -j addr show dev docker0 2>&1 >&3); e_bridge=$?");
    expect(s).toContain("ps -eo pid,args | grep '[d]ocker-proxy' | here");
    expect(s).toContain("err_dnat=$(iptables -w 5 -t nat -S DOCKER 2>&1 >&3); e_dnat=$?");
    expect(s).not.toMatch(/iptables .*-[ADIF] /);
    for (const name of ["docker20-ecs", "docker20-drift", "docker20-not-running", "docker25-ecs", "docker28-ecs", "no-docker"]) {
      expect(Object.keys(splitSections(fixture(name)))).toEqual([...DOCKER_HOST_SECTIONS]);
    }
    expect(dockerHostCheckScript({ bridge: "br0", natChain: "BRIDGELAB-DNAT" })).toContain("iptables -w 5 -t nat -S BRIDGELAB-DNAT");
    expect(() => dockerHostCheckScript({ bridge: "br0; reboot" })).toThrow(/bad bridge name/);
  });

  it("Docker 25 on ECS: docker0, host ports per task (static and dynamic), consistent", () => {
    const r = parseDockerHostCheck(fixture("docker25-ecs"));
    expect(r.bridgeAddress).toBe("172.17.0.1/16");
    expect(r.ephemeralRange).toEqual([32768, 60999]);
    expect(r.userlandProxy).toBe(true);
    expect(r.consistent).toBe(true);
    expect(r.containers.map((c) => [c.family ?? c.name, c.ports])).toEqual([
      ["ecs-networking-demo-bridge-stat", [{ protocol: "tcp", containerPort: 80, hostPort: 8080, hostIps: ["0.0.0.0"], ephemeral: false }]],
      ["ecs-networking-demo-bridge-dyn", [{ protocol: "tcp", containerPort: 80, hostPort: 32768, hostIps: ["0.0.0.0"], ephemeral: true }]],
      ["ecs-agent", []],
    ]);
  });

  it("Docker 28: both address families in one row; family selects the listed containers, the verdict still covers all", () => {
    const r = parseDockerHostCheck(fixture("docker28-ecs"), { family: "web-bridge" });
    expect(r.containers.map((c) => [c.taskArn, c.ports])).toEqual([
      [ARN + "a1b2c3d4e5f60718293a4b5c6d7e8f90", [{ protocol: "tcp", containerPort: 80, hostPort: 32768, hostIps: ["0.0.0.0", "::"], ephemeral: true }]],
      [ARN + "0f9e8d7c6b5a49382716a5b4c3d2e1f0", [{ protocol: "tcp", containerPort: 80, hostPort: 32769, hostIps: ["0.0.0.0", "::"], ephemeral: true }]],
    ]);
    expect(r.dnat).toHaveLength(5);
    expect(r.proxies).toHaveLength(10);
    expect(r.consistent).toBe(true);
    const drift = parseDockerHostCheck(fixture("docker28-drift"), { family: "web-bridge" });
    expect(drift.consistent).toBe(false);
    expect(drift.problems).toHaveLength(4);
  });

  it("a host without Docker: each failed read is a problem, with its own command's stderr", () => {
    const r = parseDockerHostCheck(fixture("no-docker"), { stderr: "ignored: the errors section says which command said what" });
    expect(r).toMatchObject({ containers: [], proxies: [], dnat: [], consistent: false });
    expect(r.bridgeAddress).toBeUndefined();
    expect(r.problems).toEqual([
      'no bridge docker0: `ip -j addr show dev docker0` exited 1 (stderr: Device "docker0" does not exist.)',
      "cannot list containers: `docker ps` exited 127 (stderr: sh: 1: docker: not found)",
      "nat has no DOCKER chain: dockerd makes it when it starts (unless it runs with --iptables=false)",
    ]);
  });

  it("Docker 20.10 installed, no daemon (captured): iptables-nft's \"incompatible\" for the missing chain is said as what it means", () => {
    const r = parseDockerHostCheck(fixture("docker20-not-running"));
    expect(r.problems).toEqual([
      'no bridge docker0: `ip -j addr show dev docker0` exited 1 (stderr: Device "docker0" does not exist.)',
      "cannot list containers: `docker ps` exited 1 (stderr: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)",
      "nat has no DOCKER chain: dockerd makes it when it starts (unless it runs with --iptables=false)",
    ]);
    expect(r.problems.join("\n")).not.toMatch(/incompatible/);
  });

  it("a failed read of a chain that exists keeps iptables' own message", () => {
    const out = fixture("docker20-not-running").replace("dnat-chain=no", "dnat-chain=yes");
    expect(parseDockerHostCheck(out).problems[2]).toBe(
      "cannot read nat DOCKER: `iptables -t nat -S DOCKER` exited 1 (stderr: iptables v1.8.9 (nf_tables): chain `DOCKER' in table `nat' is incompatible, use 'nft' tool.)",
    );
  });

  it("an older script's output (no errors section): the script's stderr stands in, as before", () => {
    const old = fixture("no-docker").replace(/@@bridgelab errors\n(.*\n)*?(?=@@bridgelab exits)/, "").replace(" dnat-chain=no", "");
    expect(Object.keys(splitSections(old))).not.toContain("errors");
    const r = parseDockerHostCheck(old, { stderr: "sh: 1: docker: not found\n" });
    expect(r.problems).toEqual([
      "no bridge docker0: `ip -j addr show dev docker0` exited 1 (stderr: sh: 1: docker: not found)",
      "cannot list containers: `docker ps` exited 127 (stderr: sh: 1: docker: not found)",
      "cannot read nat DOCKER: `iptables -t nat -S DOCKER` exited 1 (stderr: sh: 1: docker: not found)",
    ]);
  });

  it("output that is not the script's is an error naming the missing sections", () => {
    expect(() => parseDockerHostCheck("hello\n")).toThrow(/^the host check printed no bridge, containers, proxies, dnat, dockerd, daemon-json, port-range, exits sections/);
  });
});

describe("Docker 20.10, captured from the real engine (docker.io 20.10.24 in a sandbox host)", () => {
  it("docker ps: IPv6 host addresses bare (:::PORT), ranges, the four ECS labels; the agent on the host network has neither", () => {
    const ps = parseDockerPs(section("docker20-ecs", "containers"));
    expect(ps.map((c) => [c.name, c.family, c.ecsContainer, c.revision])).toEqual([
      ["ecs-agent", undefined, undefined, undefined],
      ["ecs-web-bridge-3-web-bridge-d2f4a6c8e0b1d3f5a702", "web-bridge", "web-bridge", "3"],
      ["ecs-web-bridge-3-web-bridge-b6d1e0f2a4c8e9f7d301", "web-bridge", "web-bridge", "3"],
      ["ecs-web-static-2-nginx-8e0c2a4f6b1d3e5a7c01", "web-static", "nginx", "2"],
    ]);
    expect(ps[1].ports).toEqual([
      { hostIp: "0.0.0.0", hostPort: 32769, containerPort: 80, protocol: "tcp" },
      { hostIp: "::", hostPort: 32769, containerPort: 80, protocol: "tcp" },
    ]);
    expect(ps[3].ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`)).toEqual([
      "0.0.0.0:9000->9000/udp",
      "0.0.0.0:9001->9001/udp",
      ":::9000->9000/udp",
      ":::9001->9001/udp",
      "0.0.0.0:8080->80/tcp",
      ":::8080->80/tcp",
    ]);
    expect(ps[3].exposed).toEqual([{ containerPort: 443, protocol: "tcp" }]);
  });

  it("docker-proxy at /usr/sbin, one per port and address family; a killed one left defunct is not a proxy", () => {
    const proxies = parseDockerProxies(section("docker20-ecs", "proxies"));
    expect(proxies).toHaveLength(10);
    expect(proxies.filter((p) => p.hostPort === 8080)).toEqual([
      { pid: 7885, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80 },
      { pid: 7890, protocol: "tcp", hostIp: "::", hostPort: 8080, containerIp: "172.17.0.2", containerPort: 80 },
    ]);
    expect(section("docker20-drift", "proxies")).toContain("7885 [docker-proxy] <defunct>");
    expect(parseDockerProxies(section("docker20-drift", "proxies")).map((p) => p.pid)).not.toContain(7885);
  });

  it("the report: docker0, static and dynamic host ports per task with the revision, consistent", () => {
    const r = parseDockerHostCheck(fixture("docker20-ecs"), { family: "web-bridge" });
    expect(r).toMatchObject({ bridgeAddress: "172.17.0.1/16", ephemeralRange: [32768, 60999], userlandProxy: true, problems: [], consistent: true });
    expect(r.containers.map((c) => [c.id, c.revision, c.ports])).toEqual([
      ["73ebeeeefd77", "3", [{ protocol: "tcp", containerPort: 80, hostPort: 32769, hostIps: ["0.0.0.0", "::"], ephemeral: true }]],
      ["8a7fb7313cda", "3", [{ protocol: "tcp", containerPort: 80, hostPort: 32768, hostIps: ["0.0.0.0", "::"], ephemeral: true }]],
    ]);
    expect(r.dnat).toHaveLength(5);
    const stat = parseDockerHostCheck(fixture("docker20-ecs"), { family: "web-static" }).containers[0];
    expect(stat.ports.map((p) => [p.hostPort, p.protocol, p.ephemeral])).toEqual([
      [9000, "udp", false],
      [9001, "udp", false],
      [8080, "tcp", false],
    ]);
  });

  it("drift by hand: a killed docker-proxy and a deleted DNAT rule are named; a container removed with docker rm -f leaves nothing to name", () => {
    const r = parseDockerHostCheck(fixture("docker20-drift"));
    expect(r.problems).toEqual([
      "container ecs-web-bridge-3-web-bridge-b6d1e0f2a4c8e9f7d301 (8a7fb7313cda) publishes 0.0.0.0:32768->80/tcp but nat DOCKER has no DNAT rule for it",
      "container ecs-web-static-2-nginx-8e0c2a4f6b1d3e5a7c01 (2068a6c8f60f) publishes 0.0.0.0:8080->80/tcp but no docker-proxy listens there (the userland proxy is on)",
    ]);
    expect(r.containers.map((c) => c.taskArn).filter(Boolean)).toHaveLength(2); // one task fewer than docker20-ecs
  });
});
