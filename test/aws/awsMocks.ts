import * as pulumi from "@pulumi/pulumi";

/**
 * Pulumi mocks for the ECS stacks: no provider runs, no AWS call is made. Records every
 * registered resource with its real arguments and the dependencies the engine would be told
 * (dependsOn and property dependencies, as URNs), and answers the data sources the stacks
 * read: the AMI's SSM parameter, the default VPC and its subnets.
 *
 * Import this before @pulumi/aws and the code under test (Pulumi's docs ask for setMocks first).
 */
export interface Registered {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, any>;
  /** URNs this resource depends on (dependsOn, and every input's resources). */
  dependencies: string[];
  /** Top-level inputs sent as secrets. */
  secrets: string[];
  parent: string;
}

export interface Invoked {
  token: string;
  inputs: Record<string, any>;
}

export const registered: Registered[] = [];
export const invoked: Invoked[] = [];
export const AMI_ID = "ami-0123456789abcdef0";
/** What an instance answers with (documentation addresses). */
export const INSTANCE = { publicIp: "203.0.113.10", privateIp: "172.31.5.10", publicDns: "ec2-203-0-113-10.eu-west-1.compute.amazonaws.com" };
/** What aws:ec2/getInstances answers: the container instances of any group. */
export const INSTANCE_IDS = ["i-0a1b2c3d4e5f60718", "i-0f1e2d3c4b5a69788"];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      const physical = args.inputs.name ?? `${args.name}-4f7a2c1`;
      const state: Record<string, unknown> = { ...args.inputs, name: physical, arn: `arn:aws:mock:eu-west-1:123456789012:${args.type.split(":")[1]}/${physical}` };
      if (args.type === "aws:lb/loadBalancer:LoadBalancer") state.dnsName = `${physical}-1234567890.eu-west-1.elb.amazonaws.com`;
      if (args.type === "aws:ec2/keyPair:KeyPair") state.keyName = args.inputs.keyName ?? physical;
      if (args.type === "aws:ec2/instance:Instance") Object.assign(state, INSTANCE);
      if (args.type === "command:remote:Command") state.stdout = "bridgelab-prepare: ok: every tool and kernel feature bridgelab uses is here";
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      invoked.push({ token: args.token, inputs: args.inputs });
      switch (args.token) {
        case "aws:ssm/getParameter:getParameter":
          return { id: args.inputs.name, name: args.inputs.name, arn: `arn:aws:ssm:eu-west-1::parameter${args.inputs.name}`, type: "String", value: AMI_ID, insecureValue: AMI_ID, version: 1 };
        case "aws:ec2/getVpc:getVpc":
          return { id: "vpc-default", cidrBlock: "172.31.0.0/16", default: true };
        case "aws:ec2/getSubnets:getSubnets":
          return { id: "eu-west-1", ids: ["subnet-default-a", "subnet-default-b"] };
        case "aws:ec2/getInstances:getInstances":
          // An auto scaling group's instances, in no particular order (as EC2 answers).
          return { id: "eu-west-1", ids: [...INSTANCE_IDS].reverse(), ipAddresses: [], privateIps: [], publicIps: [], instanceTags: args.inputs.instanceTags ?? {} };
        default:
          throw new Error(`the mocks do not answer ${args.token}`);
      }
    },
  },
  "bridgelab",
  "mocks",
  false,
);

// Record what the engine would be told: the mock monitor's registerResource receives the full request.
const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, cb: any): void };
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req: any, cb: any) => {
  const parent: string = req.getParent();
  let type: string = req.getType();
  if (parent) type = `${parent.split("::")[2].split("$").pop()}$${type}`;
  const urn = `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${type}::${req.getName()}`;
  const deps = new Set<string>(req.getDependenciesList());
  req.getPropertydependenciesMap().forEach((v: { getUrnsList(): string[] }) => v.getUrnsList().forEach((u) => deps.add(u)));
  const raw = req.getObject()?.toJavaScript() ?? {};
  const secrets = Object.keys(raw).filter((k) => (raw[k] as Record<string, unknown> | null)?.[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig);
  const entry: Registered = { type: req.getType(), name: req.getName(), urn, inputs: {}, dependencies: [...deps], parent, secrets };
  registered.push(entry);
  entry.inputs = unwrapSecrets(pulumi.runtime.deserializeProperties(req.getObject()));
  register(req, cb);
};

/** Secret values as plain ones (which inputs were secret is in `secrets`). */
function unwrapSecrets(v: any): any {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object" && v.constructor === Object) {
    if (v[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

/** Wait until no resource has registered for a while. */
export async function settle(): Promise<void> {
  for (let stable = 0, last = -1; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 30));
    stable = registered.length === last ? stable + 1 : 0;
    last = registered.length;
  }
}

/** The value of an Output, once known. */
export const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

/** The resources of a type registered under a component (by the component's name prefix). */
export function ofType(type: string, prefix?: string): Registered[] {
  return registered.filter((r) => r.type === type && (prefix === undefined || r.name === prefix || r.name.startsWith(`${prefix}-`)));
}

/** The one resource of a type under a component. */
export function one(type: string, prefix?: string): Registered {
  const all = ofType(type, prefix);
  if (all.length !== 1) throw new Error(`expected one ${type}${prefix ? ` named ${prefix}…` : ""}, found ${all.length}: ${all.map((r) => r.name).join(", ")}`);
  return all[0];
}
