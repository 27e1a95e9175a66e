import * as fs from "node:fs";
import { ExecResult, RunOptions, Transport } from "./types";

/**
 * When BRIDGELAB_TRACE_FILE is set, every remote run appends one JSON line to it:
 * {"host":"sandbox:lab","ms":12,"code":0,"script":"<first line>"}. Tests use it to prove
 * that an unchanged resource makes no remote call; benchmarks count round trips with it.
 * Appends of one short line are atomic, so concurrent plugin calls don't interleave.
 */
export function traced(t: Transport): Transport {
  const file = process.env.BRIDGELAB_TRACE_FILE;
  if (!file) return t;
  return {
    label: t.label,
    close: () => t.close(),
    async run(script: string, opts?: RunOptions): Promise<ExecResult> {
      const start = Date.now();
      let code = -1;
      try {
        const r = await t.run(script, opts);
        code = r.code;
        return r;
      } finally {
        const first = script.split("\n").find((l) => l.trim() && !l.startsWith("set ")) ?? "";
        fs.appendFileSync(file, JSON.stringify({ host: t.label, ms: Date.now() - start, code, script: first.slice(0, 160) }) + "\n");
      }
    },
  };
}
