/**
 * One script, several answers. A script that reads more than one thing prints each under a
 * marker line, so a single remote round trip brings back everything:
 *
 *   echo '@@bridgelab link'; ip -j -d link show dev br0
 *   echo '@@bridgelab addr'; ip -j addr show dev br0
 */
const MARK = "@@bridgelab ";

/** The shell line that starts section NAME. NAME is a fixed word chosen by the caller. */
export function sectionMarker(name: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`bad section name ${JSON.stringify(name)}`);
  return `echo '${MARK}${name}'`;
}

/** Split a script's stdout into its sections. Text before the first marker is dropped. */
export function splitSections(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current: string | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(MARK)) {
      current = line.slice(MARK.length).trim();
      out[current] = "";
    } else if (current !== undefined) {
      out[current] += (out[current] ? "\n" : "") + line;
    }
  }
  for (const k of Object.keys(out)) out[k] = out[k].trim();
  return out;
}
