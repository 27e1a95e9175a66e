import * as fs from "node:fs";
import { pluginChildren } from "../test/support/procTable";

/** The median of XS (NaN when empty). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

/**
 * The plugin's peak memory: VmHWM (kB) of this process's `dynamic-provider` children (the
 * engine runs in this process and spawns the plugin), polled every 100 ms from /proc; stop()
 * takes a last sample and returns the max seen.
 */
export function rssPoller(): { stop: () => number } {
  let peak = 0;
  const sample = () => {
    for (const pid of pluginChildren()) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        /* gone meanwhile */
      }
    }
  };
  const t = setInterval(sample, 100);
  return { stop: () => (clearInterval(t), sample(), peak) };
}
