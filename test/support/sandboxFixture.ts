import { createSandbox, deleteSandbox } from "../../provider/sandbox/sandboxHost";
import { enterOutsideArgv, sandboxPaths } from "../../provider/sandbox/sandboxLayout";
import { spawnScript } from "../../provider/transport/spawnScript";
import { CommandError } from "../../provider/transport/types";
import { SandboxTransport } from "../../provider/transport/sandbox";
import { runChecked } from "../../provider/transport/types";
import type { SandboxConnection } from "../../provider/transport/connection";

let counter = 0;

/** A fresh sandbox host per test file: unique name, deleted by `dispose`. */
export async function makeSandbox(prefix: string): Promise<{
  name: string;
  connection: SandboxConnection;
  sh: (script: string) => Promise<string>;
  outside: (script: string) => Promise<string>;
  dispose: () => Promise<void>;
}> {
  const name = `${prefix}-${process.pid}-${counter++}`.slice(0, 32);
  await createSandbox(name);
  const t = new SandboxTransport(name);
  return {
    name,
    connection: { kind: "sandbox", name },
    /** Run a script inside the sandbox host from outside the provider (to assert or to cause drift). */
    sh: async (script: string) => (await runChecked(t, script, "test")).stdout,
    /** Run a script in the sandbox's outside namespace (the stand-in internet). */
    outside: async (script: string) => {
      const r = await spawnScript(`outside:${name}`, enterOutsideArgv(sandboxPaths(name)), script);
      if (r.code !== 0) throw new CommandError(`outside:${name}`, r, "test");
      return r.stdout;
    },
    dispose: async () => {
      await deleteSandbox(name);
    },
  };
}
