/**
 * The one function that turns an arbitrary string into a single shell word.
 *
 * Everything that reaches a shell is either validated against a strict pattern
 * (interface names, CIDRs, ports) or passed through here. POSIX single quotes
 * keep every byte literal except `'` itself, which is closed, escaped and reopened:
 *
 *   shQuote("it's")  →  'it'\''s'
 *
 * Words made only of safe characters are left bare so generated scripts stay
 * readable (`ip link add br0 type bridge`, not `'ip' 'link' ...`).
 */
export function shQuote(word: string): string {
  if (word.includes("\0")) {
    throw new Error(`cannot pass a NUL byte to a shell: ${JSON.stringify(word)}`);
  }
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return "'" + word.replace(/'/g, `'\\''`) + "'";
}

/** Quote every word of an argv array and join them into one command line. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(" ");
}
