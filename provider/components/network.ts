import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "../resources/connectionInput";
import { macFromIPv4 } from "../host/mac";
import { checkIfname } from "../host/validate";
import { checkRuleName } from "../host/validateNetfilter";
import { Bridge } from "../resources/bridge";
import { BridgeIsolation } from "../resources/bridgeIsolation";
import { Egress } from "../resources/egress";
import type { HostConnection } from "../transport/connection";
import { AddressPlan, AddressRequest, Allocation, AllocationError, allocateAddresses, planAddresses } from "./allocation";
import { NetworkInspect, networkInspect } from "./inspect";
import type { NetworkFacts } from "./topology";

/**
 * A Docker-style bridge network: a Bridge holding the gateway address, egress NAT, optional
 * isolation, and deterministic addresses for the containers attached to it. Equivalent to
 * `docker network create --subnet 172.18.0.0/16 br0`, or by hand (seed 004):
 *
 *   ip link add br0 type bridge && ip addr add 172.18.0.1/16 dev br0 && ip link set br0 up
 *   sysctl -w net.ipv4.ip_forward=1
 *   iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE     # egress
 *   (Docker's isolation stages, when isolated or icc is off)
 *
 * Addresses: see allocation.ts for the rule (explicit address, then explicit index, then
 * the rest in natural name order into slots `first + i × step`; the gateway is the first
 * host unless given). Containers attach while the program declares them; the addresses are
 * handed out once the program's synchronous part has run (every container declared in the
 * same pass counts), and are known at preview. A container declared later (after an await,
 * inside an apply) must give `index` or `address`.
 *
 *   const net = new Network("br0", { connection, subnet: "172.18.0.0/16", allocation: { first: 10, step: 10 } });
 *   new Container("netns0", { connection, network: net });   // 172.18.0.10
 */
export interface NetworkArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** The network's name, as `docker network ls` shows it; also names its iptables rules. @default the resource name */
  name?: string;
  /** The kernel bridge: "docker0", "br0". @default name */
  bridgeName?: string;
  /** An IPv4 network, e.g. "172.18.0.0/16". */
  subnet: string;
  /** The bridge's address, the containers' default gateway. @default the first host of the subnet (172.18.0.1) */
  gateway?: string;
  /** MTU of the bridge and, by default, of the containers' veths. @default 1500 */
  mtu?: pulumi.Input<number>;
  /** Containers reach beyond the host: MASQUERADE and ip_forward (an Egress). @default true */
  egress?: boolean;
  /** Egress only through this uplink (`-o eth0`). Needs egress. @default every interface but the bridge */
  outInterface?: pulumi.Input<string>;
  /** Fenced from the other isolated networks, as Docker fences its networks (a BridgeIsolation). @default false */
  isolated?: boolean;
  /** Containers on this network may talk to each other (dockerd --icc). @default true */
  icc?: boolean;
  /** Bridges whose containers may connect in although both are isolated. Needs isolated. @default [] */
  allowFrom?: string[];
  /** Address slots: slot i is host offset `first + i × step`. @default { first: 2, step: 1 } (Docker: .2, .3, …) */
  allocation?: { first?: number; step?: number };
}

/** What a container asks of a network. */
export interface MemberRequest {
  /** The container's name; unique on the network. */
  container: string;
  index?: number;
  address?: string;
  /** An explicit MAC; default derived from the address, as Docker did. */
  mac?: string;
}

export interface Membership {
  /** "172.18.0.10/16" */
  cidr: pulumi.Output<string>;
  /** "172.18.0.10" */
  address: pulumi.Output<string>;
  mac: pulumi.Output<string>;
}

const show = (v: unknown) => JSON.stringify(v);

export class Network extends pulumi.ComponentResource {
  /** The network's name. */
  readonly name: string;
  readonly bridgeName: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly prefixLength: number;
  readonly egressEnabled: boolean;
  readonly isolated: boolean;
  readonly icc: boolean;
  readonly connection: pulumi.Input<HostConnectionInput>;
  readonly mtu: pulumi.Output<number>;
  readonly bridge: Bridge;
  readonly egress?: Egress;
  readonly isolation?: BridgeIsolation;
  /** Every member's address, in name order (known once the program has declared its containers). */
  readonly members: pulumi.Output<Allocation[]>;
  /** A `docker network inspect`-like view. */
  readonly inspect: pulumi.Output<NetworkInspect>;
  /** This network as the topology sees it. */
  readonly facts: pulumi.Output<NetworkFacts>;

  private readonly plan: AddressPlan;
  private readonly requests: Array<AddressRequest & { mac?: string }> = [];
  private sealed?: Allocation[];
  private resolveMembers!: (a: Allocation[]) => void;
  private readonly allocated: Promise<Allocation[]>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bridgelab:index:Network", name, {}, opts);
    const where = `Network "${name}"`;
    const fail = (message: string): never => {
      throw new Error(`${where}: ${message}`);
    };
    this.name = args.name ?? name;
    this.bridgeName = args.bridgeName ?? this.name;
    const p = checkRuleName("name", this.name) ?? checkIfname("bridgeName", this.bridgeName);
    if (p) fail(p);
    this.egressEnabled = args.egress ?? true;
    this.isolated = args.isolated ?? false;
    this.icc = args.icc ?? true;
    if (!this.egressEnabled && args.outInterface !== undefined) fail(`outInterface ${show(args.outInterface)} needs egress, but egress is false; drop one of them`);
    if (!this.isolated && (args.allowFrom ?? []).length > 0) fail(`allowFrom ${show(args.allowFrom)} opens exceptions to isolation, but isolated is false; set isolated: true or drop allowFrom`);
    try {
      this.plan = planAddresses({ subnet: args.subnet, gateway: args.gateway, first: args.allocation?.first, step: args.allocation?.step });
    } catch (e) {
      if (e instanceof AllocationError) fail(e.message);
      throw e;
    }
    this.subnet = this.plan.subnet;
    this.gateway = this.plan.gateway;
    this.prefixLength = this.plan.prefixLength;
    this.connection = args.connection;
    this.mtu = pulumi.output(args.mtu ?? 1500);

    const child = { parent: this };
    this.bridge = new Bridge(name, { connection: args.connection, name: this.bridgeName, address: `${this.gateway}/${this.prefixLength}`, mtu: this.mtu }, child);
    if (this.egressEnabled) {
      this.egress = new Egress(
        name,
        { connection: args.connection, name: this.name, bridge: this.bridge.name, subnet: this.subnet, ...(args.outInterface !== undefined ? { outInterface: args.outInterface } : {}) },
        { parent: this, dependsOn: [this.bridge] },
      );
    }
    if (this.isolated || !this.icc) {
      this.isolation = new BridgeIsolation(
        name,
        { connection: args.connection, bridge: this.bridge.name, isolated: this.isolated, icc: this.icc, allowFrom: args.allowFrom ?? [] },
        { parent: this, dependsOn: [this.bridge] },
      );
    }

    // Members are handed their addresses once the program's synchronous pass is over.
    this.allocated = new Promise((resolve) => (this.resolveMembers = resolve));
    setImmediate(() => this.seal());
    this.members = pulumi.output(this.allocated);
    this.facts = this.mtu.apply((mtu) => ({
      name: this.bridgeName,
      network: this.name,
      subnet: this.subnet,
      gateway: this.gateway,
      mtu,
      egress: this.egressEnabled,
      isolated: this.isolated,
      icc: this.icc,
    }));
    this.inspect = pulumi.all([this.facts, this.members]).apply(([facts, members]) =>
      networkInspect(
        facts,
        members.map((m) => ({ container: m.member, address: m.cidr, mac: this.requests.find((r) => r.member === m.member)?.mac ?? macFromIPv4(m.address) })),
      ),
    );
    this.registerOutputs({ name: this.name, bridgeName: this.bridgeName, subnet: this.subnet, gateway: this.gateway, inspect: this.inspect });
  }

  /**
   * Reserve an address for a container (Container calls this). Checks the request against
   * every member so far and throws, naming the container and the field, on a duplicate, an
   * address outside the subnet or a full subnet.
   */
  attach(req: MemberRequest): Membership {
    const label = `container "${req.container}" on network "${this.name}"`;
    const request: AddressRequest & { mac?: string } = { member: req.container, label };
    if (req.index !== undefined) request.index = req.index;
    if (req.address !== undefined) request.address = req.address;
    if (req.mac !== undefined) request.mac = req.mac;
    const all = [...this.requests, request];
    let result: Allocation[];
    try {
      result = allocateAddresses(this.plan, all);
    } catch (e) {
      if (e instanceof AllocationError) throw new Error(`${label}: ${e.message.startsWith(label) ? e.message.slice(label.length + 2) : e.message}`);
      throw e;
    }
    if (this.sealed) {
      if (req.index === undefined && req.address === undefined) {
        throw new Error(
          `${label}: the network handed out its addresses when the program's first pass ended; a container declared later (after an await or inside an apply) must give index or address`,
        );
      }
      const moved = this.sealed.find((s) => result.find((r) => r.member === s.member)!.address !== s.address);
      if (moved) throw new Error(`${label}: this address would move container "${moved.member}" (${moved.address}); give another index or address`);
      this.sealed = result;
    }
    this.requests.push(request);
    const mine = this.sealed ? Promise.resolve(result.find((r) => r.member === req.container)!) : this.allocated.then((a) => a.find((r) => r.member === req.container)!);
    return {
      cidr: pulumi.output(mine.then((a) => a.cidr)),
      address: pulumi.output(mine.then((a) => a.address)),
      mac: pulumi.output(mine.then((a) => req.mac ?? macFromIPv4(a.address))),
    };
  }

  private seal(): void {
    this.sealed = allocateAddresses(this.plan, this.requests);
    this.resolveMembers(this.sealed);
  }
}
