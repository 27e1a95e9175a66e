/**
 * Collects the run's log lines (engine messages, the program's and the plugin's output) and scrubs
 * every known secret plaintext from them, so that neither the summary nor the CLI output can leak
 * a secret that a provider or program happened to print or put into an error message.
 */
export class LogSink {
  readonly lines: string[] = [];
  private readonly secrets = new Set<string>();

  constructor(private readonly onLog?: (line: string) => void) {}

  /** Registers plaintexts to scrub. Very short strings are skipped: scrubbing "1" would garble everything. */
  addSecrets(values: Iterable<string>): void {
    for (const v of values) if (v.length >= 3) this.secrets.add(v);
  }

  scrub(text: string): string {
    let out = text;
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("[secret]");
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
