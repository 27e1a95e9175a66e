import { distinctParts } from "../provider/components/expectedPaths";

/**
 * What `bridgelab up` prints after a lab is up: the verification matrices found among the
 * stack's outputs (a LabProbe's `matrix` and `summary`, exported as is or inside an object).
 * Pure.
 */
export interface MatrixRow {
  name: string;
  from: string;
  kind?: string;
  target: string;
  expect: string;
  ok: boolean;
  detail?: string;
}

export interface Verification {
  /** Where in the outputs: "verification", "lab.verification". */
  at: string;
  summary: string;
  matrix: MatrixRow[];
}

const isRow = (r: unknown) => !!r && typeof r === "object" && "ok" in r && "target" in r && "name" in r;
const isMatrix = (v: unknown): v is MatrixRow[] => Array.isArray(v) && v.length > 0 && v.every(isRow);

function isVerification(v: unknown): v is { summary: string; matrix: MatrixRow[] } {
  if (!v || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  return typeof o.summary === "string" && Array.isArray(o.matrix) && o.matrix.every(isRow);
}

/**
 * Every verification in the outputs, in key order: an object with `matrix` and `summary` (a
 * LabProbe's outputs) at the top level or one level down, or a matrix exported alone as K
 * (its summary as KSummary, or counted here).
 */
export function findVerifications(outputs: Record<string, unknown>): Verification[] {
  const found: Verification[] = [];
  const counted = (m: MatrixRow[]) => `${m.filter((r) => r.ok).length}/${m.length} paths as expected`;
  for (const key of Object.keys(outputs).sort()) {
    const v = outputs[key];
    if (isVerification(v)) {
      found.push({ at: key, summary: v.summary, matrix: v.matrix });
    } else if (isMatrix(v)) {
      const s = outputs[`${key}Summary`];
      found.push({ at: key, summary: typeof s === "string" ? s : counted(v), matrix: v });
    } else if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const inner of Object.keys(v).sort()) {
        const w = (v as Record<string, unknown>)[inner];
        if (isVerification(w)) found.push({ at: `${key}.${inner}`, summary: w.summary, matrix: w.matrix });
      }
    }
  }
  return found;
}

/** Where `bridgelab up` prints: a terminal of this many columns. */
export const REPORT_WIDTH = 100;

/**
 *   verification: 2/2 paths as expected
 *     ok  ping:netns0-to-netns1        netns0 → 172.18.0.11 (ping)         reach    reply
 *     ok  http:outside-to-netns0:5000  outside → 198.51.100.2:5000 (http)  reach    HTTP 200
 *
 * One aligned line per path, kept within `width` columns: when the lines would be wider, the
 * source namespaces are shown by the part of their names that tells them apart, with one line
 * saying what that stands for (the ECS lab's "ecs-networking-demo-bridge-stat-1-nginx" is
 * "stat-1"); a detail that still does not fit goes on the next line, under the path.
 */
export function formatVerification(v: Verification, width = REPORT_WIDTH): string[] {
  const lines = (from: (r: MatrixRow) => string) => {
    const path = (r: MatrixRow) => `${from(r)} → ${r.target}${r.kind ? ` (${r.kind})` : ""}`;
    const w1 = Math.max(...v.matrix.map((r) => r.name.length), 0);
    const w2 = Math.max(...v.matrix.map((r) => path(r).length), 0);
    const w3 = Math.max(...v.matrix.map((r) => r.expect.length), 7);
    return v.matrix.flatMap((r) => {
      const head = `  ${r.ok ? "ok " : "BAD"} ${r.name.padEnd(w1)}  ${path(r).padEnd(w2)}  ${r.expect.padEnd(w3)}`;
      const line = `${head}  ${r.detail ?? ""}`.trimEnd();
      if (line.length <= width || !r.detail) return [line];
      // The detail on the next line(s), under the path column (or further left when that is too narrow).
      const indent = width - (6 + w1 + 2) >= 30 ? 6 + w1 + 2 : 6;
      return [head.trimEnd(), ...wrap(r.detail, width - indent).map((l) => `${" ".repeat(indent)}${l}`)];
    });
  };
  const header = `${v.at}: ${v.summary}`;
  const plain = lines((r) => r.from);
  if (plain.every((l) => l.length <= width)) return [header, ...plain];
  const parts = distinctParts(v.matrix.map((r) => r.from).filter((f) => f !== "host" && f !== "outside"));
  if (!parts) return [header, ...plain];
  return [header, `  (a source X stands for namespace ${parts.prefix}X${parts.suffix})`, ...lines((r) => parts.short.get(r.from) ?? r.from)];
}

/** `text` in lines of at most `width` characters, broken at spaces (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.push(line);
  return out;
}
