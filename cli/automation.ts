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
 *   pulumi up --yes --refresh --stack netns-lab   # refreshes, previews, updates
 *   # or: pulumi refresh --yes / pulumi destroy --yes
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
  /** up: what the update did to each resource (its refresh steps left out), from the engine's events. */
  steps: Array<{ urn: string; type: string; op: string }>;
}

/**
 * Run `up`, `refresh` or `destroy` for the plan; progress goes to `onOutput` as the CLI prints it.
 * `up` refreshes first, as `pulumi up --refresh` does, so that what is gone from the host or was
 * changed by hand is seen and repaired, and the lab's LabProbes probe the host as it is.
 */
export async function runAutomation(verb: "up" | "down" | "refresh", plan: AutomationPlan, onOutput: (text: string) => void): Promise<AutomationResult> {
  // Loaded here: the Automation API pulls in grpc and more, which `bridgelab sandbox` never needs.
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  fs.mkdirSync(plan.backendUrl.slice("file://".length), { recursive: true });
  onOutput(`Pulumi stack "${plan.stack}" in ${plan.workDir}, backend ${plan.backendUrl}\n`);
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: plan.stack, workDir: plan.workDir }, { workDir: plan.workDir, envVars: plan.envVars });
  for (const [key, value] of Object.entries(plan.config)) await stack.setConfig(key, { value });
  if (verb === "up") {
    // As \`pulumi up --refresh\` does by default (the Automation API's up() always skips it): a
    // preview first, so that a bad input anywhere in the program stops the run before anything
    // changes; both refresh first, so they step against the host as it is, not as recorded.
    await stack.preview({ onOutput, refresh: true });
    const steps: AutomationResult["steps"] = [];
    const r = await stack.up({
      onOutput,
      refresh: true,
      onEvent: (e) => {
        const m = e.resOutputsEvent?.metadata;
        if (m && m.op !== "refresh") steps.push({ urn: m.urn, type: m.type, op: m.op });
      },
    });
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.outputs)) outputs[k] = v.secret ? "[secret]" : v.value;
    return { outputs, changes: describeChanges(r.summary.resourceChanges), steps };
  }
  if (verb === "refresh") {
    const r = await stack.refresh({ onOutput });
    return { outputs: {}, changes: describeChanges(r.summary.resourceChanges), steps: [] };
  }
  const r = await stack.destroy({ onOutput });
  return { outputs: {}, changes: describeChanges(r.summary.resourceChanges), steps: [] };
}

/** A resource of an exported Pulumi deployment (the fields bridgelab reads). */
interface DeploymentResource {
  urn: string;
  type: string;
  id?: string;
  custom?: boolean;
  external?: boolean;
  delete?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

const secretSig = { key: "4dabf18193072939515e22adb298388d", value: "1b47061264138c4ac30d75fd1eb44270" };

/** Secrets of `pulumi stack export --show-secrets` ({sig, plaintext: JSON}) as their values; `sealed` when one is still encrypted. */
export function revealSecrets(v: unknown, sealed: { found: boolean }): unknown {
  if (Array.isArray(v)) return v.map((x) => revealSecrets(x, sealed));
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (o[secretSig.key] === secretSig.value) {
    if (typeof o.plaintext === "string") return revealSecrets(JSON.parse(o.plaintext), sealed);
    sealed.found = true;
    return o;
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revealSecrets(x, sealed)]));
}

/**
 * The stack's resources as recorded (\`pulumi stack export --show-secrets\`, through the Automation
 * API), read only; undefined when the backend holds no such stack.
 */
export async function exportState(
  plan: AutomationPlan,
): Promise<Array<{ urn: string; type: string; id: string; custom: boolean; external?: boolean; inputs: Record<string, never>; outputs: Record<string, never>; unreadable?: boolean }> | undefined> {
  const backend = plan.backendUrl.slice("file://".length);
  if (!fs.existsSync(backend)) return undefined;
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  const ws = await LocalWorkspace.create({ workDir: plan.workDir, envVars: plan.envVars });
  const stacks = await ws.listStacks();
  if (!stacks.some((s) => s.name === plan.stack || s.name.endsWith(`/${plan.stack}`))) return undefined;
  const exported = (await ws.exportStack(plan.stack)) as { deployment?: { resources?: DeploymentResource[] } };
  return (exported.deployment?.resources ?? [])
    .filter((r) => !r.delete)
    .map((r) => {
      const sealed = { found: false };
      const outputs = revealSecrets(r.outputs ?? {}, sealed) as Record<string, never>;
      const inputs = revealSecrets(r.inputs ?? {}, sealed) as Record<string, never>;
      return {
        urn: r.urn,
        type: r.type,
        id: r.id ?? "",
        custom: r.custom === true,
        ...(r.external ? { external: true } : {}),
        inputs,
        outputs,
        ...(sealed.found ? { unreadable: true } : {}),
      };
    });
}

function describeChanges(c: Record<string, number> | undefined): string {
  return Object.entries(c ?? {})
    .map(([op, n]) => `${op}: ${n}`)
    .join(", ");
}
