/**
 * What the bundled engine says when a program uses a provider it cannot run. It serves dynamic
 * resources only (`pulumi.dynamic.Resource`: bridgelab's and any other), through the SDK's
 * dynamic-provider plugin. A resource or function of a provider package (@pulumi/aws,
 * @pulumi/command, …) needs that package's own plugin binary, which the Pulumi CLI downloads and
 * runs (`pulumi plugin install resource command 1.2.1` puts it in ~/.pulumi/plugins); the bundled
 * engine does neither. The message names the type or function, the package and the plugin, says
 * whether that plugin is on this machine, and what to run instead.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type ForeignUse = "resource" | "function" | "provider";

export interface ForeignProviderInfo {
  /** The Pulumi package: "aws" of "aws:ec2/instance:Instance" and of "pulumi:providers:aws". */
  pkg: string;
  /** The version the SDK asked for (RegisterResourceRequest.version), or the npm package's. */
  version?: string;
  /** The npm package that declares it, found from the program's directory. */
  npm?: { name: string; version: string };
  /** Where its plugin binary was found, if it was. */
  plugin?: string;
}

/** The Pulumi package of a type or function token. */
export function packageOfToken(token: string): string {
  if (token.startsWith("pulumi:providers:")) return token.slice("pulumi:providers:".length);
  return token.split(":")[0];
}

/**
 * The npm package providing Pulumi package `pkg`, as `require` finds it from the program's
 * directory: `@pulumi/PKG` whose package.json says `"pulumi": { "name": PKG }` (Pulumi's own
 * packages; others are named by the message's plugin instead).
 */
export function npmPackageOf(pkg: string, dir: string): { name: string; version: string } | undefined {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(pkg)) return undefined;
  try {
    const file = require.resolve(`@pulumi/${pkg}/package.json`, { paths: [dir] });
    const json = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string; pulumi?: { name?: string } };
    if (json.pulumi?.name !== pkg || !json.name || !json.version) return undefined;
    return { name: json.name, version: json.version };
  } catch {
    return undefined;
  }
}

/**
 * The plugin binary the Pulumi CLI would run, if it is on this machine:
 * `$PULUMI_HOME/plugins/resource-PKG-vVERSION/pulumi-resource-PKG` (PULUMI_HOME defaults to
 * ~/.pulumi), or `pulumi-resource-PKG` on PATH.
 */
export function pluginBinaryOf(pkg: string, version: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = `pulumi-resource-${pkg}`;
  const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  const candidates = [
    ...(version ? [path.join(home, "plugins", `resource-${pkg}-v${version}`, bin)] : []),
    ...(env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, bin)),
  ];
  return candidates.find((f) => fs.existsSync(f));
}

export function foreignProviderInfo(token: string, version: string | undefined, dir: string, env: NodeJS.ProcessEnv = process.env): ForeignProviderInfo {
  const pkg = packageOfToken(token);
  const npm = npmPackageOf(pkg, dir);
  const v = version || npm?.version || undefined;
  return { pkg, ...(v ? { version: v } : {}), ...(npm ? { npm } : {}), ...(pluginBinaryOf(pkg, v, env) ? { plugin: pluginBinaryOf(pkg, v, env) } : {}) };
}

/**
 *   command:remote:Command is a resource of the Pulumi package "command" (npm @pulumi/command 1.2.1):
 *   it needs that package's provider plugin, pulumi-resource-command v1.2.1, which is not installed
 *   on this machine, and which the bundled engine would not run anyway: `bridgelab engine` runs only
 *   dynamic providers (pulumi.dynamic.Resource, as bridgelab's resources are). Run this program with
 *   the Pulumi CLI (`pulumi up`): it installs the plugin (`pulumi plugin install resource command 1.2.1`)
 *   and runs it.
 */
export function foreignProviderMessage(use: ForeignUse, token: string, info: ForeignProviderInfo): string {
  const what = use === "function" ? "a function (data source)" : use === "provider" ? "the provider resource" : "a resource";
  const npm = info.npm ? ` (npm ${info.npm.name} ${info.npm.version})` : "";
  const v = info.version ? ` v${info.version}` : "";
  const plugin = `pulumi-resource-${info.pkg}${v}`;
  const where = info.plugin
    ? `, which is on this machine (${info.plugin}) but which the bundled engine does not run`
    : `, which is not installed on this machine, and which the bundled engine would not run anyway`;
  const install = `pulumi plugin install resource ${info.pkg}${info.version ? ` ${info.version}` : ""}`;
  return (
    `${token} is ${what} of the Pulumi package "${info.pkg}"${npm}: it needs that package's provider plugin, ${plugin}${where}: ` +
    "`bridgelab engine` runs only dynamic providers (pulumi.dynamic.Resource, as bridgelab's resources are). " +
    `Run this program with the Pulumi CLI (\`pulumi up\`): it installs the plugin (\`${install}\`) and runs it`
  );
}
