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
 *   ps -eo pid,args | grep '[d]ocker-proxy'      (only processes in this network namespace)
 *   iptables -w 5 -t nat -S DOCKER
 *   ps -eo args | grep '[d]ockerd'; grep -o '"userland-proxy"[^,}]*' /etc/docker/daemon.json
 *   cat /proc/sys/net/ipv4/ip_local_port_range
 *
 * Only reads; changes nothing. The exit status of the three commands that must work is
 * reported in an `exits` section and each one's own stderr in an `errors` section (the script
 * itself exits 0), so a host without Docker is a finding, not a failed run, and each problem
 * carries its own command's message. On a typical ECS instance the output is a few hundred
 * bytes per container, well inside SSM's 24,000 characters.
 *
 * Processes are read from the whole PID namespace, which can hold other hosts' Docker: a
 * container running its own dockerd, or another sandbox host on a lab machine (sandbox hosts
 * share the machine's PIDs). docker-proxy and dockerd run in the host's network namespace, so
 * only processes in the script's own (`readlink /proc/PID/ns/net`) are this host's.
 */
export interface DockerHostCheckOptions {
  /** The bridge whose address is read. @default "docker0" */
  bridge?: string;
  /** The nat chain holding the DNAT rules. @default "DOCKER" */
  natChain?: string;
}

/** The labels the ECS agent puts on a task's containers that the report carries (com.amazonaws.ecs.cluster is not read). */
const ECS_LABELS = ["com.amazonaws.ecs.task-arn", "com.amazonaws.ecs.task-definition-family", "com.amazonaws.ecs.container-name", "com.amazonaws.ecs.task-definition-version"];

/** The `docker ps` template: id, name, ports, then the four ECS labels (empty off ECS). */
export const DOCKER_PS_FORMAT = ["{{.ID}}", "{{.Names}}", "{{.Ports}}", ...ECS_LABELS.map((l) => `{{.Label "${l}"}}`)].join("\\t");

/** Section names, in script order. */
export const DOCKER_HOST_SECTIONS = ["bridge", "containers", "proxies", "dnat", "dockerd", "daemon-json", "port-range", "errors", "exits"] as const;
/** Sections an output must have; `errors` came later (an output without it is read with the combined stderr). */
const REQUIRED_SECTIONS = DOCKER_HOST_SECTIONS.filter((n) => n !== "errors");

/** The commands whose exit status and stderr are kept, by their key in `exits` and `errors`. */
const CHECKED = ["bridge", "containers", "dnat"] as const;

function names(o: DockerHostCheckOptions): { bridge: string; chain: string } {
  const bridge = o.bridge ?? "docker0";
  const chain = o.natChain ?? "DOCKER";
  // Values reach the shell quoted, but only sane names make sense here.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`bad bridge name ${JSON.stringify(bridge)}`);
  if (!/^[A-Za-z0-9_.-]{1,28}$/.test(chain)) throw new Error(`bad chain name ${JSON.stringify(chain)}`);
  return { bridge, chain };
}

/**
 * Each checked command runs as `err_KEY=$(CMD 2>&1 >&3); e_KEY=$?` (fd 3 is the script's
 * stdout): its output goes into its section, its stderr into a variable printed in `errors`
 * as `KEY: line` (three lines at most), its status into `exits`. When `iptables -S CHAIN`
 * fails, `exits` also says whether the chain exists (`dnat-chain=no`): iptables-nft answers a
 * missing chain with "chain `DOCKER' in table `nat' is incompatible, use 'nft' tool", which
 * misleads.
 */
export function dockerHostCheckScript(o: DockerHostCheckOptions = {}): string {
  const { bridge, chain } = names(o);
  const checked = (key: (typeof CHECKED)[number], command: string) => `err_${key}=$(${command} 2>&1 >&3); e_${key}=$?`;
  return script([
    "export LC_ALL=C",
    'PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
    "exec 3>&1",
    // `ps -eo pid,args` lines of processes in this network namespace (or whose namespace cannot be read).
    "me=$(readlink /proc/self/ns/net 2>/dev/null)",
    'here() { while read -r pid args; do n=$(readlink "/proc/$pid/ns/net" 2>/dev/null); [ -n "$n" ] && [ "$n" != "$me" ] || printf \'%s %s\\n\' "$pid" "$args"; done; }',
    mark("bridge"),
    checked("bridge", `ip -j addr show dev ${q(bridge)}`),
    mark("containers"),
    checked("containers", `docker ps --format ${q(DOCKER_PS_FORMAT)}`),
    mark("proxies"),
    "ps -eo pid,args | grep '[d]ocker-proxy' | here",
    mark("dnat"),
    checked("dnat", `iptables -w 5 -t nat -S ${q(chain)}`),
    `c_dnat=yes; if [ "$e_dnat" -ne 0 ]; then if s=$(iptables-save -t nat 2>/dev/null); then printf '%s\\n' "$s" | awk -v c=${q(`:${chain}`)} '$1 == c { f = 1 } END { exit !f }' || c_dnat=no; else c_dnat=unknown; fi; fi`,
    mark("dockerd"),
    "ps -eo pid,args | grep '[d]ockerd' | here | cut -d ' ' -f 2-",
    mark("daemon-json"),
    `grep -o '"userland-proxy"[^,}]*' /etc/docker/daemon.json 2>/dev/null`,
    mark("port-range"),
    "cat /proc/sys/net/ipv4/ip_local_port_range",
    mark("errors"),
    ...CHECKED.map((k) => `[ -z "$err_${k}" ] || printf '%s\\n' "$err_${k}" | head -n 3 | sed 's/^/${k}: /'`),
    mark("exits"),
    'echo "bridge=$e_bridge containers=$e_containers dnat=$e_dnat dnat-chain=$c_dnat"',
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
  /** The task definition's revision (com.amazonaws.ecs.task-definition-version). */
  revision?: string;
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
 * Read the script's output. Each failed command's problem carries that command's own stderr
 * (the `errors` section); `stderr`, the script's whole stderr, stands in for it only in the
 * output of an older script without that section. The consistency verdict covers every
 * container; `family`, when given, only selects which containers are listed in the report.
 */
export function parseDockerHostCheck(stdout: string, o: DockerHostCheckOptions & { stderr?: string; family?: string } = {}): DockerHostReport {
  const { bridge, chain } = names(o);
  const s = splitSections(stdout);
  const missing = REQUIRED_SECTIONS.filter((n) => !(n in s));
  if (missing.length) throw new Error(`the host check printed no ${missing.join(", ")} section${missing.length > 1 ? "s" : ""}: output was ${JSON.stringify(stdout.slice(0, 200))}`);
  const exits = Object.fromEntries((s.exits ?? "").split(/\s+/).map((kv) => kv.split("=")));
  const errors = errorsByCommand(s.errors, o.stderr);
  const failed = (key: (typeof CHECKED)[number], what: string): string | undefined => {
    const code = exits[key];
    if (code === "0") return undefined;
    const err = errors(key);
    return `\`${what}\` exited ${code ?? "?"}${err ? ` (stderr: ${err})` : ""}`;
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
  // iptables-nft says "incompatible" for a chain that is not there: say what it means instead.
  if (dnatFailed && exits["dnat-chain"] === "no") problems.push(`nat has no ${chain} chain: dockerd makes it when it starts (unless it runs with --iptables=false)`);
  else if (dnatFailed) problems.push(`cannot read nat ${chain}: ${dnatFailed}`);
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

/**
 * The stderr of each checked command, from the `errors` section ("dnat: iptables v1.8.9 …"),
 * joined into one line of at most 300 characters; without that section (an older script),
 * the first three lines of the script's whole stderr.
 */
function errorsByCommand(section: string | undefined, stderr = ""): (key: string) => string {
  if (section === undefined) {
    const all = stderr.trim().split("\n").slice(0, 3).join(" / ").slice(0, 300);
    return () => all;
  }
  const by = new Map<string, string[]>();
  for (const line of section.split("\n")) {
    const m = /^([a-z-]+): ?(.*)$/.exec(line);
    if (m) by.set(m[1], [...(by.get(m[1]) ?? []), m[2].trim()]);
  }
  return (key) => (by.get(key) ?? []).join(" / ").slice(0, 300);
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
  if (c.revision) r.revision = c.revision;
  return r;
}
