import { ruleOption, splitRuleLine } from "./topologyScripts";

/**
 * Parsers of what Docker's bridge mode leaves on a host, as an ECS container instance (or a lab
 * host imitating one) shows it. Pure: text in, plain data out. Each parser takes one command's
 * output; dockerHostScripts.ts runs them all in one script and puts the answers together.
 *
 *   parseDockerPs        docker ps --format '{{.ID}}\t{{.Names}}\t{{.Ports}}[\t<ECS labels>]'
 *   parsePortsColumn     the PORTS column alone: "0.0.0.0:8080->80/tcp, :::8080->80/tcp"
 *   parseDockerProxies   ps -eo pid,args | grep docker-proxy
 *   parseDnatRules       iptables -t nat -S DOCKER (any chain: bridgelab's BRIDGELAB-DNAT too)
 *   userlandProxyFrom    dockerd's arguments and daemon.json's "userland-proxy"
 *   checkPublishing      the verdict: every published port has its DNAT rule and docker-proxy
 *
 * Both formats Docker has used are read: Docker ≤ 26 prints IPv6 host addresses bare
 * (`:::8080->80/tcp`), Docker 27+ in brackets (`[::]:8080->80/tcp`); host addresses are
 * reported without brackets ("::"). Docker 28's docker-proxy adds `-use-listen-fd`.
 */

export type DockerProtocol = "tcp" | "udp" | "sctp";

/** One entry of the PORTS column that publishes a port: HOST_IP:HOST_PORT->PORT/PROTO. */
export interface DockerPublishedPort {
  /** "0.0.0.0", "::", "127.0.0.1"…, without brackets. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: DockerProtocol;
}

/** An exposed port nothing is published on: "80/tcp". */
export interface DockerExposedPort {
  containerPort: number;
  protocol: DockerProtocol;
}

/** A row of `docker ps`. The ECS fields come from the labels the ECS agent sets; absent elsewhere. */
export interface DockerContainer {
  /** Short id, as `docker ps` prints it. */
  id: string;
  name: string;
  /** Published ports, one per host address: 8080 on 0.0.0.0 and on :: are two entries. Ranges are expanded. */
  ports: DockerPublishedPort[];
  exposed: DockerExposedPort[];
  /** com.amazonaws.ecs.task-arn */
  taskArn?: string;
  /** com.amazonaws.ecs.task-definition-family */
  family?: string;
  /** com.amazonaws.ecs.container-name: the name in the task definition. */
  ecsContainer?: string;
  /** com.amazonaws.ecs.task-definition-version: the task definition's revision ("3" of family:3). */
  revision?: string;
}

/** A running docker-proxy: the userland proxy that listens on HOST_IP:HOST_PORT for a published port. */
export interface DockerProxy {
  pid: number;
  protocol: DockerProtocol;
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/** A DNAT rule: packets to HOST_IP:HOST_PORT go to CONTAINER_IP:CONTAINER_PORT. */
export interface DockerDnatRule {
  chain: string;
  protocol: DockerProtocol;
  /** "0.0.0.0" when the rule has no `-d`, else its address without /32. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  /** `-i` as iptables -L shows it: "!docker0" for `! -i docker0` (Docker with the userland proxy on); absent without -i. */
  inInterface?: string;
  /** The rule's `--comment`, if any (bridgelab tags its rules). */
  comment?: string;
}

const PROTOCOLS: readonly string[] = ["tcp", "udp", "sctp"];

/**
 * Parse the PORTS column of `docker ps`: entries separated by ", ", each either published
 * (`0.0.0.0:32768->80/tcp`, `[::]:8080->80/tcp`, `:::8080->80/tcp`, `127.0.0.1:8000-8001->80-81/tcp`)
 * or only exposed (`80/tcp`, `8000-8001/udp`). Throws on an entry it cannot read, naming it.
 */
export function parsePortsColumn(text: string): { published: DockerPublishedPort[]; exposed: DockerExposedPort[] } {
  const published: DockerPublishedPort[] = [];
  const exposed: DockerExposedPort[] = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const m = /^(?:(.*):(\d+)(?:-(\d+))?->)?(\d+)(?:-(\d+))?\/([a-z]+)$/.exec(entry);
    if (!m || !PROTOCOLS.includes(m[6])) throw new Error(`cannot read the docker ps port entry ${JSON.stringify(entry)}`);
    const protocol = m[6] as DockerProtocol;
    const containerFrom = Number(m[4]);
    const containerTo = m[5] ? Number(m[5]) : containerFrom;
    if (m[2] === undefined) {
      for (let p = containerFrom; p <= containerTo; p++) exposed.push({ containerPort: p, protocol });
      continue;
    }
    const hostIp = m[1].replace(/^\[(.*)\]$/, "$1") || "0.0.0.0";
    const hostFrom = Number(m[2]);
    const hostTo = m[3] ? Number(m[3]) : hostFrom;
    if (hostTo - hostFrom !== containerTo - containerFrom || hostTo < hostFrom) {
      throw new Error(`cannot read the docker ps port entry ${JSON.stringify(entry)}: host and container ranges differ in length`);
    }
    for (let i = 0; i <= hostTo - hostFrom; i++) published.push({ hostIp, hostPort: hostFrom + i, containerPort: containerFrom + i, protocol });
  }
  return { published, exposed };
}

/**
 * Parse `docker ps --format '{{.ID}}\t{{.Names}}\t{{.Ports}}'`, optionally followed by up to
 * four more tab-separated columns: the task ARN, task definition family, container name and
 * task definition version labels of ECS (`{{.Label "com.amazonaws.ecs.task-arn"}}`…), empty
 * for other containers.
 */
export function parseDockerPs(text: string): DockerContainer[] {
  const out: DockerContainer[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [id, name, ports = "", taskArn, family, ecsContainer, revision] = line.split("\t");
    if (!/^[0-9a-f]{12,64}$/.test(id ?? "") || !name) throw new Error(`cannot read the docker ps line ${JSON.stringify(line)}`);
    const { published, exposed } = parsePortsColumn(ports);
    const c: DockerContainer = { id, name, ports: published, exposed };
    if (taskArn) c.taskArn = taskArn;
    if (family) c.family = family;
    if (ecsContainer) c.ecsContainer = ecsContainer;
    if (revision) c.revision = revision;
    out.push(c);
  }
  return out;
}

/**
 * Parse `ps -eo pid,args` lines of docker-proxy processes:
 *
 *   25023 /usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2 -container-port 80
 *
 * (Docker 28 adds `-use-listen-fd`). Other lines (the header, a `grep docker-proxy`) are skipped.
 */
export function parseDockerProxies(text: string): DockerProxy[] {
  const out: DockerProxy[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words.length < 3 || !/^\d+$/.test(words[0]) || !/(^|\/)docker-proxy$/.test(words[1])) continue;
    const flag = (name: string) => {
      const i = words.indexOf(name);
      return i > 1 && i + 1 < words.length ? words[i + 1] : undefined;
    };
    const protocol = flag("-proto") ?? "tcp";
    const hostPort = Number(flag("-host-port"));
    const containerPort = Number(flag("-container-port"));
    const containerIp = flag("-container-ip");
    if (!PROTOCOLS.includes(protocol) || !Number.isInteger(hostPort) || !Number.isInteger(containerPort) || !containerIp) {
      throw new Error(`cannot read the docker-proxy process ${JSON.stringify(line.trim())}`);
    }
    out.push({ pid: Number(words[0]), protocol: protocol as DockerProtocol, hostIp: flag("-host-ip") ?? "0.0.0.0", hostPort, containerIp, containerPort });
  }
  return out;
}

/**
 * Parse the DNAT rules of `iptables -t nat -S CHAIN`:
 *
 *   -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
 *   -A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
 *
 * Other lines (`-N DOCKER`, `-A DOCKER -i docker0 -j RETURN`) are skipped; so are DNAT rules
 * without a single port (`--dport 8000:8001`, `--to-destination` without a port).
 */
export function parseDnatRules(text: string): DockerDnatRule[] {
  const out: DockerDnatRule[] = [];
  for (const line of text.split("\n")) {
    const { chain, words } = splitRuleLine(line.trim());
    if (!chain || ruleOption(words, "-j")?.value !== "DNAT") continue;
    const to = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(ruleOption(words, "--to-destination")?.value ?? "");
    const dport = ruleOption(words, "--dport")?.value ?? "";
    const protocol = ruleOption(words, "-p")?.value ?? "";
    if (!to || !/^\d+$/.test(dport) || !PROTOCOLS.includes(protocol)) continue;
    const rule: DockerDnatRule = {
      chain,
      protocol: protocol as DockerProtocol,
      hostIp: (ruleOption(words, "-d")?.value ?? "0.0.0.0").replace(/\/32$/, ""),
      hostPort: Number(dport),
      containerIp: to[1],
      containerPort: Number(to[2]),
    };
    const i = ruleOption(words, "-i");
    if (i) rule.inInterface = (i.negated ? "!" : "") + i.value;
    const comment = ruleOption(words, "--comment")?.value;
    if (comment) rule.comment = comment;
    out.push(rule);
  }
  return out;
}

/**
 * Whether dockerd runs its userland proxy: `--userland-proxy=false` on its command line or
 * `"userland-proxy": false` in daemon.json turn it off (the command line wins); on otherwise,
 * as it is by default (and on the ECS-optimized AMIs).
 *
 * @param dockerdArgs `ps -eo args` lines of dockerd
 * @param daemonJson what `grep -o '"userland-proxy"[^,}]*' /etc/docker/daemon.json` printed
 */
export function userlandProxyFrom(dockerdArgs: string, daemonJson: string): boolean {
  const flag = /--userland-proxy(?:=|\s+)(true|false)\b/.exec(dockerdArgs);
  if (flag) return flag[1] === "true";
  const json = /"userland-proxy"\s*:\s*(true|false)/.exec(daemonJson);
  return json ? json[1] === "true" : true;
}

/** What checkPublishing reads: one host's containers, proxies and DNAT rules. */
export interface PublishingState {
  containers: DockerContainer[];
  proxies: DockerProxy[];
  dnat: DockerDnatRule[];
  /** Whether every published port must have a docker-proxy. */
  userlandProxy: boolean;
  /** The chain the DNAT rules were read from, for messages. @default "DOCKER" */
  chain?: string;
}

const isV4 = (ip: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
const show = (ip: string) => (ip.includes(":") ? `[${ip}]` : ip);
const portText = (p: { hostIp: string; hostPort: number; containerPort: number; protocol: string }) =>
  `${show(p.hostIp)}:${p.hostPort}->${p.containerPort}/${p.protocol}`;

/**
 * The consistency verdict for one host, as a list of problems (empty: consistent):
 *
 * - every published port on an IPv4 address has a DNAT rule for its protocol, host address
 *   and port, to the container's port (IPv6 host addresses of a container without IPv6 are
 *   served by docker-proxy alone, so they need none);
 * - with the userland proxy on, every published port has a docker-proxy on the same address,
 *   and it forwards to the same container address as the DNAT rule;
 * - no DNAT rule or docker-proxy is left over without a container publishing its port;
 * - no two containers publish the same address and port.
 */
export function checkPublishing(s: PublishingState): string[] {
  const chain = s.chain ?? "DOCKER";
  const problems: string[] = [];
  const usedRules = new Set<DockerDnatRule>();
  const usedProxies = new Set<DockerProxy>();
  const owners = new Map<string, string>();
  for (const c of s.containers) {
    for (const p of c.ports) {
      const key = `${p.protocol} ${p.hostIp} ${p.hostPort}`;
      const other = owners.get(key);
      if (other) problems.push(`${other} and ${c.name} both publish ${show(p.hostIp)}:${p.hostPort}/${p.protocol}`);
      owners.set(key, c.name);
      const what = `container ${c.name} (${c.id}) publishes ${portText(p)}`;
      const rules = s.dnat.filter((r) => r.protocol === p.protocol && r.hostPort === p.hostPort && r.containerPort === p.containerPort && r.hostIp === p.hostIp);
      rules.forEach((r) => usedRules.add(r));
      if (isV4(p.hostIp) && rules.length === 0) problems.push(`${what} but nat ${chain} has no DNAT rule for it`);
      const proxies = s.proxies.filter((x) => x.protocol === p.protocol && x.hostPort === p.hostPort && x.containerPort === p.containerPort && x.hostIp === p.hostIp);
      proxies.forEach((x) => usedProxies.add(x));
      if (s.userlandProxy && proxies.length === 0) problems.push(`${what} but no docker-proxy listens there (the userland proxy is on)`);
      for (const r of rules) {
        for (const x of proxies.filter((x) => x.containerIp !== r.containerIp)) {
          problems.push(`${what} but its DNAT rule goes to ${r.containerIp}:${r.containerPort} and its docker-proxy (pid ${x.pid}) to ${x.containerIp}:${x.containerPort}`);
        }
      }
    }
  }
  for (const r of s.dnat.filter((r) => !usedRules.has(r))) {
    problems.push(`nat ${chain} DNATs ${show(r.hostIp)}:${r.hostPort}/${r.protocol} to ${r.containerIp}:${r.containerPort} but no running container publishes it`);
  }
  for (const x of s.proxies.filter((x) => !usedProxies.has(x))) {
    problems.push(`docker-proxy (pid ${x.pid}) listens on ${show(x.hostIp)}:${x.hostPort}/${x.protocol} for ${x.containerIp}:${x.containerPort} but no running container publishes it`);
  }
  return problems;
}
