import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { Duplex } from "node:stream";

/**
 * A ProxyCommand: a local command whose stdin/stdout carry the SSH byte stream, as with
 * `ssh -o ProxyCommand='nc %h %p'`. Equivalent to `sh -c "$proxyCommand"` with `%h`, `%p`
 * and `%r` replaced by host, port and user (`%%` is a literal `%`).
 */

/** Substitute `%h`, `%p`, `%r` and `%%` like OpenSSH does. Unknown escapes are an error. */
export function expandProxyCommand(template: string, host: string, port: number, user: string): string {
  return template.replace(/%(.)/g, (whole, ch: string) => {
    switch (ch) {
      case "h":
        return host;
      case "p":
        return String(port);
      case "r":
        return user;
      case "%":
        return "%";
      default:
        throw new Error(`proxyCommand has an unknown escape ${whole}: only %h, %p, %r and %% are replaced`);
    }
  });
}

export interface ProxyStream {
  /** The duplex to hand ssh2 as `sock`: writes go to the command's stdin, reads come from its stdout. */
  stream: Duplex;
  /** The last few kilobytes the command wrote to stderr, for error messages. */
  stderrTail(): string;
  /** How the command ended (`exited 1`, `killed by SIGTERM`), or undefined while it runs. */
  exitStatus(): string | undefined;
  /** Settles when the command has exited (or could not start). */
  readonly exited: Promise<void>;
  /** SIGTERM the command's process group now (SIGKILL a few seconds later if need be). */
  kill(): void;
}

const STDERR_TAIL = 4096;

/**
 * Start the command in its own process group. Closing the stream ends its stdin, and if it
 * does not exit within a moment, the whole group gets SIGTERM, then SIGKILL.
 */
export function startProxyCommand(command: string): ProxyStream {
  const child: ChildProcessWithoutNullStreams = spawn("sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], detached: true });
  let stderr = "";
  let status: string | undefined;
  child.stderr.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString("utf8")).slice(-STDERR_TAIL);
  });
  child.stdin.on("error", () => undefined); // EPIPE once the command is gone: reported through close

  const signalGroup = (sig: NodeJS.Signals) => {
    if (status !== undefined || child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };

  const stop = () => {
    if (status !== undefined) return;
    child.stdin.end();
    const term = setTimeout(() => signalGroup("SIGTERM"), 2000);
    const kill = setTimeout(() => signalGroup("SIGKILL"), 5000);
    term.unref();
    kill.unref();
    child.once("close", () => {
      clearTimeout(term);
      clearTimeout(kill);
    });
  };

  const stream = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (status !== undefined || !child.stdin.writable) return cb(new Error(`proxy command ${status ?? "closed its input"}`));
      child.stdin.write(chunk, (err) => cb(err ?? null));
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    destroy(err, cb) {
      stop();
      cb(err);
    },
  });

  child.stdout.on("data", (b: Buffer) => {
    if (!stream.push(b)) child.stdout.pause();
  });
  child.stdout.on("end", () => stream.push(null));
  const exited = new Promise<void>((res) => {
    child.once("close", () => res());
    child.once("error", () => res());
  });
  child.on("error", (e) => {
    status = `could not start: ${e.message}`;
    stream.destroy(new Error(`proxy command could not start: ${e.message}`));
  });
  child.on("close", (code, signal) => {
    status = signal ? `killed by ${signal}` : `exited ${code}`;
    // Let ssh2 read what is still buffered before it sees the close.
    setImmediate(() => stream.destroy());
  });

  return {
    stream,
    stderrTail: () => stderr.trim(),
    exitStatus: () => status,
    exited,
    kill() {
      stream.destroy();
      signalGroup("SIGTERM");
    },
  };
}
