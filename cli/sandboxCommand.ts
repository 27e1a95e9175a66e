import { spawn } from "node:child_process";
import { createSandbox, deleteSandbox, listSandboxes, sandboxExists } from "../provider/sandbox/sandboxHost";
import { startSandboxDocker, stopSandboxDocker } from "../provider/sandbox/sandboxDocker";
import { assertSandboxName, enterHostArgv, enterOutsideArgv, sandboxPaths } from "../provider/sandbox/sandboxLayout";
import { type CommandSpec, UsageError, flag, nearest, parseCommand } from "./args";

export const SANDBOX_USAGE = `usage:
  bridgelab sandbox create NAME                  make a sandbox host (needs root)
  bridgelab sandbox exec NAME [--outside] -- CMD...  run CMD inside it (or in its outside)
  bridgelab sandbox list                         list sandbox hosts
  bridgelab sandbox delete NAME                  remove it and everything in it
  bridgelab sandbox docker start|stop NAME       run a reference Docker inside it (docker.io, busybox-static);
                                                 stop puts the sandbox host back as it was`;

const specs: Record<string, CommandSpec> = {
  create: { name: "bridgelab sandbox create", usage: SANDBOX_USAGE, options: {}, positionals: { min: 1, max: 1 } },
  delete: { name: "bridgelab sandbox delete", usage: SANDBOX_USAGE, options: {}, positionals: { min: 1, max: 1 } },
  list: { name: "bridgelab sandbox list", usage: SANDBOX_USAGE, options: {}, positionals: { min: 0, max: 0 } },
  docker: { name: "bridgelab sandbox docker", usage: SANDBOX_USAGE, options: {}, positionals: { min: 2, max: 2 } },
  exec: { name: "bridgelab sandbox exec", usage: SANDBOX_USAGE, options: { outside: { type: "boolean" } }, positionals: { min: 1, max: 1 } },
};

/** `bridgelab sandbox ...`; returns the process exit code. */
export async function sandboxCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    console.log(SANDBOX_USAGE);
    return 0;
  }
  const spec = specs[verb];
  if (!spec) {
    const near = nearest(verb, Object.keys(specs));
    throw new UsageError(`unknown subcommand ${JSON.stringify(verb)}${near ? `: did you mean \`bridgelab sandbox ${near}\`?` : ""}`, "bridgelab sandbox");
  }
  const p = parseCommand(spec, rest);
  if (!p) {
    console.log(SANDBOX_USAGE);
    return 0;
  }
  // docker start|stop NAME: the name comes second.
  const action = verb === "docker" ? p.positionals[0] : undefined;
  if (action !== undefined && action !== "start" && action !== "stop") {
    const near = nearest(action, ["start", "stop"]);
    throw new UsageError(`unknown action ${JSON.stringify(action)}: bridgelab sandbox docker start|stop NAME${near ? ` (did you mean ${near}?)` : ""}`, spec.name);
  }
  const name = verb === "docker" ? p.positionals[1] : p.positionals[0];
  if (name !== undefined) {
    try {
      assertSandboxName(name);
    } catch (e) {
      throw new UsageError((e as Error).message, spec.name);
    }
  }
  switch (verb) {
    case "create": {
      const info = await createSandbox(name);
      console.log(`sandbox host "${info.name}" created: uplink ${info.uplink.hostAddress} via ${info.uplink.gateway}; outside at ${info.uplink.internetAddress}`);
      return 0;
    }
    case "delete":
      console.log((await deleteSandbox(name)) ? `sandbox host "${name}" deleted` : `sandbox host "${name}" did not exist`);
      return 0;
    case "docker": {
      if (action === "start") {
        const d = await startSandboxDocker(name);
        console.log(`Docker ${d.version} runs in sandbox host "${name}" (socket ${d.socket}, image ${d.image}):`);
        console.log(`  bridgelab sandbox exec ${name} -- ${d.client} run -d -p 8080:80 ${d.image} httpd -f -p 80 -h /www`);
        return 0;
      }
      console.log((await stopSandboxDocker(name)) ? `Docker stopped in sandbox host "${name}"; the sandbox host is as before` : `Docker was not started in sandbox host "${name}"`);
      return 0;
    }
    case "list": {
      const all = listSandboxes();
      if (all.length === 0) console.log("no sandbox hosts");
      for (const s of all) console.log(`${s.name}\t${s.uplink.hostAddress}\tcreated ${s.createdAt}`);
      return 0;
    }
    default: {
      // exec NAME [--outside] -- CMD...
      if (p.rest.length === 0) throw new UsageError("exec needs '--' and a command: bridgelab sandbox exec NAME -- ip netns list", spec.name);
      if (!sandboxExists(name)) throw new Error(`sandbox host "${name}" does not exist; create it with \`bridgelab sandbox create ${name}\``);
      const paths = sandboxPaths(name);
      const argv = [...(flag(p, "outside") ? enterOutsideArgv(paths) : enterHostArgv(paths)), ...p.rest];
      return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: "inherit" });
        child.on("error", reject);
        child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      });
    }
  }
}
