import { spawn } from "node:child_process";
import { createSandbox, deleteSandbox, listSandboxes, sandboxExists } from "../provider/sandbox/sandboxHost";
import { enterHostArgv, enterOutsideArgv, sandboxPaths } from "../provider/sandbox/sandboxLayout";

export const SANDBOX_USAGE = `usage:
  bridgelab sandbox create NAME                  make a sandbox host (needs root)
  bridgelab sandbox exec NAME [--outside] -- CMD...  run CMD inside it (or in its outside)
  bridgelab sandbox list                         list sandbox hosts
  bridgelab sandbox delete NAME                  remove it and everything in it`;

/** `bridgelab sandbox ...`; returns the process exit code. */
export async function sandboxCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  switch (verb) {
    case "create": {
      const name = one(rest, "create");
      const info = await createSandbox(name);
      console.log(`sandbox host "${info.name}" created: uplink ${info.uplink.hostAddress} via ${info.uplink.gateway}; outside at ${info.uplink.internetAddress}`);
      return 0;
    }
    case "delete": {
      const name = one(rest, "delete");
      console.log((await deleteSandbox(name)) ? `sandbox host "${name}" deleted` : `sandbox host "${name}" did not exist`);
      return 0;
    }
    case "list": {
      const all = listSandboxes();
      if (all.length === 0) console.log("no sandbox hosts");
      for (const s of all) console.log(`${s.name}\t${s.uplink.hostAddress}\tcreated ${s.createdAt}`);
      return 0;
    }
    case "exec": {
      const dash = rest.indexOf("--");
      const before = dash < 0 ? rest : rest.slice(0, dash);
      const cmd = dash < 0 ? [] : rest.slice(dash + 1);
      const outside = before.includes("--outside");
      const names = before.filter((a) => a !== "--outside");
      if (names.length !== 1 || cmd.length === 0) throw new Error(`exec needs NAME, '--' and a command\n${SANDBOX_USAGE}`);
      if (!sandboxExists(names[0])) throw new Error(`sandbox host "${names[0]}" does not exist; create it with \`bridgelab sandbox create ${names[0]}\``);
      const p = sandboxPaths(names[0]);
      const argv = [...(outside ? enterOutsideArgv(p) : enterHostArgv(p)), ...cmd];
      return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: "inherit" });
        child.on("error", reject);
        child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      });
    }
    default:
      console.error(SANDBOX_USAGE);
      return 2;
  }
}

function one(rest: string[], verb: string): string {
  if (rest.length !== 1) throw new Error(`${verb} needs exactly one NAME\n${SANDBOX_USAGE}`);
  return rest[0];
}
