import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A host that lacks a tool, without uninstalling anything: a directory of symlinks to every
 * program on the standard PATH, used as the whole PATH of a session (sshd's `SetEnv PATH=DIR`,
 * see startSshd's `path`) or of a script (`PATH=DIR; export PATH`). Remove a symlink and the
 * host "has" no such tool; put a stand-in script there and it has a different one.
 *
 *   const tools = makeToolDir();
 *   tools.without("conntrack");          // command -v conntrack fails on that PATH
 *   tools.fake("ip", "#!/bin/sh\n…");   // an ip that prints no JSON
 *   tools.restore();                     // every program back as it was
 *
 * Lives in the machine's temporary directory, which sandbox hosts see too (only /run differs).
 */
export interface ToolDir {
  dir: string;
  /** Remove the named programs from the directory. */
  without(...names: string[]): void;
  /** Replace (or add) a program by a script. */
  fake(name: string, script: string): void;
  /** Every program linked again, stand-ins removed. */
  restore(): void;
  /** Delete the directory. */
  dispose(): void;
}

/** The standard PATH, first match wins (on merged-/usr Debian, /bin and /sbin are links into /usr). */
export const STANDARD_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function makeToolDir(prefix = "bridgelab-tools-"): ToolDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  const programs = new Map<string, string>();
  for (const d of STANDARD_PATH) {
    if (!fs.existsSync(d)) continue;
    for (const name of fs.readdirSync(d)) if (!programs.has(name)) programs.set(name, path.join(d, name));
  }
  const link = () => {
    for (const [name, target] of programs) {
      const p = path.join(dir, name);
      fs.rmSync(p, { force: true });
      fs.symlinkSync(target, p);
    }
  };
  link();
  return {
    dir,
    without: (...names) => {
      for (const n of names) fs.rmSync(path.join(dir, n), { force: true });
    },
    fake: (name, script) => {
      const p = path.join(dir, name);
      fs.rmSync(p, { force: true });
      fs.writeFileSync(p, script, { mode: 0o755 });
    },
    restore: () => {
      for (const f of fs.readdirSync(dir)) if (!programs.has(f)) fs.rmSync(path.join(dir, f), { force: true });
      link();
    },
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
