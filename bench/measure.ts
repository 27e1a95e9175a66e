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

/**
 * Waits until the sandbox host (its `sh`) has no namespace, no link besides lo and eth0, and no
 * bridgelab or floor iptables rule, else throws naming what WHAT left. The kernel tears a deleted
 * namespace down asynchronously (its veth ends go with it a moment later): up to 5 s.
 */
export async function expectClean(sh: (script: string) => Promise<string>, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    const ns = (await sh("ip netns list")).trim();
    const links = (await sh("ip -o link show | grep -v -e ' lo:' -e ' eth0@' -e ' eth0:' || true")).trim();
    const rules = (await sh("iptables-save | grep -c -i -e bridgelab -e benchfloor || true")).trim();
    if (!ns && !links && rules === "0") return;
    if (i >= 50) throw new Error(`${what} left something behind: netns=[${ns.replace(/\n/g, ", ")}] links=[${links}] rules=${rules}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
