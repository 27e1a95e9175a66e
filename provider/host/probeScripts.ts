import * as ipaddr from "ipaddr.js";
import { shJoin } from "./quote";
import { script } from "./script";
import { sectionMarker as mark, splitSections } from "./sections";
import { checkNetnsName, Problem } from "./validate";

/**
 * Reachability probes: who reaches whom on a lab host. Pure: checks, the one script that runs
 * every probe of a host in parallel, and the parser of what it prints.
 *
 * A probe from netns0 pinging the stand-in internet, one fetching a published port from the
 * host, one opening a TCP connection:
 *
 *   ip netns exec netns0 ping -n -c3 -i0.2 -W1 203.0.113.1
 *   curl -sS -o /dev/null --max-time 2 -w 'HTTP %{http_code}' http://198.51.100.2:8080/
 *   ip netns exec netns1 timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' 172.18.0.10 5000
 *
 * Timeouts are short (three pings over about 1.4 s, two seconds for HTTP and TCP), so a script of
 * any number of probes takes about two seconds.
 */
export type ProbeKind = "ping" | "http" | "tcp";
export type ProbeExpect = "reach" | "blocked";
/** What a probe found: the target answered, it did not, or the probe could not run at all. */
export type ProbeResult = "reach" | "blocked" | "error";

export const PROBE_KINDS: readonly ProbeKind[] = ["ping", "http", "tcp"];
export const PROBE_EXPECTS: readonly ProbeExpect[] = ["reach", "blocked"];

/** `from` values that are not namespace names: the host itself, and a sandbox's outside. */
export const FROM_HOST = "host";
export const FROM_OUTSIDE = "outside";

/** One declared probe, checked. */
export interface ProbeSpec {
  /** Names the path in the matrix and in errors; unique in a LabProbe. */
  name: string;
  /** A network namespace name on the host, "host", or "outside" (sandbox hosts only). */
  from: string;
  kind: ProbeKind;
  /** "ip" or "ip:port" (IPv4). */
  target: string;
  expect: ProbeExpect;
}

/** One row of the reachability matrix. */
export interface ProbeOutcome extends ProbeSpec {
  /** What happened. */
  result: ProbeResult;
  /** Whether the result is what `expect` says. "error" is never as expected. */
  ok: boolean;
  /** One short line: "reply", "HTTP 200", "connected", "100% packet loss", "connection refused"… */
  detail: string;
}

/** A probe as a script runs it: `where` is a netns name, or undefined for the namespace the script runs in. */
export interface PlannedProbe {
  kind: ProbeKind;
  netns?: string;
  ip: string;
  port?: number;
}

const show = (v: unknown) => JSON.stringify(v);

// --- checks --------------------------------------------------------------------------

/** A probe's name: 1–64 of [A-Za-z0-9_.:-], starting with a letter or digit. */
export function checkProbeName(field: string, v: unknown): Problem {
  if (typeof v !== "string") return `${field} must be a string, got ${show(v)}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(v)) {
    return `${field} ${show(v)} must be 1–64 characters of letters, digits, '_', '.', ':' and '-', starting with a letter or digit`;
  }
  return undefined;
}

/** Where a probe runs from: "host", "outside", or a network namespace name. */
export function checkProbeFrom(field: string, v: unknown): Problem {
  if (v === FROM_HOST || v === FROM_OUTSIDE) return undefined;
  const p = checkNetnsName(field, v);
  return p ? `${p} (or "host", or "outside" on a sandbox host)` : undefined;
}

export function checkProbeKind(field: string, v: unknown): Problem {
  if (typeof v === "string" && (PROBE_KINDS as readonly string[]).includes(v)) return undefined;
  return `${field} ${show(v)} must be one of ${PROBE_KINDS.map((k) => show(k)).join(", ")}`;
}

export function checkProbeExpect(field: string, v: unknown): Problem {
  if (typeof v === "string" && (PROBE_EXPECTS as readonly string[]).includes(v)) return undefined;
  return `${field} ${show(v)} must be "reach" or "blocked"`;
}

/** Split "ip" / "ip:port"; undefined when the text has neither shape. */
export function parseTarget(v: string): { ip: string; port?: number } | undefined {
  const m = /^([0-9.]+)(?::([0-9]+))?$/.exec(v);
  if (!m) return undefined;
  return m[2] === undefined ? { ip: m[1] } : { ip: m[1], port: Number(m[2]) };
}

/**
 * A target for KIND: an IPv4 address in four decimal parts, with ":port" (1–65535) for tcp,
 * optionally for http (default 80), never for ping.
 */
export function checkProbeTarget(field: string, v: unknown, kind: ProbeKind): Problem {
  const shape = kind === "ping" ? `"ip" like "203.0.113.1"` : kind === "tcp" ? `"ip:port" like "172.18.0.10:5000"` : `"ip" or "ip:port" like "198.51.100.2:8080"`;
  if (typeof v !== "string") return `${field} must be a string ${shape}, got ${show(v)}`;
  const t = parseTarget(v);
  if (!t || !ipaddr.IPv4.isValidFourPartDecimal(t.ip)) return `${field} ${show(v)} must be ${shape} (IPv4)`;
  if (t.port !== undefined && (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535 || !/^[1-9]/.test(v.split(":")[1]))) {
    return `${field} ${show(v)} has port ${v.split(":")[1]}; a port is 1–65535`;
  }
  if (kind === "ping" && t.port !== undefined) return `${field} ${show(v)}: a ping target is an address without a port`;
  if (kind === "tcp" && t.port === undefined) return `${field} ${show(v)}: a tcp probe needs a port, as "ip:port"`;
  return undefined;
}

/**
 * Every problem of a probe list, each naming `probes[i].field`, the value and the rule.
 * Entries holding unknown values (preview) are skipped by the caller.
 */
export function probeProblems(probes: unknown, isUnknown: (v: unknown) => boolean = () => false): string[] {
  // At preview the whole list may not be known yet (built from other resources' outputs):
  // it is checked again at apply, when it is.
  if (isUnknown(probes)) return [];
  if (!Array.isArray(probes)) return [`probes must be a list of probes, got ${show(probes)}`];
  if (probes.length === 0) return ["probes must hold at least one probe"];
  const out: string[] = [];
  const seen = new Map<string, number>();
  probes.forEach((p, i) => {
    const at = `probes[${i}]`;
    if (isUnknown(p)) return;
    if (!p || typeof p !== "object" || Array.isArray(p)) {
      out.push(`${at} must be an object { name, from, kind, target, expect }, got ${show(p)}`);
      return;
    }
    const o = p as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => !["name", "from", "kind", "target", "expect"].includes(k));
    if (extra.length) out.push(`${at} has unknown field${extra.length > 1 ? "s" : ""} ${extra.map(show).join(", ")}; a probe has name, from, kind, target and expect`);
    const check = (f: string, c: (field: string, v: unknown) => Problem) => {
      if (isUnknown(o[f])) return;
      const problem = c(`${at}.${f}`, o[f]);
      if (problem) out.push(problem);
    };
    check("name", checkProbeName);
    check("from", checkProbeFrom);
    check("kind", checkProbeKind);
    if (o.expect !== undefined) check("expect", checkProbeExpect);
    if (!isUnknown(o.kind) && !checkProbeKind("", o.kind)) check("target", (f, v) => checkProbeTarget(f, v, o.kind as ProbeKind));
    if (typeof o.name === "string" && !isUnknown(o.name)) {
      const first = seen.get(o.name);
      if (first !== undefined) out.push(`${at}.name ${show(o.name)} is also the name of probes[${first}]; probe names must be unique`);
      else seen.set(o.name, i);
    }
  });
  return out;
}

/** The probe with defaults applied: expect "reach". Assumes probeProblems found nothing. */
export function normalizeProbe(p: Record<string, unknown>): ProbeSpec {
  return { name: String(p.name), from: String(p.from), kind: p.kind as ProbeKind, target: String(p.target), expect: (p.expect as ProbeExpect | undefined) ?? "reach" };
}

/** How a checked probe runs: from a namespace, or from where the script runs ("host", "outside"). */
export function planProbe(p: ProbeSpec): PlannedProbe {
  const t = parseTarget(p.target)!;
  const planned: PlannedProbe = { kind: p.kind, ip: t.ip };
  if (p.from !== FROM_HOST && p.from !== FROM_OUTSIDE) planned.netns = p.from;
  if (p.kind !== "ping") planned.port = t.port ?? 80;
  return planned;
}

// --- the script ----------------------------------------------------------------------

/** Exit status a probe reports when it could not run (no such namespace, tool missing). */
export const EXIT_CANNOT_PROBE = 200;

/** The probe command itself, as argv, run inside the source namespace. */
export function probeArgv(p: PlannedProbe): string[] {
  switch (p.kind) {
    case "ping":
      // Three tries 0.2 s apart; any reply counts (ping exits 0), so a first packet lost to ARP
      // resolution on a busy host is not mistaken for a blocked path.
      return ["ping", "-n", "-c3", "-i0.2", "-W1", p.ip];
    case "http":
      return ["curl", "-sS", "-o", "/dev/null", "--max-time", "2", "-w", "HTTP %{http_code}\\n", `http://${p.ip}:${p.port}/`];
    case "tcp":
      return ["timeout", "2", "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', p.ip, String(p.port)];
  }
}

const TOOL: Record<ProbeKind, string> = { ping: "ping", http: "curl", tcp: "bash" };

/**
 * One script running every probe at once, each in a background subshell writing its output
 * and exit status to a private temporary directory, then printing section `probe-N` per
 * probe: the exit status on the first line, the last lines of output after it.
 *
 *   ( ip netns exec netns0 ping -n -c3 -i0.2 -W1 203.0.113.1 >"$d/0" 2>&1; echo $? >"$d/0.rc" ) &
 *
 * A missing namespace or tool is reported as exit EXIT_CANNOT_PROBE with a message, so it is
 * never mistaken for a blocked path.
 */
export function probeScript(probes: readonly PlannedProbe[]): string {
  const lines: string[] = [
    `# bridgelab lab probes: ${probes.length} path${probes.length === 1 ? "" : "s"}, in parallel`,
    // Scratch space in the host's own /run (a sandbox host has its own; /tmp is the machine's).
    `mkdir -p /run/bridgelab && d=$(mktemp -d /run/bridgelab/probe.XXXXXX) || exit 1`,
    `trap 'rm -rf "$d"' EXIT`,
  ];
  probes.forEach((p, i) => {
    const out = `"$d/${i}"`;
    const rc = `"$d/${i}.rc"`;
    const tool = TOOL[p.kind];
    const guards = [`command -v ${tool} >/dev/null 2>&1 || { echo ${shJoin([`${tool} is not installed on the host`])}; exit ${EXIT_CANNOT_PROBE}; }`];
    if (p.netns) {
      guards.unshift(`[ -e /run/netns/${p.netns} ] || { echo ${shJoin([`no network namespace "${p.netns}" on the host`])}; exit ${EXIT_CANNOT_PROBE}; }`);
    }
    const run = shJoin([...(p.netns ? ["ip", "netns", "exec", p.netns] : []), ...probeArgv(p)]);
    lines.push(`( ( ${guards.join("; ")}; exec ${run} ) >${out} 2>&1; echo $? >${rc} ) &`);
  });
  lines.push("wait");
  probes.forEach((_, i) => {
    lines.push(`${mark(`probe-${i}`)}; cat "$d/${i}.rc" 2>/dev/null || echo ${EXIT_CANNOT_PROBE}; tail -n 5 "$d/${i}" 2>/dev/null; echo`);
  });
  return script(lines);
}

// --- what it printed -----------------------------------------------------------------

/** The result and detail of probe `p` from its exit status and output. */
export function classify(kind: ProbeKind, code: number, output: string): { result: ProbeResult; detail: string } {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  const last = lines[lines.length - 1] ?? "";
  if (code === EXIT_CANNOT_PROBE) return { result: "error", detail: last || "the probe could not run" };
  // `ip netns exec` itself failing ("Cannot open network namespace …") exits 255.
  if (code === 255) return { result: "error", detail: last || "ip netns exec failed" };
  if (code === 127 || code === 126) return { result: "error", detail: last || `the probe command could not run (exit ${code})` };
  switch (kind) {
    case "ping": {
      if (code === 0) return { result: "reach", detail: "reply" };
      const loss = /(\d+(?:\.\d+)?)% packet loss/.exec(output);
      const unreachable = lines.find((l) => /Unreachable|Prohibited|Filtered/i.test(l) && l.startsWith("From "));
      if (loss) return { result: "blocked", detail: `${loss[1]}% packet loss${unreachable ? ` (${unreachable.replace(/ icmp_seq=\d+/, "")})` : ""}` };
      return { result: "blocked", detail: (last.replace(/^ping: /, "") || `ping exited ${code}`) };
    }
    case "http": {
      const status = /HTTP (\d{3})/.exec(output);
      if (code === 0) return { result: "reach", detail: status ? `HTTP ${status[1]}` : "HTTP response" };
      if (code === 28) return { result: "blocked", detail: "timed out after 2 s" };
      const err = lines.find((l) => l.startsWith("curl: ("));
      return { result: "blocked", detail: err ? curlMessage(err) : `curl exited ${code}` };
    }
    case "tcp": {
      if (code === 0) return { result: "reach", detail: "connected" };
      if (code === 124) return { result: "blocked", detail: "timed out after 2 s" };
      const err = lines.find((l) => /connect: /.test(l));
      return { result: "blocked", detail: err ? err.replace(/^.*connect: /, "").toLowerCase() : `connection failed (exit ${code})` };
    }
  }
}

/** "curl: (7) Failed to connect to 198.51.100.2 port 8080 after 0 ms: Couldn't connect to server" → "Failed to connect…: Couldn't connect to server", timings dropped so the detail is stable. */
function curlMessage(line: string): string {
  return line
    .replace(/^curl: \(\d+\) /, "")
    .replace(/ after \d+ ms/, "")
    .replace(/ after \d+ milliseconds/, "");
}

/** Parse and classify: the rows of the matrix for `probes`, whose script printed `stdout`. */
export function probeOutcomes(probes: readonly ProbeSpec[], stdout: string): ProbeOutcome[] {
  const s = splitSections(stdout);
  return probes.map((p, i) => {
    const text = s[`probe-${i}`];
    let r: { result: ProbeResult; detail: string };
    if (text === undefined) {
      r = { result: "error", detail: "the probe script printed nothing for this probe" };
    } else {
      const [first, ...rest] = text.split("\n");
      const code = /^\d+$/.test(first.trim()) ? Number(first.trim()) : EXIT_CANNOT_PROBE;
      r = classify(p.kind, code, rest.join("\n"));
    }
    return { ...p, ...r, ok: r.result === p.expect };
  });
}

/** "netns0 → 203.0.113.1 (ping)" */
export function describePath(p: ProbeSpec): string {
  return `${p.from} → ${p.target} (${p.kind})`;
}

/** "netns0 → 203.0.113.1 (ping) expected reach but: 100% packet loss" */
export function describeBroken(o: ProbeOutcome): string {
  const got = o.result === "reach" ? `reached (${o.detail})` : o.result === "error" ? `could not probe: ${o.detail}` : o.detail;
  return `${o.name}: ${describePath(o)} expected ${o.expect} but: ${got}`;
}

/** "12/12 paths as expected", or "10/12 paths as expected; not as expected: a, b". */
export function summarize(matrix: readonly ProbeOutcome[]): string {
  const good = matrix.filter((o) => o.ok).length;
  const bad = matrix.filter((o) => !o.ok).map((o) => o.name);
  return `${good}/${matrix.length} paths as expected` + (bad.length ? `; not as expected: ${bad.join(", ")}` : "");
}
