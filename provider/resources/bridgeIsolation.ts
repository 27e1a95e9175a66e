import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { IsolationSpec, isolationCreateScript, isolationDeleteScript, isolationReadScript, isolationRules, isolationTag, isolationUpdateScript } from "../host/isolationScripts";
import { foreignOwnerMessage } from "../host/owner";
import { shJoin } from "../host/quote";
import { ownedRuleArgs } from "../host/ruleSet";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { checkIfname } from "../host/validate";
import { checkBoolean, checkIfnameList } from "../host/validateNetfilter";
import type { HostConnection } from "../transport/connection";
import { CommandError, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, diffFields, failures, isUnknown, ownerFailures, ownerOfProps } from "./contract";
import { onHostLocked } from "./hostLock";
import { ownerInput } from "./ownerInput";

/**
 * How a bridge's traffic is fenced, as Docker fences its networks: containers on an
 * isolated bridge cannot reach, nor be reached from, containers on other isolated bridges
 * (DOCKER-ISOLATION-STAGE-1/2); with `icc: false` they cannot reach each other either
 * (dockerd --icc=false); `allowFrom` opens the exceptions a lab asks for. Equivalent to, for
 * br-a isolated from br-b except for connections from br-b, icc off:
 *
 *   iptables -I BRIDGELAB-ISOLATION-STAGE-1 -i br-b -o br-a -j RETURN
 *   iptables -I BRIDGELAB-ISOLATION-STAGE-1 -i br-a -o br-b -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
 *   iptables -A BRIDGELAB-ISOLATION-STAGE-1 -i br-a ! -o br-a -j BRIDGELAB-ISOLATION-STAGE-2
 *   iptables -A BRIDGELAB-ISOLATION-STAGE-2 -o br-a -j DROP
 *   iptables -A BRIDGELAB-ISOLATION-STAGE-1 -i br-a -o br-a -j DROP
 *   sysctl -w net.bridge.bridge-nf-call-iptables=1
 *
 * Why a resource of its own, one per bridge, rather than fields on Bridge: the Bridge is a
 * link (`ip link`), this is firewall state in host-wide chains under the host lock, with a
 * lifecycle of its own (a lab tightens or opens a bridge without touching the link, and
 * can fence a bridge bridgelab did not create). Isolation is declared per bridge, not per
 * pair: each bridge owns its rules in the two stages and the pairing follows, so adding a
 * bridge never edits another one's resource, as with Docker's networks.
 *
 * Containers attached to two bridges (seed 001's backend on "default" and "database") keep
 * reaching both: they talk on each bridge through their own interface, without the host
 * routing between bridges.
 *
 * The rules' tags name this resource as their owner (`bridgelab:v2:isolation:BRIDGE:OWNERID`):
 * another stack's BridgeIsolation of a bridge of the same name has rules of its own, which
 * this one never reads, changes or deletes.
 */
export interface BridgeIsolationArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** The bridge, e.g. "br-a"; it names the rules (`bridgelab:v2:isolation:br-a:OWNERID`), so one BridgeIsolation per bridge in a stack. */
  bridge: pulumi.Input<string>;
  /** Cannot reach, nor be reached from, other isolated bridges. Bridges that are not isolated (and the outside) are not affected. @default true */
  isolated?: pulumi.Input<boolean>;
  /** Inter-container communication: containers on this bridge may talk to each other. `false` also turns on net.bridge.bridge-nf-call-iptables. @default true */
  icc?: pulumi.Input<boolean>;
  /**
   * Bridges whose containers may open connections to this bridge's containers although
   * both are isolated (replies flow back; the reverse direction is declared on the other
   * bridge). Only meaningful with `isolated: true`. @default []
   */
  allowFrom?: pulumi.Input<pulumi.Input<string>[]>;
}

export interface BridgeIsolationInputs extends Omit<IsolationSpec, "owner"> {
  connection: HostConnection;
  /** The resource's URN (set by the BridgeIsolation class): the owner its rules' tags name. Absent in state of bridgelab 0.1. */
  owner?: string;
}

export interface BridgeIsolationOutputs extends BridgeIsolationInputs {
  /** Rules carrying this bridge's isolation and icc tags, as `iptables -S` prints them. */
  rules: string[];
  /** Declared rules not found on the host (drift): the commands that would restore them. */
  missingRules: string[];
  /** net.bridge.bridge-nf-call-iptables in the host's namespace now: "0", "1", or "absent" without br_netfilter. */
  bridgeNfCallIptables: string;
  /** With icc=false: whether bridge-nf-call-iptables was already 1 before bridgelab turned it on. */
  bridgeNfCallIptablesBefore?: boolean;
}

const describe = (bridge: string) => `isolation of bridge "${bridge}"`;

function specOf(i: BridgeIsolationInputs | BridgeIsolationOutputs): IsolationSpec {
  const s: IsolationSpec = { bridge: i.bridge, isolated: i.isolated, icc: i.icc, allowFrom: i.allowFrom };
  const owner = ownerOfProps(i);
  if (owner) s.owner = owner;
  return s;
}

/** The declaration as stored (connection and owner included). */
function declaredOf(i: BridgeIsolationInputs | BridgeIsolationOutputs): BridgeIsolationInputs {
  const { owner: _owner, ...spec } = specOf(i);
  return { ...spec, connection: i.connection, ...(i.owner ? { owner: i.owner } : {}) };
}

const lines = (text: string | undefined) => (text ?? "").split("\n").filter((l) => l.trim() !== "");

function observed(inputs: BridgeIsolationInputs, stdout: string, before?: boolean): BridgeIsolationOutputs {
  const s = splitSections(stdout);
  const present = lines(s.present);
  const rules = isolationRules(specOf(inputs));
  const outs: BridgeIsolationOutputs = {
    ...inputs,
    rules: lines(s.rules),
    missingRules: rules.filter((_, i) => present[i] !== "1").map((r) => shJoin(ownedRuleArgs(r))),
    bridgeNfCallIptables: s["bridge-nf"] ?? "absent",
  };
  const nfBefore = s["bridge-nf-before"] !== undefined ? s["bridge-nf-before"] === "1" : before;
  if (nfBefore !== undefined) outs.bridgeNfCallIptablesBefore = nfBefore;
  return outs;
}

export const bridgeIsolationProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs: BridgeIsolationInputs = {
      connection: news.connection,
      bridge: news.bridge,
      isolated: news.isolated ?? true,
      icc: news.icc ?? true,
      allowFrom: news.allowFrom ?? [],
    };
    if (news.owner !== undefined) inputs.owner = news.owner;
    const problems = [
      ...connectionFailures(inputs.connection),
      ...ownerFailures(news.owner),
      ...failures([
        ["bridge", inputs.bridge, checkIfname],
        ["isolated", inputs.isolated, checkBoolean],
        ["icc", inputs.icc, checkBoolean],
        ["allowFrom", inputs.allowFrom, checkIfnameList],
      ]),
    ];
    const known = !isUnknown(inputs.allowFrom) && !problems.some((p) => p.property === "allowFrom");
    if (known) {
      const self = inputs.allowFrom.indexOf(inputs.bridge);
      if (self >= 0 && !isUnknown(inputs.bridge)) {
        problems.push({
          property: "allowFrom",
          reason: `allowFrom[${self}] ${JSON.stringify(inputs.bridge)} is the bridge itself; traffic between containers of one bridge is governed by icc`,
        });
      } else if (inputs.allowFrom.length > 0 && inputs.isolated === false) {
        problems.push({
          property: "allowFrom",
          reason: `allowFrom ${JSON.stringify(inputs.allowFrom)} has no effect with isolated false: a bridge that is not isolated is reachable from every bridge; set isolated to true or leave allowFrom out`,
        });
      }
      // Order does not matter to the rules; sorted, a reordered list is no change.
      inputs.allowFrom = [...inputs.allowFrom].sort();
    }
    return { inputs, failures: problems };
  },

  /**
   * Pure. The bridge (it names the rules) and the host replace; isolated, icc, allowFrom and
   * the owner (0.1's state taken over, or an alias: a re-tag) change in place. Missing rules,
   * or bridge-nf-call-iptables off under icc=false, are drift that an update repairs. A new
   * bridge is fenced before the old one's rules are deleted: its rules carry another tag, and
   * the fence never lapses. Another host deletes first: it may be the same machine reached
   * another way, where the new isolation would adopt the old rules (same owner, same tags) and
   * the old one's delete would then take them.
   */
  async diff(_id, olds, news) {
    const d = diffFields(olds, news, { replace: ["bridge"], update: ["isolated", "icc", "allowFrom", "owner"] });
    const [o, n] = [olds as BridgeIsolationOutputs, news as BridgeIsolationInputs];
    const drifted = (o.missingRules ?? []).length > 0 || (n.icc === false && o.bridgeNfCallIptables !== undefined && o.bridgeNfCallIptables !== "1");
    return { ...d, changes: d.changes || drifted, deleteBeforeReplace: d.replaces!.includes("connection") };
  },

  /**
   * All-or-nothing, under the host-wide lock. Idempotent: the same rules left by an
   * interrupted create are adopted; other rules carrying this bridge's tags of this owner are
   * refused, and so are bridgelab 0.1's rules for this bridge (only the stack whose state
   * holds them takes them over). Another stack's isolation of this bridge is left alone.
   */
  async create(inputs: BridgeIsolationInputs) {
    const what = describe(inputs.bridge);
    return onHostLocked(inputs.connection, async (t) => {
      const r = await t.run(isolationCreateScript(specOf(inputs)));
      const s = splitSections(r.stdout);
      if (r.code === EXIT_EXISTS && s.v1 !== undefined) {
        const v1 = isolationTag(inputs.bridge);
        throw new Error(
          foreignOwnerMessage(`${what} on ${t.label}: an isolation of this bridge already exists and`, v1, undefined) +
            ` (the stack that made it re-tags it as its own with its next \`up\` under this version):\n  ${lines(s.v1).join("\n  ")}`,
        );
      }
      if (r.code === EXIT_EXISTS) {
        const theirs = lines(s.exists).join("\n  ");
        throw new Error(
          `${what} on ${t.label}: rules tagged for bridge "${inputs.bridge}" (${isolationTag(inputs.bridge, ownerOfProps(inputs))}, this resource's own) already exist and are not this declaration's:\n  ${theirs}\n` +
            `they were left by an earlier declaration of this resource: delete those rules, or refresh the stack`,
        );
      }
      if (r.code !== 0) throw new CommandError(t.label, r, what);
      return { id: inputs.bridge, outs: observed(inputs, r.stdout) };
    });
  },

  /** Reports what is really there. Never gone: missing rules are drift, repaired by update. */
  async read(id, props: BridgeIsolationOutputs) {
    return onHostLocked(props.connection, async (t) => {
      const r = await runChecked(t, isolationReadScript(specOf(props)), describe(props.bridge));
      return { id, props: observed(declaredOf(props), r.stdout, props.bridgeNfCallIptablesBefore) };
    });
  },

  /** In place, in one locked script: new rules in before old ones out. */
  async update(_id, olds: BridgeIsolationOutputs, news: BridgeIsolationInputs) {
    return onHostLocked(news.connection, async (t) => {
      const r = await runChecked(t, isolationUpdateScript(specOf(olds), specOf(news)), describe(news.bridge));
      return { outs: observed(news, r.stdout, news.icc ? undefined : olds.bridgeNfCallIptablesBefore) };
    });
  },

  /** Idempotent: rules already gone are success; only rules with this bridge's tags of this owner are touched. */
  async delete(_id, props: BridgeIsolationOutputs) {
    await onHostLocked(props.connection, async (t) => {
      await runChecked(t, isolationDeleteScript(specOf(props)), describe(props.bridge));
    });
  },
};

export class BridgeIsolation extends pulumi.dynamic.Resource {
  declare readonly bridge: pulumi.Output<string>;
  declare readonly isolated: pulumi.Output<boolean>;
  declare readonly icc: pulumi.Output<boolean>;
  declare readonly allowFrom: pulumi.Output<string[]>;
  declare readonly rules: pulumi.Output<string[]>;
  declare readonly missingRules: pulumi.Output<string[]>;
  declare readonly bridgeNfCallIptables: pulumi.Output<string>;
  declare readonly bridgeNfCallIptablesBefore: pulumi.Output<boolean | undefined>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: BridgeIsolationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("bridgeIsolationProvider"),
      name,
      {
        connection: args.connection,
        owner: ownerInput("BridgeIsolation", name, opts),
        bridge: args.bridge,
        isolated: args.isolated,
        icc: args.icc,
        allowFrom: args.allowFrom,
        rules: undefined,
        missingRules: undefined,
        bridgeNfCallIptables: undefined,
        bridgeNfCallIptablesBefore: undefined,
      },
      opts,
      "bridgelab",
      "BridgeIsolation",
    );
  }
}
