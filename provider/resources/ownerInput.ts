import * as pulumi from "@pulumi/pulumi";

/**
 * The `owner` input every resource that makes objects on a host carries: its own URN, computed
 * as Pulumi computes it (stack, project, parents' types, type, name), so that the provider — which
 * is never told the URN — can tag what it makes with its owner (host/owner.ts). Two stacks of one
 * program get two owners for the same resource name; a resource renamed with an alias gets its
 * new URN and re-tags its objects in place.
 *
 * The parent's URN is taken as a plain value, not as an output of the parent: an input that
 * depends on a component makes the SDK wait for every child of that component before it
 * registers the resource (runtime/dependsOn.js), and a sibling that depends on this resource
 * (an Egress `dependsOn` its Network's Bridge, a VethPair on its Container's NetNamespace) then
 * waits for it in turn: the program hangs and exits with "promises were still active".
 */
export function ownerInput(type: string, name: string, opts: pulumi.CustomResourceOptions | undefined): pulumi.Output<string> {
  const parent = opts?.parent;
  const parentUrn = parent ? pulumi.output(new Promise<string>((resolve) => parent.urn.apply((u) => (resolve(u), u)))) : undefined;
  return pulumi.createUrn(name, `pulumi-nodejs:dynamic/bridgelab:${type}`, parentUrn);
}
