import { format } from "node:util";

/**
 * What provider code prints to users (`console.log` / `console.error`, shown by Pulumi as the
 * resource's info and error lines), captured around one call so that a test can assert on it
 * instead of letting it print into the run's output:
 *
 *   const { log, error } = await captureConsole(() => provider.delete!(id, props));
 *   expect(error).toEqual([expect.stringMatching(/is not ours \(no bridgelab tag\); left in place$/)]);
 *
 * Only the call is captured: anything printed before or after it still prints. When the call
 * throws, what it printed is printed after all (as it would have been) before the error
 * propagates, so a failing test shows everything; an assertion on the lines shows them in its
 * diff.
 */
export interface Captured<T> {
  result: T;
  log: string[];
  error: string[];
  warn: string[];
}

const METHODS = ["log", "error", "warn", "info"] as const;

export async function captureConsole<T>(fn: () => T | Promise<T>): Promise<Captured<T>> {
  const lines: Array<{ method: (typeof METHODS)[number]; text: string }> = [];
  const spies = METHODS.map((method) => jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push({ method, text: format(...args) })));
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    for (const s of spies) s.mockRestore();
    for (const l of lines) console[l.method](l.text);
    throw e;
  }
  for (const s of spies) s.mockRestore();
  const of = (...m: string[]) => lines.filter((l) => m.includes(l.method)).map((l) => l.text);
  return { result, log: of("log", "info"), error: of("error"), warn: of("warn") };
}

/**
 * The call's result, its info lines (console.log: "lab verification: 8/8 paths as expected")
 * dropped; an error or a warning printed by it fails the test, quoting them.
 */
export async function infoOnly<T>(fn: () => T | Promise<T>): Promise<T> {
  const { result, error, warn } = await captureConsole(fn);
  expect({ error, warn }).toEqual({ error: [], warn: [] });
  return result;
}
