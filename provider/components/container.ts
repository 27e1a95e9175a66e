import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "../resources/connectionInput";
import { createHash } from "node:crypto";
import { checkMac, normalizeMac } from "../host/mac";
import { ANY_IP, Protocol, checkHostIp, checkHostPort, checkPort } from "../host/portChecks";
import { checkIfname, checkNetnsName } from "../host/validate";
import { NetNamespace } from "../resources/netNamespace";
import { PortPublish } from "../resources/portPublish";
import { Process } from "../resources/process";
import { VethPair } from "../resources/vethPair";
import type { HostConnection } from "../transport/connection";
import { Membership, Network } from "./network";
import type { AttachmentFacts, ContainerFacts, ContainerMode, PortProbe, TopologyExpose } from "./topology";

/**
 * A Docker-style container, networking only: a network namespace, one veth per network
 * (the peer named eth0, eth1… inside, as Docker names them), addresses from the networks,
 * a default route via the first network's gateway, a MAC derived from the IPv4 address,
 * the workload as a Process, and published ports. `docker run --network MODE` has four modes:
 *
 *   network: net                  bridge mode: `ip netns add web; ip link add vethXXX type veth
 *                                 peer name eth0 netns web; ip link set vethXXX master docker0;
 *                                 ip -n web addr add 172.17.0.2/16 dev eth0;
 *                                 ip -n web route add default via 172.17.0.1`
 *   network: "host"               no namespace: the workload runs in the host's
 *   network: "none"               a namespace with only its loopback
 *   network: { container: other } container mode: the workload runs in other's namespace
 *                                 (same addresses; the two talk over 127.0.0.1)
 *
 *   const web = new Container("web", { connection, network: docker0, command: helloServerCommand(80, "hi"),
 *                                      ports: [{ hostPort: 8080, port: 80 }] });
 */
export interface ContainerArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** The container's name: its namespace's, its process's, and its rules' prefix. @default the resource name */
  name?: string;
  /** The network mode (see above). */
  network: Network | NetworkAttachment | "host" | "none" | { container: Container };
  /** More networks, in bridge mode only: eth1, eth2… (seed 001's backend on "default" and "database"). @default [] */
  networks?: Array<Network | NetworkAttachment>;
  /** MTU of the veths. @default each network's MTU */
  mtu?: pulumi.Input<number>;
  /**
   * The workload: a program and its arguments (no shell), or a function of the container's
   * first address for a workload that binds to it (seed 004's server on 172.18.0.10:5000):
   * `command: (address) => address.apply((a) => helloServerCommand(5000, "hi", a))`.
   * @default none: an idle namespace
   */
  command?: pulumi.Input<pulumi.Input<string>[]> | ((address: pulumi.Output<string>) => pulumi.Input<pulumi.Input<string>[]>);
  /** The workload's environment (besides PATH). */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The workload's working directory. */
  workdir?: pulumi.Input<string>;
  /** Ports the workload listens on (Dockerfile EXPOSE), for documentation and verification. @default [] */
  expose?: ExposeSpec[];
  /** Published ports (`-p hostIp:hostPort:port/protocol`), bridge mode only. @default [] */
  ports?: PortSpec[];
}

export interface NetworkAttachment {
  network: Network;
  /** Take address slot `index` of the network (see allocation.ts). @default the next slot in name order */
  index?: number;
  /** An explicit address in the network's subnet. */
  address?: string;
  /** The interface inside the namespace. @default "eth0", "eth1"… in order */
  ifname?: string;
  /** The host end's name. @default "veth" + 7 hex digits of a hash of container and ifname, like Docker's */
  hostIfname?: string;
  /** @default derived from the IPv4 address (172.17.0.2 → 02:42:ac:11:00:02) */
  mac?: string;
}

export interface ExposeSpec {
  port: number;
  /** @default "tcp" */
  protocol?: Protocol;
  /** Where the workload listens. @default "any" */
  bind?: "any" | "address" | "localhost";
  /** How verification checks it. @default "tcp" */
  probe?: PortProbe;
}

export interface PortSpec {
  /** The container's port. */
  port: number;
  /** The host's port; 0 takes a free one (`-p 80`, or `-P`). @default 0 */
  hostPort?: number;
  /** @default "tcp" */
  protocol?: Protocol;
  /** @default "0.0.0.0" */
  hostIp?: string;
  /** How verification checks it. @default the probe of the matching `expose` entry, else "tcp" with a command and "none" without */
  probe?: PortProbe;
}

/** One interface as exported: Docker's NetworkSettings.Networks entry, roughly. */
export interface ContainerInterface {
  ifname: string;
  hostIfname: string;
  bridge: string;
  /** "172.17.0.2" */
  address: string;
  prefixLength: number;
  gateway?: string;
  mac: string;
}

/** What a stack exports per container. */
export interface ContainerSummary {
  name: string;
  mode: ContainerMode;
  netns?: string;
  pid?: number;
  /** By network name. */
  networks: Record<string, ContainerInterface>;
  /** `docker port`-like: "80/tcp" → [{ hostIp, hostPort }]; dynamic ports show the allocated one. */
  ports: Record<string, Array<{ hostIp: string; hostPort: number; requestedHostPort: number }>>;
  /** `docker ps`-like: "0.0.0.0:8080->80/tcp". */
  published: string[];
}

const show = (v: unknown) => JSON.stringify(v);
const hex7 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 7);

/** A rule tag name: NAME-PROTO-PORT[-N], cut with a hash when longer than 64. */
function publishName(container: string, p: { protocol: string; port: number }, n: number): string {
  const base = `${container}-${p.protocol}-${p.port}${n > 0 ? `-${n}` : ""}`;
  return base.length <= 64 ? base : `${base.slice(0, 55)}-${hex7(base)}`;
}

interface Leg {
  network: Network;
  ifname: string;
  hostIfname: string;
  index?: number;
  address?: string;
  mac?: string;
}

export class Container extends pulumi.ComponentResource {
  readonly name: string;
  readonly mode: ContainerMode;
  /** The namespace the workload runs in (its own, or the shared one); undefined in host mode. */
  readonly netns: pulumi.Output<string | undefined>;
  /** The first network's address ("172.17.0.2"), for a workload that binds to it; undefined outside bridge mode. */
  readonly address: pulumi.Output<string | undefined>;
  readonly namespace?: NetNamespace;
  readonly veths: VethPair[] = [];
  readonly process?: Process;
  readonly publishes: PortPublish[] = [];
  /** The container as the topology sees it. */
  readonly facts: pulumi.Output<ContainerFacts>;
  /**
   * The same without what only the host knows after a step (the workload's pid): known at
   * preview whenever the addresses and ports are, so the expected paths built from it are too.
   */
  readonly declaredFacts: pulumi.Output<ContainerFacts>;
  /** What a user wants after up: addresses, MACs, published ports (allocated ones included). */
  readonly summary: pulumi.Output<ContainerSummary>;
  /** What another container sharing this one's namespace must wait for. */
  readonly networkResources: pulumi.Resource[];
  /** The owner of the namespace, in container mode. */
  readonly sharesWith?: Container;
  /** The namespace's name as declared (own or shared); undefined in host mode. */
  readonly netnsName?: string;

  constructor(name: string, args: ContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bridgelab:index:Container", name, {}, opts);
    const where = `Container "${name}"`;
    const fail = (message: string): never => {
      throw new Error(`${where}: ${message}`);
    };
    this.name = args.name ?? name;
    const bad = checkNetnsName("name", this.name);
    if (bad) fail(bad);

    // The mode, and the arguments that conflict with it.
    const mode = args.network;
    if (mode !== "host" && mode !== "none" && (typeof mode !== "object" || mode === null || !(mode instanceof Network || "network" in mode || "container" in mode))) {
      fail(`network must be a Network, { network, index?, address? }, "host", "none" or { container }, got ${show(mode)}`);
    }
    this.mode = mode === "host" || mode === "none" ? mode : mode instanceof Network || "network" in mode ? "bridge" : "container";
    const modeText = this.mode === "bridge" ? "a network" : this.mode === "container" ? `{ container: … }` : show(this.mode);
    if (this.mode !== "bridge" && (args.networks ?? []).length > 0) {
      fail(`networks attaches more networks in bridge mode, but network is ${modeText}; drop networks, or make network a Network`);
    }
    if (this.mode !== "bridge" && (args.ports ?? []).length > 0) {
      fail(
        this.mode === "host"
          ? `ports cannot be combined with network "host": the workload listens on the host's own ports, there is nothing to publish (Docker discards them)`
          : `ports cannot be combined with network ${modeText}: conflicting options: port publishing and the container type network mode`,
      );
    }
    const expose = (args.expose ?? []).map((e, i): TopologyExpose => {
      const p = checkPort(`expose[${i}].port`, e.port);
      if (p) fail(p);
      return { port: e.port, protocol: e.protocol ?? "tcp", bind: e.bind ?? "any", probe: e.probe ?? "tcp" };
    });
    const ports = this.checkPorts(args.ports ?? [], expose, args.command !== undefined, fail);

    const child = { parent: this };
    const connection = args.connection;

    if (this.mode === "container") {
      const owner = (mode as { container: Container }).container;
      if (!(owner instanceof Container)) fail(`network { container } must name a Container, got ${show(owner)}`);
      if (owner.mode === "container") fail(`network { container: "${owner.name}" } shares a namespace that "${owner.name}" itself shares with "${owner.sharesWith!.name}"; share with "${owner.sharesWith!.name}" instead`);
      this.sharesWith = owner;
      this.netnsName = owner.netnsName;
      this.netns = owner.netns;
      this.address = owner.address;
      this.networkResources = owner.networkResources;
    } else if (this.mode === "host") {
      this.netns = pulumi.output(undefined);
      this.address = pulumi.output(undefined);
      this.networkResources = [];
    } else {
      this.namespace = new NetNamespace(name, { connection, name: this.name }, child);
      this.netnsName = this.name;
      this.netns = this.namespace.name.apply((n) => n as string | undefined);
      const legs = this.mode === "bridge" ? this.legsOf([mode as Network | NetworkAttachment, ...(args.networks ?? [])], fail) : [];
      const memberships = legs.map((l) => l.network.attach({ container: this.name, index: l.index, address: l.address, mac: l.mac }));
      legs.forEach((l, i) => {
        const m = memberships[i];
        this.veths.push(
          new VethPair(
            `${name}-${l.ifname}`,
            {
              connection,
              name: l.hostIfname,
              netns: this.namespace!.name,
              peerIfname: l.ifname,
              bridge: l.network.bridge.name,
              address: m.cidr,
              ...(i === 0 ? { gateway: l.network.gateway } : {}),
              mtu: args.mtu ?? l.network.mtu,
              mac: m.mac,
            },
            { parent: this, dependsOn: [l.network.bridge] },
          ),
        );
      });
      this.address = memberships.length > 0 ? memberships[0].address.apply((a) => a as string | undefined) : pulumi.output(undefined);
      this.memberships = memberships;
      this.networkResources = [this.namespace, ...this.veths];
      this.legs = legs;
    }

    if (args.command !== undefined) {
      let command = args.command;
      if (typeof command === "function") {
        if (this.mode !== "bridge" && !(this.mode === "container" && this.sharesWith!.mode === "bridge")) {
          fail(`command is a function of the container's address, but network is ${modeText}, which gives no address of its own; give the command as a list`);
        }
        command = command(this.address as pulumi.Output<string>);
      }
      this.command = pulumi.output(command) as pulumi.Output<string[]>;
      this.process = new Process(
        name,
        {
          connection,
          name: this.name,
          ...(this.mode === "host" ? {} : { netns: this.netns as pulumi.Output<string> }),
          command,
          ...(args.env !== undefined ? { env: args.env } : {}),
          ...(args.workdir !== undefined ? { workdir: args.workdir } : {}),
        },
        { parent: this, dependsOn: this.networkResources },
      );
    }

    if (this.mode === "bridge") {
      const primary = this.legs[0];
      const counts = new Map<string, number>();
      for (const p of ports) {
        const key = `${p.protocol}-${p.port}`;
        const n = counts.get(key) ?? 0;
        counts.set(key, n + 1);
        this.publishes.push(
          new PortPublish(
            `${name}-${p.protocol}-${p.port}${n > 0 ? `-${n}` : ""}`,
            {
              connection,
              name: publishName(this.name, p, n),
              protocol: p.protocol,
              hostIp: p.hostIp,
              hostPort: p.hostPort,
              address: this.address as pulumi.Output<string>,
              port: p.port,
              bridge: primary.network.bridge.name,
              subnet: primary.network.subnet,
            },
            { parent: this, dependsOn: this.veths },
          ),
        );
      }
    }

    this.declaredFacts = this.buildFacts(expose, ports, false);
    this.facts = this.buildFacts(expose, ports, true);
    this.summary = this.facts.apply((f) => summarize(f));
    this.registerOutputs({ name: this.name, mode: this.mode, summary: this.summary });
  }

  private legs: Leg[] = [];
  private memberships: Membership[] = [];
  private command?: pulumi.Output<string[]>;

  private legsOf(list: Array<Network | NetworkAttachment>, fail: (m: string) => never): Leg[] {
    const legs: Leg[] = list.map((a, i) => {
      const att: NetworkAttachment = a instanceof Network ? { network: a } : a;
      if (!(att.network instanceof Network)) fail(`${i === 0 ? "network" : `networks[${i - 1}]`}.network must be a Network, got ${show(att.network)}`);
      const ifname = att.ifname ?? `eth${i}`;
      return {
        network: att.network,
        ifname,
        hostIfname: att.hostIfname ?? `veth${hex7(`${this.name}/${ifname}`)}`,
        ...(att.index !== undefined ? { index: att.index } : {}),
        ...(att.address !== undefined ? { address: att.address } : {}),
        ...(att.mac !== undefined ? { mac: att.mac } : {}),
      };
    });
    const field = (i: number, f: string) => (i === 0 ? `network.${f}` : `networks[${i - 1}].${f}`);
    legs.forEach((l, i) => {
      const p = checkIfname(field(i, "ifname"), l.ifname) ?? checkIfname(field(i, "hostIfname"), l.hostIfname) ?? (l.mac !== undefined ? checkMac(field(i, "mac"), l.mac) : undefined);
      if (p) fail(p);
      if (l.mac !== undefined) l.mac = normalizeMac(l.mac);
      if (l.index !== undefined && l.address !== undefined) fail(`${field(i, "index")} ${l.index} and ${field(i, "address")} ${show(l.address)} both choose the address; give one`);
      for (let j = 0; j < i; j++) {
        if (legs[j].network === l.network) fail(`${field(i, "network")} attaches network "${l.network.name}" a second time (already ${field(j, "network")})`);
        if (legs[j].ifname === l.ifname) fail(`${field(i, "ifname")} ${show(l.ifname)} is already ${field(j, "ifname")}`);
        if (legs[j].hostIfname === l.hostIfname) fail(`${field(i, "hostIfname")} ${show(l.hostIfname)} is already ${field(j, "hostIfname")}`);
      }
    });
    return legs;
  }

  private checkPorts(ports: PortSpec[], expose: TopologyExpose[], hasCommand: boolean, fail: (m: string) => never): Array<Required<PortSpec>> {
    const out = ports.map((p, i): Required<PortSpec> => {
      const protocol = p.protocol ?? "tcp";
      const hostIp = p.hostIp ?? ANY_IP;
      const hostPort = p.hostPort ?? 0;
      const problem =
        checkPort(`ports[${i}].port`, p.port) ??
        checkHostPort(`ports[${i}].hostPort`, hostPort) ??
        checkHostIp(`ports[${i}].hostIp`, hostIp) ??
        (protocol !== "tcp" && protocol !== "udp" ? `ports[${i}].protocol ${show(protocol)} must be "tcp" or "udp"` : undefined);
      if (problem) fail(problem);
      const exposed = expose.find((e) => e.port === p.port && e.protocol === protocol);
      return { port: p.port, hostPort, protocol, hostIp, probe: p.probe ?? exposed?.probe ?? (hasCommand ? "tcp" : "none") };
    });
    out.forEach((p, i) => {
      if (p.hostPort === 0) return;
      const j = out.findIndex((q, k) => k < i && q.hostPort === p.hostPort && q.protocol === p.protocol && (q.hostIp === p.hostIp || q.hostIp === ANY_IP || p.hostIp === ANY_IP));
      if (j >= 0) fail(`ports[${i}] and ports[${j}] both publish ${p.protocol} host port ${p.hostPort} (hostIp ${p.hostIp} and ${out[j].hostIp}): Bind for ${p.hostIp}:${p.hostPort} failed: port is already allocated`);
    });
    return out;
  }

  /**
   * Addresses and MACs as allocated (what the veths are told to hold; read-back drift is the
   * VethPair's business and is repaired by the next up), static host ports as declared and
   * dynamic ones as allocated, and with `withPid` the workload's pid.
   */
  private buildFacts(expose: TopologyExpose[], ports: Array<Required<PortSpec>>, withPid: boolean): pulumi.Output<ContainerFacts> {
    const legs = this.legs;
    const attachments = pulumi.all(
      this.memberships.map((m, i) =>
        pulumi.all([m.cidr, m.mac]).apply(
          ([address, mac]): AttachmentFacts => ({
            ifname: legs[i].ifname,
            hostIfname: legs[i].hostIfname,
            bridge: legs[i].network.bridgeName,
            network: legs[i].network.name,
            address,
            mac,
          }),
        ),
      ),
    );
    const published = pulumi.all(
      this.publishes.map((pp, i) =>
        pulumi.all([ports[i].hostPort === 0 ? pp.hostPort : ports[i].hostPort, this.address]).apply(([hostPort, address]) => ({
          protocol: ports[i].protocol,
          hostIp: ports[i].hostIp,
          hostPort,
          requestedHostPort: ports[i].hostPort,
          address: address ?? "",
          port: ports[i].port,
          bridge: legs[0].network.bridgeName,
          probe: ports[i].probe,
        })),
      ),
    );
    const command = this.command ?? pulumi.output(undefined);
    const pid = this.process && withPid ? this.process.pid : pulumi.output(undefined);
    return pulumi.all([attachments, published, command, pid]).apply(([atts, pubs, cmd, p]) => {
      const f: ContainerFacts = { name: this.name, mode: this.mode, attachments: atts, expose, ports: pubs };
      if (this.netnsName !== undefined) f.netns = this.netnsName;
      if (this.sharesWith) f.sharesWith = this.sharesWith.name;
      if (legs.length > 0) f.gateway = legs[0].network.gateway;
      if (cmd !== undefined) f.workload = p !== undefined ? { command: cmd, pid: p } : { command: cmd };
      return f;
    });
  }
}

/** The exported view of a container, from its facts. Pure. */
export function summarize(f: ContainerFacts): ContainerSummary {
  const networks: ContainerSummary["networks"] = {};
  f.attachments.forEach((a, i) => {
    const [address, prefix] = a.address.split("/");
    networks[a.network] = { ifname: a.ifname, hostIfname: a.hostIfname, bridge: a.bridge, address, prefixLength: Number(prefix), mac: a.mac, ...(i === 0 && f.gateway ? { gateway: f.gateway } : {}) };
  });
  const ports: ContainerSummary["ports"] = {};
  for (const p of f.ports) (ports[`${p.port}/${p.protocol}`] ??= []).push({ hostIp: p.hostIp, hostPort: p.hostPort, requestedHostPort: p.requestedHostPort });
  const s: ContainerSummary = {
    name: f.name,
    mode: f.mode,
    networks,
    ports,
    published: f.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.port}/${p.protocol}`),
  };
  if (f.netns !== undefined) s.netns = f.netns;
  if (f.workload?.pid !== undefined) s.pid = f.workload.pid;
  return s;
}
