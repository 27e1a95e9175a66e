import { parseArgs } from "node:util";

/**
 * Argument parsing for every `bridgelab` command, on Node's own `util.parseArgs`: `--flag value`
 * and `--flag=value`, repeatable flags, `--` before a command to run. Adds what parseArgs leaves
 * out: `--help`/`-h` on every command (usage on stdout, exit 0), and an unknown flag named with
 * the nearest known one ("unknown option --stak: did you mean --stack?").
 */
export interface OptionSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
}

export interface CommandSpec {
  /** "bridgelab engine", for messages. */
  name: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** How many positional words the command takes (after its name). */
  positionals?: { min: number; max: number };
}

/** A mistake in how the command was called: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Words after a `--`, verbatim. */
  rest: string[];
}

/** `undefined` when --help was asked for (the caller prints spec.usage and exits 0). */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed | undefined {
  const dash = argv.indexOf("--");
  const words = dash < 0 ? argv : argv.slice(0, dash);
  const rest = dash < 0 ? [] : argv.slice(dash + 1);
  if (words.includes("--help") || words.includes("-h")) return undefined;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: words, options: spec.options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(explain(e as Error & { code?: string }, spec), spec.name);
  }
  const positionals = parsed.positionals;
  const { min, max } = spec.positionals ?? { min: 0, max: 0 };
  if (positionals.length < min) throw new UsageError(`missing argument${min - positionals.length > 1 ? "s" : ""}`, spec.name);
  if (positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`, spec.name);
  return { values: parsed.values as Parsed["values"], positionals, rest };
}

function explain(e: Error & { code?: string }, spec: CommandSpec): string {
  const known = Object.keys(spec.options).map((o) => `--${o}`);
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(e.message)?.[1] ?? e.message;
    const name = flag.split("=")[0];
    const near = nearest(name, [...known, "--help"]);
    return `unknown option ${name}${near ? `: did you mean ${near}?` : ""}`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = /'(-[^' ]+)/.exec(e.message)?.[1];
    const opt = flag ? spec.options[flag.replace(/^--?/, "").split(" ")[0]] : undefined;
    if (flag && opt?.type === "boolean") return `${flag} takes no value`;
    return flag ? `${flag.split(" ")[0]} needs a value` : e.message;
  }
  return e.message;
}

/** The known word closest to `word` (Levenshtein distance at most 3, or a prefix), if any. */
export function nearest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = k.startsWith(word) && word.length > 2 ? 0.5 : distance(word, k);
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return bestDistance <= Math.min(3, Math.max(1, Math.floor(word.length / 2))) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length];
}

/** `key=value` words (of --config / --secret) into a record; the key must be non-empty. */
export function keyValues(flag: string, words: readonly string[] | undefined, command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words ?? []) {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag} expects key=value, got ${JSON.stringify(w)}`, command);
    out[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return out;
}

export function str(p: Parsed, key: string): string | undefined {
  const v = p.values[key];
  return typeof v === "string" ? v : undefined;
}

export function list(p: Parsed, key: string): string[] {
  const v = p.values[key];
  return Array.isArray(v) ? v : [];
}

export function flag(p: Parsed, key: string): boolean {
  return p.values[key] === true;
}
