/**
 * One `--flag value` / `--flag=value` word pair from argv, starting at index `i`.
 * Returns the flag, its value (undefined when argv ends) and the index of the last word used.
 */
export function readFlag(args: readonly string[], i: number): { name: string; value: string | undefined; last: number } {
  const word = args[i];
  const eq = word.indexOf("=");
  if (word.startsWith("--") && eq > 0) return { name: word.slice(0, eq), value: word.slice(eq + 1), last: i };
  return { name: word, value: args[i + 1], last: i + 1 };
}
