import {
  DockerContainer,
  DockerDnatRule,
  DockerProtocol,
  DockerProxy,
  checkPublishing,
  parseDnatRules,
  parseDockerProxies,
  parseDockerPs,
  userlandProxyFrom,
} from "./dockerParsers";
import { globalCidrs, parseIpAddrJson } from "./ipJson";
import { shQuote as q } from "./quote";
import { script } from "./script";
import { sectionMarker as mark, splitSections } from "./sections";

/**
 * One compact script that reads how a Docker host publishes ports, for EcsHostCheck: the
 * bridge's address, `docker ps`, the docker-proxy processes, the DNAT rules, dockerd's
 * userland-proxy setting and the ephemeral port range, each under its own section, so one
 * round trip (one SSM command) brings back everything. Equivalent to:
 *
 *   ip -j addr show dev docker0
 *   docker ps --format '{{.ID}}\t{{.Names}}\t{{.Ports}}\t{{.Label "com.amazonaws.ecs.task-arn"}}…'
 *   ps -eo pid,args | grep '[d]ocker-proxy'
 *   iptables -w 5 -t nat -S DOCKER
 *   ps -eo args | grep '[d]ockerd'; grep -o '"userland-proxy"[^,}]*' /etc/docker/daemon.json
 *   cat /proc/sys/net/ipv4/ip_local_port_range
 *
 * Only reads; changes nothing. The exit status of the three commands that must work is
 * reported in an `exits` section (the script itself exits 0), so a host without Docker is a
 * finding, not a failed run. On a typical ECS instance the output is a few hundred bytes per
 * container, well inside SSM's 24,000 characters.
 */
export interface DockerHostCheckOptions {
  /** The bridge whose address is read. @default "docker0" */
  bridge?: string;
  /** The nat chain holding the DNAT rules. @default "DOCKER" */
  natChain?: string;
}

const ECS_LABELS = ["com.amazonaws.ecs.task-arn", "com.amazonaws.ecs.task-definition-family", "com.amazonaws.ecs.container-name"];

/** The `docker ps` template: id, name, ports, then the three ECS labels (empty off ECS). */
export const DOCKER_PS_FORMAT = ["{{.ID}}", "{{.Names}}", "{{.Ports}}", ...ECS_LABELS.map((l) => `{{.Label "${l}"}}`)].join("\\t");

/** Section names, in script order. */
export const DOCKER_HOST_SECTIONS = ["bridge", "containers", "proxies", "dnat", "dockerd", "daemon-json", "port-range", "exits"] as const;

function names(o: DockerHostCheckOptions): { bridge: string; chain: string } {
  const bridge = o.bridge ?? "docker0";
  const chain = o.natChain ?? "DOCKER";
  // Values reach the shell quoted, but only sane names make sense here.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`bad bridge name ${JSON.stringify(bridge)}`);
  if (!/^[A-Za-z0-9_.-]{1,28}$/.test(chain)) throw new Error(`bad chain name ${JSON.stringify(chain)}`);
  return { bridge, chain };
}

export function dockerHostCheckScript(o: DockerHostCheckOptions = {}): string {
  const { bridge, chain } = names(o);
  return script([
    "export LC_ALL=C",
    'PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
    mark("bridge"),
    `ip -j addr show dev ${q(bridge)}; e_bridge=$?`,
    mark("containers"),
    `docker ps --format ${q(DOCKER_PS_FORMAT)}; e_containers=$?`,
    mark("proxies"),
    "ps -eo pid,args | grep '[d]ocker-proxy'",
    mark("dnat"),
    `iptables -w 5 -t nat -S ${q(chain)}; e_dnat=$?`,
    mark("dockerd"),
    "ps -eo args | grep '[d]ockerd'",
    mark("daemon-json"),
    `grep -o '"userland-proxy"[^,}]*' /etc/docker/daemon.json 2>/dev/null`,
    mark("port-range"),
    "cat /proc/sys/net/ipv4/ip_local_port_range",
    mark("exits"),
    'echo "bridge=$e_bridge containers=$e_containers dnat=$e_dnat"',
    "exit 0",
  ]);
}

/** A published port as EcsHostCheck reports it: one row per container port, all its host addresses together. */
export interface HostPortMapping {
  protocol: DockerProtocol;
  containerPort: number;
  hostPort: number;
  /** ["0.0.0.0", "::"] for a port published on every address of both families. */
  hostIps: string[];
  /** The host port lies in the host's ip_local_port_range, where dynamic host ports (hostPort 0) come from. */
  ephemeral: boolean;
}

export interface ContainerReport {
  id: string;
  name: string;
  taskArn?: string;
  family?: string;
  ecsContainer?: string;
  ports: HostPortMapping[];
}

/** What one host showed. */
export interface DockerHostReport {
  /** The bridge's first global address in CIDR form ("172.17.0.1/16"); absent when it has none or does not exist. */
  bridgeAddress?: string;
  containers: ContainerReport[];
  proxies: DockerProxy[];
  dnat: DockerDnatRule[];
  /** Whether the userland proxy is on (dockerd's flag or daemon.json; on by default). */
  userlandProxy: boolean;
  /** ip_local_port_range, e.g. [32768, 60999]. */
  ephemeralRange?: [number, number];
  /** Empty when every published port has its DNAT rule (and docker-proxy) and nothing is left over. */
  problems: string[];
  consistent: boolean;
}

/**
 * Read the script's output. `stderr` goes into the problem of a command that failed. The
 * consistency verdict covers every container; `family`, when given, only selects which
 * containers are listed in the report.
 */
export function parseDockerHostCheck(stdout: string, o: DockerHostCheckOptions & { stderr?: string; family?: string } = {}): DockerHostReport {
  const { bridge, chain } = names(o);
  const s = splitSections(stdout);
  const missing = DOCKER_HOST_SECTIONS.filter((n) => !(n in s));
  if (missing.length) throw new Error(`the host check printed no ${missing.join(", ")} section${missing.length > 1 ? "s" : ""}: output was ${JSON.stringify(stdout.slice(0, 200))}`);
  const exits = Object.fromEntries((s.exits ?? "").split(/\s+/).map((kv) => kv.split("=")));
  const failed = (key: string, what: string): string | undefined => {
    const code = exits[key];
    if (code === "0") return undefined;
    const err = (o.stderr ?? "").trim();
    return `\`${what}\` exited ${code ?? "?"}${err ? ` (stderr: ${err.split("\n").slice(0, 3).join(" / ").slice(0, 300)})` : ""}`;
  };

  const problems: string[] = [];
  const bridgeFailed = failed("bridge", `ip -j addr show dev ${bridge}`);
  const bridgeAddress = bridgeFailed ? undefined : globalCidrs(parseIpAddrJson(s.bridge)[0]).find((c) => !c.includes(":"));
  if (bridgeFailed) problems.push(`no bridge ${bridge}: ${bridgeFailed}`);
  else if (!bridgeAddress) problems.push(`bridge ${bridge} has no IPv4 address`);

  const psFailed = failed("containers", "docker ps");
  if (psFailed) problems.push(`cannot list containers: ${psFailed}`);
  const containers: DockerContainer[] = psFailed ? [] : parseDockerPs(s.containers);
  const dnatFailed = failed("dnat", `iptables -t nat -S ${chain}`);
  if (dnatFailed) problems.push(`cannot read nat ${chain}: ${dnatFailed}`);
  const dnat = dnatFailed ? [] : parseDnatRules(s.dnat);
  const proxies = parseDockerProxies(s.proxies);
  const userlandProxy = userlandProxyFrom(s.dockerd, s["daemon-json"]);
  const range = /^(\d+)\s+(\d+)$/.exec(s["port-range"].trim());
  const ephemeralRange: [number, number] | undefined = range ? [Number(range[1]), Number(range[2])] : undefined;

  if (!psFailed && !dnatFailed) problems.push(...checkPublishing({ containers, proxies, dnat, userlandProxy, chain }));
  const listed = o.family === undefined ? containers : containers.filter((c) => c.family === o.family);
  const report: DockerHostReport = {
    containers: listed.map((c) => containerReport(c, ephemeralRange)),
    proxies,
    dnat,
    userlandProxy,
    problems,
    consistent: problems.length === 0,
  };
  if (bridgeAddress) report.bridgeAddress = bridgeAddress;
  if (ephemeralRange) report.ephemeralRange = ephemeralRange;
  return report;
}

function containerReport(c: DockerContainer, range: [number, number] | undefined): ContainerReport {
  const byPort = new Map<string, HostPortMapping>();
  for (const p of c.ports) {
    const key = `${p.protocol} ${p.containerPort} ${p.hostPort}`;
    const row = byPort.get(key);
    if (row) {
      if (!row.hostIps.includes(p.hostIp)) row.hostIps.push(p.hostIp);
      continue;
    }
    byPort.set(key, {
      protocol: p.protocol,
      containerPort: p.containerPort,
      hostPort: p.hostPort,
      hostIps: [p.hostIp],
      ephemeral: !!range && p.hostPort >= range[0] && p.hostPort <= range[1],
    });
  }
  const r: ContainerReport = { id: c.id, name: c.name, ports: [...byPort.values()] };
  if (c.taskArn) r.taskArn = c.taskArn;
  if (c.family) r.family = c.family;
  if (c.ecsContainer) r.ecsContainer = c.ecsContainer;
  return r;
}
