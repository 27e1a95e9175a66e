import { RequirementsReport, describeResult, installLines } from "../provider/host/requirements";
import { assertSandboxName } from "../provider/sandbox/sandboxLayout";
import { checkHost } from "../provider/resources/preflight";
import type { HostConnection } from "../provider/transport/connection";
import { type CommandSpec, UsageError, flag, parseCommand, str } from "./args";

export const DOCTOR_USAGE = `usage:
  bridgelab doctor [--sandbox NAME | --connection JSON] [--json]

  checks that a host has everything bridgelab runs there (ip, iptables, conntrack, the probes'
  tools, the kernel features), changing nothing, and says how to install what is missing;
  exits 1 when something is missing. bridgelab runs the same check before its first change on a
  host, and refuses to change a host that fails it.
  --sandbox NAME      a sandbox host on this machine (default: "bridgelab")
  --connection JSON   any host, as a connection object, e.g.
                      '{"kind":"ssh","host":"10.0.0.5","user":"admin","hostKey":"SHA256:…"}'
                      (the SSH agent is used when no key is given) or
                      '{"kind":"ssm","instanceId":"i-0123456789abcdef0","region":"eu-west-1"}'
  --json              print the report as JSON`;

const doctorSpec: CommandSpec = {
  name: "bridgelab doctor",
  usage: DOCTOR_USAGE,
  options: { sandbox: { type: "string" }, connection: { type: "string" }, json: { type: "boolean" } },
};

/** The host `bridgelab doctor` checks; undefined for --help. */
export function parseDoctorArgs(args: string[]): { connection: HostConnection; json: boolean } | undefined {
  const p = parseCommand(doctorSpec, args);
  if (!p) return undefined;
  const sandbox = str(p, "sandbox");
  const text = str(p, "connection");
  if (sandbox !== undefined && text !== undefined) throw new UsageError("give --sandbox NAME or --connection JSON, not both", doctorSpec.name);
  if (text !== undefined) {
    let connection: HostConnection;
    try {
      connection = JSON.parse(text) as HostConnection;
    } catch (e) {
      throw new UsageError(`--connection must be a connection object as JSON: ${(e as Error).message}`, doctorSpec.name);
    }
    if (!connection || typeof connection !== "object" || Array.isArray(connection)) throw new UsageError("--connection must be a connection object as JSON ({\"kind\": …})", doctorSpec.name);
    return { connection, json: flag(p, "json") };
  }
  const name = sandbox ?? "bridgelab";
  try {
    assertSandboxName(name);
  } catch (e) {
    throw new UsageError((e as Error).message, doctorSpec.name);
  }
  return { connection: { kind: "sandbox", name }, json: flag(p, "json") };
}

const STATUS_WIDTH = 8;

/**
 * The report as people read it: one line per requirement, then what to do.
 *
 *   sandbox:lab: Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64, iptables v1.8.9 (nf_tables)
 *     ok      ip (with JSON output, -j: iproute2 4.14 or later), ss
 *     missing conntrack — not found: conntrack (used by PortPublish)
 *     …
 *   1 missing. Install it, then run again:
 *     Debian/Ubuntu (this host): apt-get install -y conntrack
 *     Amazon Linux: dnf install -y conntrack-tools
 */
export function formatDoctor(label: string, report: RequirementsReport): string[] {
  const h = report.host;
  const facts = [h.osName || h.osId || "unknown system", h.kernel && `kernel ${h.kernel}`, h.iptables || "no iptables"].filter(Boolean).join(", ");
  const lines = [`${label}: ${facts}`];
  for (const r of report.results) {
    lines.push(`  ${r.status.padEnd(STATUS_WIDTH)}${r.status === "ok" ? r.requirement.name : describeResult(r)}`);
  }
  const unknown = report.results.filter((r) => r.status === "unknown").length;
  if (unknown) lines.push(`${unknown} could not be told from what the host shows: bridgelab goes ahead with ${unknown > 1 ? "them" : "it"} (a kernel without the feature fails the step that uses it)`);
  if (report.missing.length) {
    lines.push(`${report.missing.length} missing: bridgelab refuses to change this host until it is installed. Install ${report.missing.length > 1 ? "them" : "it"}, then run again:`);
    for (const l of installLines(report.missing, report.host)) lines.push(`  ${l}`);
  } else {
    lines.push("everything bridgelab runs is there");
  }
  return lines;
}

/** `bridgelab doctor`: exit 0 when the host has everything, 1 when something is missing (or it cannot be checked). */
export async function doctorCommand(args: string[]): Promise<number> {
  const opts = parseDoctorArgs(args);
  if (!opts) {
    console.log(DOCTOR_USAGE);
    return 0;
  }
  try {
    const { label, report } = await checkHost(opts.connection);
    if (opts.json) {
      const results = report.results.map((r) => ({ id: r.requirement.id, name: r.requirement.name, status: r.status, ...(r.detail ? { detail: r.detail } : {}), usedBy: r.requirement.usedBy }));
      console.log(JSON.stringify({ host: label, facts: report.host, ok: report.missing.length === 0, results, install: report.missing.length ? installLines(report.missing, report.host) : [] }, null, 2));
    } else {
      console.log(formatDoctor(label, report).join("\n"));
    }
    return report.missing.length ? 1 : 0;
  } finally {
    if (opts.connection.kind === "ssh") {
      const { closeAllSshConnections } = await import("../provider/transport/ssh");
      await closeAllSshConnections();
    }
  }
}
