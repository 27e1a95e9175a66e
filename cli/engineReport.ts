import type { EngineSummary, ResourceSummary } from "../engine/types";

/**
 * The report `bridgelab engine` prints, in the shape of Pulumi's: one line per resource that
 * changes (or would change), the count of the rest, the stack outputs, and the error once.
 * Pure.
 *
 *   Resources:
 *     + create   bridgelab:NetNamespace  netns0
 *     ~ update   bridgelab:Bridge        br0     [mtu]
 *     -+ replace  bridgelab:VethPair      veth0   [namespace]  (deletes first)
 *     5 unchanged
 *
 * A replacement is made before the old object goes ("+-"), unless the provider or the
 * deleteBeforeReplace option says the two cannot exist at once: then "-+" and "(deletes first)",
 * the gap users should know about before they say yes.
 *   Outputs:
 *     url: "http://198.51.100.2:5000"
 */
const marks: Record<string, string> = {
  create: "+",
  update: "~",
  replace: "+-",
  delete: "-",
  read: ">",
  refresh: "~",
  gone: "-",
  same: " ",
};

/** `pulumi-nodejs:dynamic/bridgelab:Bridge` → `bridgelab:Bridge`; other types as they are. */
export function shortType(type: string): string {
  return type.replace(/^pulumi-nodejs:dynamic\//, "");
}

function shown(r: ResourceSummary, op: EngineSummary["op"]): boolean {
  if (r.type === "pulumi:pulumi:Stack") return false;
  if (op === "refresh") return r.op === "gone" || (r.changes?.length ?? 0) > 0 || !!r.error;
  return r.op !== "same" || !!r.error;
}

/** One section of the report: a heading, a line per resource shown, the rest counted. */
function section(heading: string, resources: ResourceSummary[], op: EngineSummary["op"]): string[] {
  const lines: string[] = [`${heading}:`];
  const listed = resources.filter((r) => shown(r, op));
  const rest = resources.filter((r) => r.type !== "pulumi:pulumi:Stack" && !listed.includes(r));
  const typeWidth = Math.max(0, ...listed.map((r) => shortType(r.type).length));
  const nameWidth = Math.max(0, ...listed.map((r) => r.name.length));
  for (const r of listed) {
    const op = r.op === "refresh" ? "drift" : r.op;
    const changes = r.changes && r.changes.length > 0 ? `  [${r.changes.join(", ")}]` : "";
    const failed = r.error ? "  FAILED" : "";
    const first = r.deleteFirst && (r.op === "replace" || r.op === "delete");
    const mark = first && r.op === "replace" ? "-+" : (marks[r.op] ?? "?");
    const gap = first ? (r.op === "replace" ? "  (deletes first)" : "  (deleted first, to be replaced)") : "";
    lines.push(`  ${mark.padEnd(2)} ${op.padEnd(8)} ${shortType(r.type).padEnd(typeWidth)}  ${r.name.padEnd(nameWidth)}${changes}${gap}${failed}`.trimEnd());
  }
  if (rest.length > 0) lines.push(`  ${rest.length} ${op === "refresh" ? "as recorded" : "unchanged"}`);
  if (resources.filter((r) => r.type !== "pulumi:pulumi:Stack").length === 0) lines.push("  (none)");
  return lines;
}

export function formatSummary(s: EngineSummary, options: { outputs?: boolean } = {}): string {
  const lines: string[] = [];
  // An up or preview that refreshed first (--refresh): what the refresh found, then the rest.
  if (s.refreshFailed) {
    lines.push(...section("Refreshed", s.resources, "refresh"));
  } else {
    if (s.refreshed) lines.push(...section("Refreshed", s.refreshed, "refresh"));
    // A failed preview of an up changed nothing: say so, and show what it would have done.
    lines.push(...section(s.op === "preview" || s.previewFailed ? "Previewed" : "Resources", s.resources, s.op));
  }
  const outputs = Object.entries(s.outputs ?? {});
  if (outputs.length > 0 && s.op !== "destroy" && options.outputs !== false) {
    lines.push("Outputs:");
    for (const [k, v] of outputs) lines.push(`  ${k}: ${oneLine(v)}`);
  }
  if (!s.ok) lines.push(`error: ${readableError(s.error ?? "the run failed")}`);
  return lines.join("\n") + "\n";
}

/**
 * An error as a person reads it: a program's stack frames (`    at …`, Node's and the runner's)
 * left out unless BRIDGELAB_DEBUG is set (the --json summary keeps them), terminal colours out.
 */
export function readableError(text: string, debug = !!process.env.BRIDGELAB_DEBUG): string {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
  if (debug) return plain;
  const kept = plain.split("\n").filter((l) => !/^\s+at \S/.test(l));
  return kept.join("\n");
}

/** A value as one line of JSON, cut at 160 characters (the whole is in --json and in the state). */
function oneLine(v: unknown): string {
  const text = JSON.stringify(v) ?? "undefined";
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
