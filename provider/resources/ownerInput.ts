import * as pulumi from "@pulumi/pulumi";

/**
 * The `owner` input every resource that makes objects on a host carries: its own URN, computed
 * as Pulumi computes it (stack, project, parents' types, type, name), so that the provider — which
 * is never told the URN — can tag what it makes with its owner (host/owner.ts). Two stacks of one
 * program get two owners for the same resource name; a resource renamed with an alias gets its
 * new URN and re-tags its objects in place.
 */
export function ownerInput(type: string, name: string, opts: pulumi.CustomResourceOptions | undefined): pulumi.Output<string> {
  return pulumi.createUrn(name, `pulumi-nodejs:dynamic/bridgelab:${type}`, opts?.parent);
}
