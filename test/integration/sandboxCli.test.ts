import * as fs from "node:fs";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";

// The command lines exactly as the README and the issue write them, run as a user would.
const run = promisify(execFile);
const bin = path.resolve(__dirname, "..", "..", "bin", "bridgelab.js");
const name = `cli-${process.pid}`;

async function bridgelab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run("node", [bin, ...args], { encoding: "utf8" });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

afterAll(async () => {
  await bridgelab("sandbox", "delete", name);
});

describe("bridgelab sandbox command line", () => {
  it("create → list → exec sees only the sandbox's namespaces → delete removes everything", async () => {
    expect((await bridgelab("sandbox", "create", name)).code).toBe(0);
    expect((await bridgelab("sandbox", "list")).stdout).toContain(name);

    expect((await bridgelab("sandbox", "exec", name, "--", "ip", "netns", "add", "netns0")).code).toBe(0);
    const inside = await bridgelab("sandbox", "exec", name, "--", "ip", "netns", "list");
    expect(inside.stdout.trim()).toMatch(/^netns0/);
    // The machine's own list is untouched (the guard checks this too, for the whole run).
    const { stdout: machine } = await run("ip", ["netns", "list"], { encoding: "utf8" });
    expect(machine).not.toContain("netns0");

    expect((await bridgelab("sandbox", "exec", name, "--", "hostname")).stdout.trim()).toBe(name);
    expect((await bridgelab("sandbox", "exec", name, "--outside", "--", "ip", "-br", "addr", "show", "dev", "lo")).stdout).toContain("203.0.113.1");
    // A process left running inside is killed by delete.
    await bridgelab("sandbox", "exec", name, "--", "sh", "-c", "ip netns exec netns0 sleep 900 >/dev/null 2>&1 &");
    const pids = (await bridgelab("sandbox", "exec", name, "--", "ip", "netns", "pids", "netns0")).stdout.trim().split("\n").filter(Boolean);
    expect(pids.length).toBe(1);
    expect((await bridgelab("sandbox", "exec", name, "--", "sh", "-c", "exit 7")).code).toBe(7);

    expect((await bridgelab("sandbox", "delete", name)).stdout).toContain("deleted");
    expect((await bridgelab("sandbox", "list")).stdout).not.toContain(name);
    // Our process is gone (a zombie awaiting init's reaping counts as gone).
    const stat = fs.existsSync(`/proc/${pids[0]}/stat`) ? fs.readFileSync(`/proc/${pids[0]}/stat`, "utf8") : "";
    expect(stat === "" || / \(sleep\) Z /.test(stat) || !stat.includes("(sleep)")).toBe(true);
    expect((await bridgelab("sandbox", "delete", name)).stdout).toContain("did not exist");
  });

  it("refuses bad names and unknown sandboxes with a clear message", async () => {
    const bad = await bridgelab("sandbox", "create", "Bad;name");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`sandbox name "Bad;name" is invalid: 1–32 characters`);
    const missing = await bridgelab("sandbox", "exec", "nope-nope", "--", "true");
    expect(missing.stderr).toContain(`sandbox host "nope-nope" does not exist; create it with`);
  });
});
