/**
 * The test engine's public shapes: what runEngine takes, what it reports, and the state file.
 * The summary is meant for assertions in tests and for humans reading `npm run engine` output,
 * so secrets are always shown as "[secret]" and preview placeholders as "[unknown]".
 */
import type { PropertyMap } from "./sdk";
import type { SecretsConfig } from "./secrets";

export type Operation = "up" | "preview" | "refresh" | "destroy";

export interface EngineOptions {
  op: Operation;
  /** The Pulumi program directory (holds Pulumi.yaml). Needed by every op: the plugin runs there. */
  dir: string;
  stack: string;
  stateFile: string;
  /** Extra config, `key` (project namespace implied) or `ns:key` → value; wins over Pulumi.<stack>.yaml. */
  config?: Record<string, string>;
  /** Like `config`, but the values are secrets (PULUMI_CONFIG_SECRET_KEYS, never printed). */
  secretConfig?: Record<string, string>;
  /** Extra environment for the program and the plugin (e.g. BRIDGELAB_ENGINE_PASSPHRASE, PULUMI_NODEJS_TRANSPILE_ONLY). */
  env?: Record<string, string>;
  /** up: skip the preview pass that otherwise runs first (and stops the run, changing nothing, when it fails). */
  skipPreview?: boolean;
  /**
   * up and preview: refresh first, as `pulumi up --refresh` does: every resource in the state is
   * Read (gone ones dropped, drift recorded) before the preview and the update, in the same run
   * and plugin process. up writes the refreshed state (even if the preview then fails, as a
   * `refresh` followed by an `up` would); preview keeps it in memory only. A failed Read stops
   * the run before the preview: nothing is changed on the hosts.
   */
  refresh?: boolean;
  /** Called with every log line as it happens (the CLI streams them to stderr). */
  onLog?: (line: string) => void;
}

/** What happened (or, for preview, would happen) to one resource. */
export type ResourceOp = "create" | "update" | "replace" | "delete" | "same" | "refresh" | "gone" | "read";

export interface ResourceSummary {
  urn: string;
  type: string;
  name: string;
  op: ResourceOp;
  /**
   * up/preview (update or replace): the top-level input keys whose new value differs from the old
   * input or, when the provider asked for the change, from the old output (drift), plus output keys
   * the last refresh found drifted and the keys that force the replacement. refresh: the output
   * keys that changed.
   */
  changes?: string[];
  /** gRPC methods called on the dynamic-provider plugin for this resource, in order. */
  providerCalls: string[];
  /**
   * A replacement (or a dependent's delete ahead of one) that deletes the old object before the
   * new one exists: the provider's Diff or the deleteBeforeReplace option asked for it. Set in a
   * preview too, so users see which replacements leave a gap.
   */
  deleteFirst?: boolean;
  /** Set when this resource's step failed. */
  error?: string;
}

export interface EngineSummary {
  op: Operation;
  ok: boolean;
  error?: string;
  resources: ResourceSummary[];
  /** Stack outputs; secrets as "[secret]". */
  outputs: Record<string, unknown>;
  logs: string[];
  /**
   * up only: the preview pass that runs first failed, so nothing was changed; `resources` then
   * describe that preview (Check and Diff calls only) and `outputs` are the recorded ones.
   */
  previewFailed?: boolean;
  /**
   * up/preview with `refresh`: what the refresh pass found, one line per resource it read
   * (`op` "refresh", `changes` the output keys that changed, or "gone").
   */
  refreshed?: ResourceSummary[];
  /**
   * up/preview with `refresh`: a Read failed, so the run stopped before the preview and nothing
   * was changed; `resources` are the refresh's lines (as in `refreshed`).
   */
  refreshFailed?: boolean;
}

/** One resource in the state file. Secrets inside inputs/outputs are stored encrypted. */
export interface StateResource {
  urn: string;
  type: string;
  custom: boolean;
  /** Provider-assigned id; "" for components and the stack. */
  id: string;
  parent: string;
  inputs: PropertyMap;
  outputs: PropertyMap;
  dependencies: string[];
  propertyDependencies?: Record<string, string[]>;
  deleteBeforeReplace?: boolean;
  /** The replaceOnChanges option (kept for the dependents check of a later delete-before-replace). */
  replaceOnChanges?: string[];
  additionalSecretOutputs?: string[];
  protect?: boolean;
  retainOnDelete?: boolean;
  /** Read with `get` (ReadResource): tracked but never deleted by the engine. */
  external?: boolean;
  /** The old half of a create-before-delete replacement still waiting to be deleted. */
  delete?: boolean;
  /**
   * Output keys that refreshes found changed since the provider last wrote this resource (cleared
   * by the next create, update or unchanged step): named in `changes` when the provider then asks
   * for an update, which may come from outputs no input matches (a rule deleted by hand).
   */
  drift?: string[];
}

export interface StateFile {
  version: 1;
  stack: string;
  project: string;
  resources: StateResource[];
  outputs: PropertyMap;
  /** How the secrets in this file are encrypted (absent until the first secret is stored). */
  secrets?: SecretsConfig;
}
