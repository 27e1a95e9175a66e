import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backoffMs, isThrottling, scriptResult, ssmCommands, ssmTimeouts, truncatedStreams } from "../../provider/transport/ssmScript";

// What the SSM agent would run: the commands parameter written to a file and run by the node's
// /bin/sh. Run here, unprivileged, under dash and bash (the /bin/sh of Ubuntu and of Amazon Linux).
const shells = ["dash", "bash"].filter((s) => spawnSync(s, ["-c", "true"]).status === 0);

function asAgent(shell: string, commands: string[], env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bridgelab-ssm-"));
  try {
    const file = path.join(dir, "_script.sh");
    fs.writeFileSync(file, commands.join("\n") + "\n");
    const r = spawnSync(shell, [file], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("the AWS-RunShellScript wrapper", () => {
  const script = [`printf '%s|' "$0"`, "cat", `echo "it's stderr" >&2`, 'exit "${CODE:-3}"'].join("\n");
  const stdin = "line 1\n'$HOME' `id` \\ $(x)\n\u00e9\u4e2d end";

  it.each(shells)("under %s: the script runs under its own sh with the exact stdin bytes and exit status", (shell) => {
    expect(asAgent(shell, ssmCommands(script, stdin))).toEqual({ code: 3, stdout: `bridgelab|${stdin}`, stderr: "it's stderr\n" });
    expect(asAgent(shell, ssmCommands(script, ""))).toEqual({ code: 3, stdout: "bridgelab|", stderr: "it's stderr\n" });
    expect(asAgent(shell, ssmCommands(script))).toEqual({ code: 3, stdout: "bridgelab|", stderr: "it's stderr\n" }); // stdin is /dev/null
    const big = "x".repeat(10_000) + "\n";
    expect(asAgent(shell, ssmCommands("wc -c", big)).stdout.trim()).toBe("10001");
  });

  it.each(shells)("under %s: exit 194 (the agent's reboot request) leaves as 1 with a marker, and is reported as 194", (shell) => {
    const r = asAgent(shell, ssmCommands(script), { CODE: "194" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("it's stderr\nbridgelab-ssm-exit 194\n");
    expect(scriptResult(1, `failed to run commands: exit status 1\n${r.stderr}`)).toEqual({ code: 194, stderr: "it's stderr\n" });
    expect(asAgent(shell, ssmCommands(script), { CODE: "0" }).code).toBe(0);
  });

  it("scriptResult drops only the agent's own line and keeps a marker that did not come with status 1", () => {
    expect(scriptResult(2, "failed to run commands: exit status 2\nboom\n")).toEqual({ code: 2, stderr: "boom\n" });
    expect(scriptResult(0, "failed to run commands: exit status 2 (mine)\n")).toEqual({ code: 0, stderr: "failed to run commands: exit status 2 (mine)\n" });
    expect(scriptResult(5, "bridgelab-ssm-exit 194\n")).toEqual({ code: 5, stderr: "bridgelab-ssm-exit 194\n" });
  });

  it("timeouts: delivery at least 30 s, execution at least 1 s, both capped", () => {
    expect(ssmTimeouts(120_000)).toEqual({ timeoutSeconds: 120, executionTimeout: "120" });
    expect(ssmTimeouts(1_500)).toEqual({ timeoutSeconds: 30, executionTimeout: "2" });
    expect(ssmTimeouts(0)).toEqual({ timeoutSeconds: 30, executionTimeout: "1" });
    expect(ssmTimeouts(10 * 86_400_000)).toEqual({ timeoutSeconds: 864_000, executionTimeout: "172800" });
  });

  it("truncation is at 24,000 characters of stdout and 8,000 of stderr", () => {
    expect(truncatedStreams("x".repeat(23_999), "y".repeat(7_999))).toEqual({ stdout: false, stderr: false });
    expect(truncatedStreams("x".repeat(24_000), "y".repeat(8_000))).toEqual({ stdout: true, stderr: true });
  });

  it("throttling errors by name or HTTP 429; backoff with full jitter, capped", () => {
    expect(isThrottling({ name: "ThrottlingException" })).toBe(true);
    expect(isThrottling({ name: "TooManyRequestsException" })).toBe(true);
    expect(isThrottling({ name: "Weird", $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling({ name: "InvalidInstanceId" })).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
    expect([0, 1, 2, 3, 10].map((a) => backoffMs(a, 500, 10_000, () => 0.999))).toEqual([499, 999, 1998, 3996, 9990]);
    expect(backoffMs(4, 500, 10_000, () => 0)).toBe(0);
  });
});
