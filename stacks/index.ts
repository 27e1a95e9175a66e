import * as pulumi from "@pulumi/pulumi";
import { basicLab } from "./basic";
import { dockerModes } from "./dockerModes";
import { netnsLab } from "./netnsLab";

/**
 * The stacks entry: the lab is chosen by stack config `bridgelab:lab` (Pulumi.<stack>.yaml).
 */
const labs: Record<string, (config: pulumi.Config) => Record<string, pulumi.Output<unknown>>> = {
  basic: basicLab,
  "netns-lab": netnsLab,
  "docker-modes": dockerModes,
  // Loaded on demand: @pulumi/aws only for the stack that uses it.
  "ecs-bridge": (c) => (require("./ecsBridge") as typeof import("./ecsBridge")).ecsBridge(c),
  "ecs-bridge-local": (c) => (require("./ecsBridgeLocal") as typeof import("./ecsBridgeLocal")).ecsBridgeLocal(c),
  // @pulumi/aws and @pulumi/command, and only when it makes an instance.
  "cloud-lab": (c) => (require("./cloudLab") as typeof import("./cloudLab")).cloudLab(c),
};

const config = new pulumi.Config("bridgelab");
const name = config.get("lab") ?? "basic";
const lab = labs[name];
if (!lab) throw new Error(`bridgelab:lab ${JSON.stringify(name)} is not a known lab; choose one of: ${Object.keys(labs).join(", ")}`);

export = lab(config);
