import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { netnsCreateScript, netnsDeleteScript, netnsReadScript, netnsUpdateScript } from "../host/netnsScripts";
import { parseIpLinkJson } from "../host/ipJson";
import { foreignOwnerMessage, notOwnUpdateMessage, ownerPhrase, ownerTag } from "../host/owner";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { checkNetnsName } from "../host/validate";
import type { HostConnection } from "../transport/connection";
import { CommandError, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, diffFields, failures, onHost, ownerFailures, ownerOfProps } from "./contract";
import { ownerInput } from "./ownerInput";

/**
 * A named network namespace with its loopback up. Equivalent to:
 *
 *   ip netns add netns0
 *   ip -n netns0 link set dev lo alias bridgelab:v2:netns:1a2b3c4d   # its owner (host/owner.ts)
 *   ip -n netns0 link set dev lo up
 */
export interface NetNamespaceArgs {
  /** The host to build on. */
  connection: pulumi.Input<HostConnectionInput>;
  /** Name under /run/netns. @default the resource name */
  name?: pulumi.Input<string>;
}

/** Checked inputs, as stored. */
export interface NetNamespaceInputs {
  connection: HostConnection;
  name: string;
  /** The resource's URN (set by the NetNamespace class): the owner its tag names. Absent in state of bridgelab 0.1. */
  owner?: string;
}

export interface NetNamespaceOutputs extends NetNamespaceInputs {
  /** `/run/netns/NAME`, for `nsenter --net=PATH`. */
  path: string;
  /** Inode number of the namespace (`stat -L -c %i /run/netns/NAME`); the kernel may reuse it after a delete. */
  inode: number;
}

function describe(name: string): string {
  return `network namespace "${name}"`;
}

function outputsFrom(inputs: NetNamespaceInputs, stdout: string): NetNamespaceOutputs {
  const s = splitSections(stdout);
  return { ...inputs, path: `/run/netns/${inputs.name}`, inode: Number(s.inode) };
}

/** What an update script read back; it changed nothing when the namespace was gone or another owner's. */
function updated(inputs: NetNamespaceInputs, label: string, stdout: string): NetNamespaceOutputs {
  const s = splitSections(stdout);
  const subject = `${describe(inputs.name)} on ${label}`;
  if ("gone" in s) throw new Error(notOwnUpdateMessage(subject, "gone"));
  if ("foreign" in s) throw new Error(notOwnUpdateMessage(subject, { tag: parseIpLinkJson(s.foreign ?? "")[0]?.ifalias, record: s.owner }));
  return outputsFrom(inputs, stdout);
}

export const netNamespaceProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs = { connection: news.connection, name: news.name } as NetNamespaceInputs;
    if (news.owner !== undefined) inputs.owner = news.owner;
    return {
      inputs,
      failures: [...connectionFailures(inputs.connection), ...ownerFailures(news.owner), ...failures([["name", inputs.name, checkNetnsName]])],
    };
  },

  async diff(_id, olds, news) {
    return diffFields(olds, news, { replace: ["name"], update: ["owner"] });
  },

  /**
   * All-or-nothing: the script deletes the namespace if a later step fails. Idempotent: a
   * namespace this same resource made (a create cut short) is adopted; one of another owner,
   * of bridgelab 0.1 or of nobody is refused, naming whose it is.
   */
  async create(inputs: NetNamespaceInputs) {
    const what = describe(inputs.name);
    const owner = ownerOfProps(inputs);
    return onHost(inputs.connection, async (t) => {
      let r = await t.run(netnsCreateScript(inputs.name, owner));
      if (r.code === EXIT_EXISTS) {
        const s = splitSections(r.stdout);
        const lo = parseIpLinkJson(s.exists ?? "")[0];
        if (lo?.ifalias !== ownerTag("netns", owner)) {
          const hint = lo?.ifalias ? "" : ` (remove it with \`ip netns del ${inputs.name}\` if nothing uses it)`;
          throw new Error(foreignOwnerMessage(`${what} on ${t.label}: a network namespace of that name already exists and`, lo?.ifalias, s.owner) + hint);
        }
        r = await runChecked(t, netnsUpdateScript(inputs.name, owner, owner), what);
        return { id: inputs.name, outs: updated(inputs, t.label, r.stdout) };
      } else if (r.code !== 0) {
        throw new CommandError(t.label, r, what);
      }
      return { id: inputs.name, outs: outputsFrom(inputs, r.stdout) };
    });
  },

  /** Reports what is really there; a namespace deleted by hand (or no longer this owner's) is gone. */
  async read(id, props: NetNamespaceOutputs) {
    return onHost(props.connection, async (t) => {
      const r = await runChecked(t, netnsReadScript(props.name, ownerOfProps(props)), describe(props.name));
      if ("gone" in splitSections(r.stdout)) return { id: "", props: {} };
      return { id, props: outputsFrom(props, r.stdout) };
    });
  },

  /**
   * The owner's tag changes in place (0.1's namespace taken over by its stack, a resource moved
   * by an alias); a new key for the same host changes nothing on the host.
   */
  async update(_id, olds: NetNamespaceOutputs, news: NetNamespaceInputs) {
    if (olds.owner === news.owner) return { outs: { ...news, path: olds.path, inode: olds.inode } };
    return onHost(news.connection, async (t) => {
      const r = await runChecked(t, netnsUpdateScript(news.name, ownerOfProps(olds), ownerOfProps(news)), describe(news.name));
      return { outs: updated(news, t.label, r.stdout) };
    });
  },

  /**
   * Idempotent; deletes only a namespace carrying this owner's tag, and kills what runs inside
   * it. One that is not this resource's is left in place, saying whose it is.
   */
  async delete(_id, props: NetNamespaceOutputs) {
    await onHost(props.connection, async (t) => {
      const r = await runChecked(t, netnsDeleteScript(props.name, ownerOfProps(props)), describe(props.name));
      const s = splitSections(r.stdout);
      if ("foreign" in s) {
        const lo = parseIpLinkJson(s.foreign ?? "")[0];
        console.error(`${describe(props.name)} on ${t.label} is not this resource's, so it is left in place: it ${ownerPhrase(lo?.ifalias, s.owner)}`);
      }
    });
  },
};

export class NetNamespace extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly path: pulumi.Output<string>;
  declare readonly inode: pulumi.Output<number>;
  declare readonly connection: pulumi.Output<HostConnection>;

  constructor(name: string, args: NetNamespaceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("netNamespaceProvider"),
      name,
      { name: args.name ?? name, connection: args.connection, owner: ownerInput("NetNamespace", name, opts), path: undefined, inode: undefined },
      opts,
      "bridgelab",
      "NetNamespace",
    );
  }
}
