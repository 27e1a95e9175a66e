import * as fs from "node:fs";
import * as path from "node:path";

/**
 * `bridgelab up` / `down` through the Pulumi CLI, driven by the Automation API
 * (`@pulumi/pulumi/automation`): the project in the repository (Pulumi.yaml, stacks/), a local
 * file backend, no account and no login. Equivalent to:
 *
 *   export PULUMI_BACKEND_URL=file://$REPO/.bridgelab/backend PULUMI_CONFIG_PASSPHRASE=
 *   pulumi stack select --create netns-lab
 *   pulumi config set bridgelab:sandbox bridgelab --stack netns-lab
 *   pulumi up --yes --stack netns-lab        # previews first; or: pulumi destroy --yes
 */
export interface AutomationPlan {
  /** The Pulumi project directory: the repository. */
  workDir: string;
  stack: string;
  /** file://<stateDir>/backend */
  backendUrl: string;
  /** What the workspace passes to every `pulumi` it runs. */
  envVars: Record<string, string>;
  /** Stack config set before `up` (in Pulumi.<stack>.yaml, as `pulumi config set` does). */
  config: Record<string, string>;
}

/**
 * The plan for a run, pure. The passphrase of the local backend's secrets is
 * PULUMI_CONFIG_PASSPHRASE, "" unless the environment sets it (or PULUMI_CONFIG_PASSPHRASE_FILE):
 * a lab's secrets are then encrypted with an empty passphrase, which keeps `npm run lab`
 * free of prompts; set your own for anything that matters.
 */
export function automationPlan(opts: { repo: string; stack: string; stateDir: string; config: Record<string, string> }, env: NodeJS.ProcessEnv = process.env): AutomationPlan {
  const envVars: Record<string, string> = {
    PULUMI_BACKEND_URL: `file://${path.join(opts.stateDir, "backend")}`,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  if (env.PULUMI_CONFIG_PASSPHRASE === undefined && env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) envVars.PULUMI_CONFIG_PASSPHRASE = "";
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.config)) config[k.includes(":") ? k : `bridgelab:${k}`] = v;
  return { workDir: opts.repo, stack: opts.stack, backendUrl: envVars.PULUMI_BACKEND_URL, envVars, config };
}

export interface AutomationResult {
  /** Stack outputs, secrets shown as "[secret]". */
  outputs: Record<string, unknown>;
  /** "create: 5, same: 2" */
  changes: string;
}

/** Run `up` or `destroy` for the plan; progress goes to `onOutput` as the CLI prints it. */
export async function runAutomation(verb: "up" | "down", plan: AutomationPlan, onOutput: (text: string) => void): Promise<AutomationResult> {
  // Loaded here: the Automation API pulls in grpc and more, which `bridgelab sandbox` never needs.
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  fs.mkdirSync(plan.backendUrl.slice("file://".length), { recursive: true });
  onOutput(`Pulumi stack "${plan.stack}" in ${plan.workDir}, backend ${plan.backendUrl}\n`);
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: plan.stack, workDir: plan.workDir }, { workDir: plan.workDir, envVars: plan.envVars });
  for (const [key, value] of Object.entries(plan.config)) await stack.setConfig(key, { value });
  if (verb === "up") {
    // As \`pulumi up\` does by default (the Automation API's up() always skips it): a preview
    // first, so that a bad input anywhere in the program stops the run before anything changes.
    await stack.preview({ onOutput });
    const r = await stack.up({ onOutput });
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.outputs)) outputs[k] = v.secret ? "[secret]" : v.value;
    return { outputs, changes: describeChanges(r.summary.resourceChanges) };
  }
  const r = await stack.destroy({ onOutput });
  return { outputs: {}, changes: describeChanges(r.summary.resourceChanges) };
}

function describeChanges(c: Record<string, number> | undefined): string {
  return Object.entries(c ?? {})
    .map(([op, n]) => `${op}: ${n}`)
    .join(", ");
}
