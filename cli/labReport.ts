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

/**
 *   verification: 3/3 paths as expected
 *     ok  ping:netns0-to-netns1      netns0 → 172.18.0.11 (ping)           reach    reply
 *     ok  http:outside-to-netns0     outside → 198.51.100.2:5000 (http)    reach    HTTP 200
 */
export function formatVerification(v: Verification): string[] {
  const path = (r: MatrixRow) => `${r.from} → ${r.target}${r.kind ? ` (${r.kind})` : ""}`;
  const w1 = Math.max(...v.matrix.map((r) => r.name.length), 0);
  const w2 = Math.max(...v.matrix.map((r) => path(r).length), 0);
  return [
    `${v.at}: ${v.summary}`,
    ...v.matrix.map((r) => `  ${r.ok ? "ok " : "BAD"} ${r.name.padEnd(w1)}  ${path(r).padEnd(w2)}  ${r.expect.padEnd(7)}  ${r.detail ?? ""}`.trimEnd()),
  ];
}
