import * as pulumi from "@pulumi/pulumi";
import type { HostConnectionInput } from "./connectionInput";
import { netnsConvergeScript, netnsCreateScript, netnsDeleteScript, netnsReadScript } from "../host/netnsScripts";
import { parseIpLinkJson } from "../host/ipJson";
import { EXIT_EXISTS } from "../host/script";
import { splitSections } from "../host/sections";
import { tagFor } from "../host/tags";
import { checkNetnsName } from "../host/validate";
import type { HostConnection } from "../transport/connection";
import { CommandError, runChecked } from "../transport/types";
import { lazyProvider } from "./lazyProvider";
import { connectionFailures, diffFields, failures, onHost } from "./contract";

/**
 * A named network namespace with its loopback up. Equivalent to:
 *
 *   ip netns add netns0
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

export const netNamespaceProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const inputs = { connection: news.connection, name: news.name } as NetNamespaceInputs;
    return {
      inputs,
      failures: [...connectionFailures(inputs.connection), ...failures([["name", inputs.name, checkNetnsName]])],
    };
  },

  async diff(_id, olds, news) {
    return diffFields(olds, news, { replace: ["name"], update: [] });
  },

  /** Idempotent: a namespace of ours left by an interrupted create is adopted; a foreign one is refused. */
  async create(inputs: NetNamespaceInputs) {
    const what = describe(inputs.name);
    return onHost(inputs.connection, async (t) => {
      let r = await t.run(netnsCreateScript(inputs.name));
      if (r.code === EXIT_EXISTS) {
        const lo = parseIpLinkJson(splitSections(r.stdout).exists ?? "")[0];
        if (lo?.ifalias !== tagFor("netns")) {
          throw new Error(
            `${what} already exists on ${t.label} and is not managed by bridgelab (its lo has no alias ${tagFor("netns")}); ` +
              `remove it with \`ip netns del ${inputs.name}\` or choose another name`,
          );
        }
        r = await runChecked(t, netnsConvergeScript(inputs.name), what);
      } else if (r.code !== 0) {
        throw new CommandError(t.label, r, what);
      }
      const outs = outputsFrom(inputs, r.stdout);
      return { id: inputs.name, outs };
    });
  },

  async read(id, props: NetNamespaceOutputs) {
    return onHost(props.connection, async (t) => {
      const r = await runChecked(t, netnsReadScript(props.name), describe(props.name));
      if ("gone" in splitSections(r.stdout)) return { id: "", props: {} };
      return { id, props: outputsFrom(props, r.stdout) };
    });
  },

  /** Only the connection's credentials can change in place: nothing to do on the host. */
  async update(_id, olds: NetNamespaceOutputs, news: NetNamespaceInputs) {
    return { outs: { ...news, path: olds.path, inode: olds.inode } };
  },

  /** Idempotent; deletes only a namespace carrying our tag, and kills what runs inside it. */
  async delete(_id, props: NetNamespaceOutputs) {
    await onHost(props.connection, async (t) => {
      const r = await runChecked(t, netnsDeleteScript(props.name), describe(props.name));
      if ("foreign" in splitSections(r.stdout)) {
        console.error(`${describe(props.name)} on ${t.label} is not ours (no bridgelab tag); left in place`);
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
    super(lazyProvider("netNamespaceProvider"), name, { name: args.name ?? name, connection: args.connection, path: undefined, inode: undefined }, opts, "bridgelab", "NetNamespace");
  }
}
