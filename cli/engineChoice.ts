import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Which engine runs `bridgelab up` / `down`. Pure except findPulumi, which looks at PATH.
 *
 *   --engine pulumi    the Pulumi CLI through the Automation API (needs `pulumi` on PATH)
 *   --engine bundled   the bundled test engine: the real Pulumi runner and plugin, a stand-in engine
 *   (no flag)          the Pulumi CLI when it is on PATH; otherwise an error that says so and
 *                      offers `--engine bundled` (what `npm run lab` passes)
 */
export type EngineName = "pulumi" | "bundled";

export type EngineChoice = { engine: EngineName; pulumi?: string; note?: string } | { error: string };

/** The first executable `pulumi` on PATH, or undefined. */
export function findPulumi(envPath: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (envPath ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "pulumi");
    try {
      const st = fs.statSync(candidate);
      if (st.isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

export function chooseEngine(requested: string | undefined, pulumi: string | undefined, verb: "up" | "down" | "refresh" | "verify"): EngineChoice {
  const npmRun = verb === "up" ? " (what `npm run lab` runs)" : verb === "down" ? " (what `npm run lab:down` runs)" : "";
  const bundledHint = `\`npx bridgelab ${verb} --engine bundled\`${npmRun}`;
  switch (requested) {
    case "bundled":
      return pulumi
        ? { engine: "bundled", note: `using the bundled test engine as asked; the Pulumi CLI at ${pulumi} is also available: \`npx bridgelab ${verb}\` uses it` }
        : { engine: "bundled" };
    case "pulumi":
      if (pulumi) return { engine: "pulumi", pulumi };
      return { error: `--engine pulumi: no \`pulumi\` executable on PATH. Install the Pulumi CLI (https://www.pulumi.com/docs/install/), or use the bundled test engine: ${bundledHint}.` };
    case undefined:
    case "":
      if (pulumi) return { engine: "pulumi", pulumi };
      return {
        error:
          `no Pulumi CLI here: there is no \`pulumi\` executable on PATH, and bridgelab does not download one (it is a binary from get.pulumi.com). ` +
          `Either install it (https://www.pulumi.com/docs/install/) and run this again, or choose the bundled test engine explicitly: ${bundledHint}. ` +
          `The bundled engine runs the same stack programs through the real Pulumi SDK runtime and the real dynamic-provider plugin, keeping state in a JSON file.`,
      };
    default:
      return { error: `--engine ${JSON.stringify(requested)}: choose "pulumi" (the Pulumi CLI, through the Automation API) or "bundled" (the bundled test engine)` };
  }
}
