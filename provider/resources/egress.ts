import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { EgressSpec, egressCreateScript, egressDeleteScript, egressReadScript, egressRule, egressTag, egressUpdateScript } from "../host/egressScripts";
import { foreignOwnerMessage } from "../host/owner";
import { shJoin } from "../host/quote";
import { ownedRuleArgs } from "../host/ruleSet";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { checkIfname } from "../host/validate";
import { checkBoolean, checkNetworkCidr, checkRuleName } from "../host/validateNetfilter";
import type { HostConnection } from "../transport/connection";
import { CommandError, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, diffFields, failures, isUnknown, ownerFailures, ownerOfProps } from "./contract";
import { onHostLocked } from "./hostLock";
import { ownerInput } from "./ownerInput";

/**
 * Egress NAT: containers on a bridge reach the outside through the host, their source
 * address masqueraded as the host's. Equivalent to (seed 004):
 *
 *   sysctl -w net.ipv4.ip_forward=1
 *   iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
 *
 * The rule lives in bridgelab's chain BRIDGELAB-POSTROUTING with the comment
 * `bridgelab:v2:egress:NAME:OWNERID` naming this resource (see egressScripts.ts): another
 * stack's Egress of the same NAME is its own rule, left alone. Forwarding is host-wide and
 * shared by every Egress on the host, of every stack: bridgelab turns it on once, remembers
 * what the host had, and the last Egress deleted puts it back.
 */
export interface EgressArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** NAME in the rule's tag `bridgelab:v2:egress:NAME:OWNERID` (another stack may use the same NAME). @default the resource name */
  name?: pulumi.Input<string>;
  /** The bridge whose containers get out, e.g. "br0". Traffic that stays on it is not NATed. */
  bridge: pulumi.Input<string>;
  /** The bridge's subnet as a network address, e.g. "172.18.0.0/16" (a Bridge's `subnet` output). */
  subnet: pulumi.Input<string>;
  /** NAT only traffic leaving through this interface: `-o eth0` instead of `! -o br0`. @default every interface but the bridge */
  outInterface?: pulumi.Input<string>;
  /** Turn on net.ipv4.ip_forward (restored when the last Egress on the host goes). @default true */
  ipForward?: pulumi.Input<boolean>;
}

export interface EgressInputs extends Omit<EgressSpec, "owner"> {
  connection: HostConnection;
  /** The resource's URN (set by the Egress class): the owner its rule's tag names. Absent in state of bridgelab 0.1. */
  owner?: string;
}

export interface EgressOutputs extends EgressInputs {
  /** Rules carrying this Egress's tag, as `iptables -t nat -S` prints them. */
  rules: string[];
  /** Declared rules not found on the host (drift): the commands that would restore them. */
  missingRules: string[];
  /** net.ipv4.ip_forward is 1 on the host now. */
  ipForwardOn: boolean;
  /** Forwarding was on before bridgelab turned it on (so bridgelab will never turn it off). */
  ipForwardBefore: boolean;
  /** The filter FORWARD chain's policy. With DROP (a Docker host), routed traffic needs an ACCEPT that Egress does not write. */
  forwardPolicy: string;
}

const describe = (name: string) => `egress "${name}"`;

function specOf(i: EgressInputs | EgressOutputs): EgressSpec {
  const s: EgressSpec = { name: i.name, bridge: i.bridge, subnet: i.subnet, ipForward: i.ipForward };
  if (i.outInterface) s.outInterface = i.outInterface;
  const owner = ownerOfProps(i);
  if (owner) s.owner = owner;
  return s;
}

/** The declaration as stored (connection and owner included). */
function declaredOf(i: EgressInputs | EgressOutputs): EgressInputs {
  const { owner: _owner, ...spec } = specOf(i);
  return { ...spec, connection: i.connection, ...(i.owner ? { owner: i.owner } : {}) };
}

const lines = (text: string | undefined) => (text ?? "").split("\n").filter((l) => l.trim() !== "");

/** The declaration as stored, plus what the host holds, from a script's sections. */
function observed(inputs: EgressInputs, stdout: string, before?: boolean): EgressOutputs {
  const s = splitSections(stdout);
  const rule = egressRule(specOf(inputs));
  const forwardBefore = s["ip-forward-before"] !== undefined ? s["ip-forward-before"] === "1" : before;
  const ipForwardOn = s["ip-forward"] === "1";
  const outs: EgressOutputs = {
    ...inputs,
    rules: lines(s.rules),
    missingRules: s.masquerade === "1" ? [] : [shJoin(ownedRuleArgs(rule))],
    ipForwardOn,
    ipForwardBefore: forwardBefore ?? ipForwardOn,
    forwardPolicy: s["forward-policy"] ?? "",
  };
  return outs;
}

export const egressProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs: EgressInputs = {
      connection: news.connection,
      name: news.name,
      bridge: news.bridge,
      subnet: news.subnet,
      ipForward: news.ipForward ?? true,
    };
    if (news.outInterface !== undefined) inputs.outInterface = news.outInterface;
    if (news.owner !== undefined) inputs.owner = news.owner;
    const problems = [
      ...connectionFailures(inputs.connection),
      ...ownerFailures(news.owner),
      ...failures([
        ["name", inputs.name, checkRuleName],
        ["bridge", inputs.bridge, checkIfname],
        ["subnet", inputs.subnet, checkNetworkCidr],
        ["ipForward", inputs.ipForward, checkBoolean],
        ...(inputs.outInterface !== undefined ? [["outInterface", inputs.outInterface, checkIfname] as [string, unknown, typeof checkIfname]] : []),
      ]),
    ];
    if (inputs.outInterface !== undefined && inputs.outInterface === inputs.bridge && !isUnknown(inputs.bridge)) {
      problems.push({
        property: "outInterface",
        reason: `outInterface ${JSON.stringify(inputs.outInterface)} is the bridge itself (bridge ${JSON.stringify(inputs.bridge)}): traffic that stays on the bridge is never NATed; name the uplink, e.g. "eth0", or leave outInterface out`,
      });
    }
    return { inputs, failures: problems };
  },

  /**
   * Pure. The name (the rule's tag) and the host replace; bridge, subnet, outInterface,
   * ipForward and the owner (0.1's state taken over, or an alias: a re-tag) change in place.
   * A rule deleted by hand, or forwarding turned off while declared on, is drift: an in-place
   * update puts it back.
   *
   * A new name is created before the old Egress is deleted: its rule carries another tag, so
   * both coexist for a moment, and NAT and forwarding never lapse (deleting first could let
   * the old one, as the last Egress out, turn forwarding off); the owner's record stays while
   * either has a rule. Another host deletes first: it may be the same machine reached another
   * way, where the new Egress would adopt the old rule (same owner, same tag) and the old
   * one's delete would then take it.
   */
  async diff(_id, olds, news) {
    const d = diffFields(olds, news, { replace: ["name"], update: ["bridge", "subnet", "outInterface", "ipForward", "owner"] });
    const [o, n] = [olds as EgressOutputs, news as EgressInputs];
    const drifted = (o.missingRules ?? []).length > 0 || (n.ipForward === true && o.ipForwardOn === false);
    return { ...d, changes: d.changes || drifted, deleteBeforeReplace: d.replaces!.includes("connection") };
  },

  /**
   * All-or-nothing, under the host-wide lock. Idempotent: our own rule left by an
   * interrupted create is adopted; rules with our own tag that are not our rule are refused,
   * and so is bridgelab 0.1's rule of this NAME (only the stack whose state holds it takes it
   * over). Another stack's Egress of the same NAME is left alone.
   */
  async create(inputs: EgressInputs) {
    const what = describe(inputs.name);
    return onHostLocked(inputs.connection, async (t) => {
      const r = await t.run(egressCreateScript(specOf(inputs)));
      const s = splitSections(r.stdout);
      if (r.code === EXIT_EXISTS && s.v1 !== undefined) {
        const v1 = egressTag(inputs.name);
        throw new Error(
          foreignOwnerMessage(`${what} on ${t.label}: an Egress of that name already exists and`, v1, undefined) +
            ` (the stack that made it re-tags it as its own with its next \`up\` under this version):\n  ${lines(s.v1).join("\n  ")}`,
        );
      }
      if (r.code === EXIT_EXISTS) {
        const theirs = lines(s.exists).join("\n  ");
        throw new Error(
          `${what} on ${t.label}: rules tagged ${egressRule(specOf(inputs)).tag} (this resource's own) already exist and are not this Egress's rule:\n  ${theirs}\n` +
            `they were left by an earlier declaration of this resource: delete those rules, or refresh the stack`,
        );
      }
      if (r.code !== 0) throw new CommandError(t.label, r, what);
      const outs = observed(inputs, r.stdout);
      if (outs.forwardPolicy === "DROP") {
        console.error(
          `${what} on ${t.label}: the FORWARD policy is DROP (as on a Docker host); containers on ${inputs.bridge} get out only if a FORWARD rule accepts ` +
            `their traffic, e.g. \`iptables -I DOCKER-USER -i ${inputs.bridge} ! -o ${inputs.bridge} -j ACCEPT\` and its RELATED,ESTABLISHED replies`,
        );
      }
      return { id: inputs.name, outs };
    });
  },

  /** Reports what is really there. Never gone: a missing rule is drift, repaired by update. */
  async read(id, props: EgressOutputs) {
    return onHostLocked(props.connection, async (t) => {
      const r = await runChecked(t, egressReadScript(specOf(props)), describe(props.name));
      return { id, props: observed(declaredOf(props), r.stdout, props.ipForwardBefore) };
    });
  },

  /** In place, in one locked script: the new rule in before the old one out (re-tagged for a new owner), forwarding on if declared. */
  async update(_id, olds: EgressOutputs, news: EgressInputs) {
    return onHostLocked(news.connection, async (t) => {
      const r = await runChecked(t, egressUpdateScript(specOf(olds), specOf(news)), describe(news.name));
      return { outs: observed(news, r.stdout, olds.ipForwardBefore) };
    });
  },

  /**
   * Idempotent: a rule already gone is success; only this owner's rule goes (another stack's
   * Egress of the same NAME stays). Restores forwarding when it was the last Egress of any
   * owner and bridgelab turned it on.
   */
  async delete(_id, props: EgressOutputs) {
    await onHostLocked(props.connection, async (t) => {
      await runChecked(t, egressDeleteScript(specOf(props)), describe(props.name));
    });
  },
};

export class Egress extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string>;
  declare readonly subnet: pulumi.Output<string>;
  declare readonly outInterface: pulumi.Output<string | undefined>;
  declare readonly ipForward: pulumi.Output<boolean>;
  declare readonly rules: pulumi.Output<string[]>;
  declare readonly missingRules: pulumi.Output<string[]>;
  declare readonly ipForwardOn: pulumi.Output<boolean>;
  declare readonly ipForwardBefore: pulumi.Output<boolean>;
  declare readonly forwardPolicy: pulumi.Output<string>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: EgressArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("egressProvider"),
      name,
      {
        name: args.name ?? name,
        connection: args.connection,
        owner: ownerInput("Egress", name, opts),
        bridge: args.bridge,
        subnet: args.subnet,
        outInterface: args.outInterface,
        ipForward: args.ipForward,
        rules: undefined,
        missingRules: undefined,
        ipForwardOn: undefined,
        ipForwardBefore: undefined,
        forwardPolicy: undefined,
      },
      opts,
      "bridgelab",
      "Egress",
    );
  }
}
