import * as fs from "node:fs";
import * as path from "node:path";

/**
 * One copy of @pulumi/pulumi per program. bridgelab takes @pulumi/pulumi as a peer dependency, so
 * an install from the registry or a tarball shares the program's copy. A linked or directory
 * install (`npm link`, `npm install ../bridgelab`) brings bridgelab's own copy instead: its
 * resources then register through a second runtime, and depending on the two versions that
 * works, or fails later with errors that name neither copy (resource references and outputs
 * crossing copies). Refuse it at import, naming both copies and the way out.
 *
 * Only checked inside a Pulumi program (the runner `@pulumi/pulumi/cmd/run` is the main module);
 * BRIDGELAB_ALLOW_TWO_PULUMI=1 lets a developer working on bridgelab itself go on anyway.
 */
export function programPulumiRoot(mainFile: string | undefined): string | undefined {
  const m = /^(.*[\\/]node_modules[\\/]@pulumi[\\/]pulumi)[\\/]cmd[\\/]run[\\/]/.exec(mainFile ?? "");
  return m?.[1];
}

function versionOf(root: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version?: string }).version ?? "?";
  } catch {
    return "?";
  }
}

/** The problem, if the program's copy of @pulumi/pulumi is not the one bridgelab loads. Pure but for realpath and reading package.json. */
export function twoPulumiProblem(programRoot: string | undefined, bridgelabRoot: string): string | undefined {
  if (!programRoot) return undefined;
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  };
  if (real(programRoot) === real(bridgelabRoot)) return undefined;
  return (
    `bridgelab: two copies of @pulumi/pulumi in one program: the program runs ${real(programRoot)} (${versionOf(programRoot)}) ` +
    `and bridgelab loads ${real(bridgelabRoot)} (${versionOf(bridgelabRoot)}). bridgelab's resources must register through the ` +
    `program's copy. This happens when bridgelab is linked or installed from a directory that has its own node_modules ` +
    `(npm link, "file:../bridgelab"). Install it from the registry or from a tarball instead (in a checkout: \`npm pack\`, ` +
    `then \`npm install /path/to/bridgelab-VERSION.tgz\`), so that it uses the project's @pulumi/pulumi (a peer dependency); ` +
    `or set BRIDGELAB_ALLOW_TWO_PULUMI=1 to go on at your own risk.`
  );
}

export function assertOnePulumi(): void {
  if (process.env.BRIDGELAB_ALLOW_TWO_PULUMI === "1") return;
  const programRoot = programPulumiRoot(require.main?.filename);
  if (!programRoot) return;
  const problem = twoPulumiProblem(programRoot, path.dirname(require.resolve("@pulumi/pulumi/package.json")));
  if (problem) throw new Error(problem);
}
