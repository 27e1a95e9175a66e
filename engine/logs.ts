/**
 * Collects the run's log lines (engine messages, the program's and the plugin's output) and scrubs
 * known secret plaintexts from them, so that neither the summary nor the CLI output can leak a
 * secret that a provider or program happened to print or put into an error message.
 *
 * Which plaintexts are known is decided by `secretStrings` (properties.ts): whole secret strings,
 * and inside secret objects only credential-like leaves. Here two matching rules are added: a string
 * shorter than `minSecretLength` is never scrubbed (a port, "root" or "ssh" would garble every
 * message, URNs included), and each line of `minSecretLineLength`+ characters of a multi-line
 * secret (a PEM key) is scrubbed on its own too, since messages are logged line by line (PEM
 * armour lines excepted: they are the same in every key).
 */
export const minSecretLength = 6;
export const minSecretLineLength = 16;
/** `-----BEGIN OPENSSH PRIVATE KEY-----` and its END: the same in every key, so not scrubbed on their own. */
const pemArmour = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/;

export class LogSink {
  readonly lines: string[] = [];
  private readonly secrets = new Set<string>();
  /** The secrets, longest first (a secret containing another is replaced whole); rebuilt on change. */
  private sorted: string[] | undefined = [];

  constructor(private readonly onLog?: (line: string) => void) {}

  /** Registers plaintexts to scrub (see the rules above). */
  addSecrets(values: Iterable<string>): void {
    for (const v of values) {
      this.add(v);
      if (!v.includes("\n")) continue;
      for (const raw of v.split("\n")) {
        const line = raw.trim();
        if (line.length >= minSecretLineLength && !pemArmour.test(line)) this.add(line);
      }
    }
  }

  private add(v: string): void {
    if (v.length < minSecretLength || this.secrets.has(v)) return;
    this.secrets.add(v);
    this.sorted = undefined;
  }

  scrub(text: string): string {
    this.sorted ??= [...this.secrets].sort((a, b) => b.length - a.length);
    let out = text;
    for (const s of this.sorted) if (out.includes(s)) out = out.split(s).join("[secret]");
    return out;
  }

  log(source: string, text: string): void {
    for (const raw of text.replace(/\s+$/, "").split("\n")) {
      const line = `${source}: ${this.scrub(raw)}`;
      this.lines.push(line);
      this.onLog?.(line);
    }
  }
}
