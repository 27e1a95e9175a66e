import { createSandbox, deleteSandbox } from "../../provider/sandbox/sandboxHost";
import { SandboxTransport } from "../../provider/transport/sandbox";
import { runChecked } from "../../provider/transport/types";
import type { SandboxConnection } from "../../provider/transport/connection";

let counter = 0;

/** A fresh sandbox host per test file: unique name, deleted by `dispose`. */
export async function makeSandbox(prefix: string): Promise<{ name: string; connection: SandboxConnection; sh: (script: string) => Promise<string>; dispose: () => Promise<void> }> {
  const name = `${prefix}-${process.pid}-${counter++}`.slice(0, 32);
  await createSandbox(name);
  const t = new SandboxTransport(name);
  return {
    name,
    connection: { kind: "sandbox", name },
    /** Run a script inside the sandbox host from outside the provider (to assert or to cause drift). */
    sh: async (script: string) => (await runChecked(t, script, "test")).stdout,
    dispose: async () => {
      await deleteSandbox(name);
    },
  };
}
