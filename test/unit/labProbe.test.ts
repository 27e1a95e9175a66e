import * as fs from "node:fs";
import * as path from "node:path";
import {
  ProbeOutcome,
  ProbeSpec,
  checkProbeTarget,
  classify,
  describeBroken,
  planProbe,
  probeArgv,
  probeOutcomes,
  probeProblems,
  probeScript,
  summarize,
} from "../../provider/host/probeScripts";
import { UNKNOWN } from "../../provider/resources/contract";
import { labProbeProvider, LabProbeOutputs } from "../../provider/resources/labProbe";
import { describeScriptFixtures } from "../support/scriptFixtures";

const fixtures = path.join(__dirname, "..", "fixtures", "probe");
// Probes and the output their script printed on a sandbox host (see test/fixtures/probe/).
const probes: ProbeSpec[] = JSON.parse(fs.readFileSync(path.join(fixtures, "probes.json"), "utf8"));
const output = fs.readFileSync(path.join(fixtures, "output.txt"), "utf8");

const sandbox = { kind: "sandbox", name: "lab" };
const ssh = { kind: "ssh", host: "10.0.0.5", insecureSkipHostKeyCheck: true, password: "x" };
const ping: ProbeSpec = { name: "egress", from: "netns0", kind: "ping", target: "203.0.113.1", expect: "reach" };

describeScriptFixtures("probe script matches its fixture", {
  "probe-mixed.sh": probeScript(probes.slice(0, 7).map(planProbe)),
});

describe("probe commands as argv", () => {
  it("ping: three echoes 0.2 s apart, one second for the last; any reply counts", () => {
    expect(probeArgv(planProbe(ping))).toEqual(["ping", "-n", "-c3", "-i0.2", "-W1", "203.0.113.1"]);
  });
  it("http: port 80 unless given, two seconds, status printed", () => {
    expect(probeArgv(planProbe({ ...ping, kind: "http", target: "198.51.100.2" }))).toEqual([
      "curl", "-sS", "-o", "/dev/null", "--max-time", "2", "-w", "HTTP %{http_code}\\n", "http://198.51.100.2:80/",
    ]);
  });
  it("tcp: bash's /dev/tcp under a two-second timeout, address and port as arguments (never in the script text)", () => {
    expect(probeArgv(planProbe({ ...ping, kind: "tcp", target: "172.18.0.10:5000" }))).toEqual([
      "timeout", "2", "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', "172.18.0.10", "5000",
    ]);
  });
  it("from host or outside runs where the script runs; from a namespace names it", () => {
    expect(planProbe({ ...ping, from: "host" }).netns).toBeUndefined();
    expect(planProbe({ ...ping, from: "outside" }).netns).toBeUndefined();
    expect(planProbe(ping).netns).toBe("netns0");
  });
});

describe("what the probes printed (captured on a sandbox host)", () => {
  const matrix = probeOutcomes(probes, output);
  const row = (name: string) => {
    const o = matrix.find((m) => m.name === name)!;
    return { result: o.result, detail: o.detail, ok: o.ok };
  };
  it("reached paths", () => {
    expect(row("gateway")).toEqual({ result: "reach", detail: "reply", ok: true });
    expect(row("web")).toEqual({ result: "reach", detail: "HTTP 200", ok: true });
    expect(row("tcp-open")).toEqual({ result: "reach", detail: "connected", ok: false });
  });
  it("blocked paths, with stable details (no timings)", () => {
    expect(row("internet")).toEqual({ result: "blocked", detail: "100% packet loss", ok: false });
    expect(row("web-closed")).toEqual({ result: "blocked", detail: "Failed to connect to 172.18.0.10 port 5001: Couldn't connect to server", ok: false });
    expect(row("tcp-closed")).toEqual({ result: "blocked", detail: "connection refused", ok: true });
    expect(row("unrouted")).toEqual({ result: "blocked", detail: "timed out after 2 s", ok: true });
    expect(row("silent-http")).toEqual({ result: "blocked", detail: "timed out after 2 s", ok: true });
    expect(row("neighbour-gone")).toEqual({ result: "blocked", detail: "100% packet loss", ok: true });
  });
  it("a probe that cannot run is an error, never a blocked path", () => {
    expect(row("no-such-ns")).toEqual({ result: "error", detail: 'no network namespace "n9" on the host', ok: false });
  });
  it("keeps the declaration in each row", () => {
    expect(matrix[0]).toEqual({ ...probes[0], result: "reach", detail: "reply", ok: true });
  });
  it("a missing section is an error", () => {
    expect(probeOutcomes([ping], "")[0]).toMatchObject({ result: "error", ok: false });
  });
});

describe("classify", () => {
  it("ping through an unreachable gateway names the ICMP error", () => {
    const out = "PING 10.1.1.1 (10.1.1.1) 56(84) bytes of data.\nFrom 172.18.0.1 icmp_seq=1 Destination Host Unreachable\n\n--- 10.1.1.1 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms";
    expect(classify("ping", 1, out)).toEqual({ result: "blocked", detail: "100% packet loss (From 172.18.0.1 Destination Host Unreachable)" });
  });
  it("ping without a route", () => {
    expect(classify("ping", 2, "ping: connect: Network is unreachable")).toEqual({ result: "blocked", detail: "connect: Network is unreachable" });
  });
  it("ip netns exec failing is an error", () => {
    expect(classify("tcp", 255, 'Cannot open network namespace "x": No such file or directory')).toMatchObject({ result: "error" });
  });
  it("a missing tool is an error", () => {
    expect(classify("http", 200, "curl is not installed on the host")).toEqual({ result: "error", detail: "curl is not installed on the host" });
  });
});

describe("messages", () => {
  const broken: ProbeOutcome = { ...ping, result: "blocked", detail: "100% packet loss", ok: false };
  it("name the broken path, what was expected and what happened", () => {
    expect(describeBroken(broken)).toBe("egress: netns0 → 203.0.113.1 (ping) expected reach but: 100% packet loss");
    expect(describeBroken({ ...broken, kind: "http", target: "198.51.100.2:8080", expect: "blocked", result: "reach", detail: "HTTP 200" })).toBe(
      "egress: netns0 → 198.51.100.2:8080 (http) expected blocked but: reached (HTTP 200)",
    );
    expect(describeBroken({ ...broken, from: "n9", result: "error", detail: 'no network namespace "n9" on the host' })).toBe(
      'egress: n9 → 203.0.113.1 (ping) expected reach but: could not probe: no network namespace "n9" on the host',
    );
  });
  it("summary counts the paths as expected", () => {
    const good: ProbeOutcome = { ...broken, name: "gw", result: "reach", detail: "reply", ok: true };
    expect(summarize([good, good])).toBe("2/2 paths as expected");
    expect(summarize([good, broken])).toBe("1/2 paths as expected; not as expected: egress");
  });
});

describe("target rules", () => {
  it.each([
    ["ping", "203.0.113.1", undefined],
    ["http", "198.51.100.2", undefined],
    ["http", "198.51.100.2:8080", undefined],
    ["tcp", "172.18.0.10:65535", undefined],
    ["ping", "203.0.113.1:80", 't "203.0.113.1:80": a ping target is an address without a port'],
    ["tcp", "172.18.0.10", 't "172.18.0.10": a tcp probe needs a port, as "ip:port"'],
    ["tcp", "172.18.0.10:0", 't "172.18.0.10:0" has port 0; a port is 1–65535'],
    ["tcp", "172.18.0.10:65536", 't "172.18.0.10:65536" has port 65536; a port is 1–65535'],
    ["tcp", "172.18.0.10:080", 't "172.18.0.10:080" has port 080; a port is 1–65535'],
    ["http", "300.1.1.1", 't "300.1.1.1" must be "ip" or "ip:port" like "198.51.100.2:8080" (IPv4)'],
    ["http", "example.com", 't "example.com" must be "ip" or "ip:port" like "198.51.100.2:8080" (IPv4)'],
    ["ping", "10.1", 't "10.1" must be "ip" like "203.0.113.1" (IPv4)'],
    ["ping", "1.2.3.4; reboot", 't "1.2.3.4; reboot" must be "ip" like "203.0.113.1" (IPv4)'],
  ] as const)("%s %s", (kind, target, problem) => {
    expect(checkProbeTarget("t", target, kind)).toBe(problem);
  });
});

describe("LabProbe check", () => {
  const check = (news: Record<string, unknown>) => labProbeProvider.check!({}, news);

  it("normalises: expect defaults to reach", async () => {
    const r = await check({ connection: sandbox, probes: [{ name: "gw", from: "netns0", kind: "ping", target: "172.18.0.1" }] });
    expect(r.failures).toEqual([]);
    expect(r.inputs).toEqual({ connection: sandbox, probes: [{ name: "gw", from: "netns0", kind: "ping", target: "172.18.0.1", expect: "reach" }] });
  });

  it("names the probe, the field, the value and the rule", async () => {
    const r = await check({
      connection: sandbox,
      probes: [
        { name: "a", from: "netns0", kind: "ping", target: "172.18.0.1:80", expect: "reach" },
        { name: "a", from: "-x", kind: "udp", target: "1.2.3.4:53", expect: "maybe" },
        { name: "bad name!", from: "host", kind: "tcp", target: "1.2.3.4:99999", extra: 1 },
      ],
    });
    expect(r.failures!.map((f) => `${f.property}: ${f.reason}`)).toEqual([
      'probes: probes[0].target "172.18.0.1:80": a ping target is an address without a port',
      `probes: probes[1].from "-x" may hold only letters, digits, '_', '.' and '-', and must not start with '-' or '.' (or "host", or "outside" on a sandbox host)`,
      'probes: probes[1].kind "udp" must be one of "ping", "http", "tcp"',
      'probes: probes[1].expect "maybe" must be "reach" or "blocked"',
      'probes: probes[1].name "a" is also the name of probes[0]; probe names must be unique',
      'probes: probes[2] has unknown field "extra"; a probe has name, from, kind, target and expect',
      `probes: probes[2].name "bad name!" must be 1–64 characters of letters, digits, '_', '.', ':' and '-', starting with a letter or digit`,
      'probes: probes[2].target "1.2.3.4:99999" has port 99999; a port is 1–65535',
    ]);
  });

  it("refuses an empty list and a non-list", async () => {
    expect((await check({ connection: sandbox, probes: [] })).failures).toEqual([{ property: "probes", reason: "probes must hold at least one probe" }]);
    expect((await check({ connection: sandbox, probes: "all" })).failures).toEqual([{ property: "probes", reason: 'probes must be a list of probes, got "all"' }]);
  });

  it("refuses probes from the outside on a host that has none", async () => {
    const probesFromOutside = [{ name: "in", from: "outside", kind: "http", target: "198.51.100.2:8080" }];
    expect((await check({ connection: sandbox, probes: probesFromOutside })).failures).toEqual([]);
    const r = await check({ connection: ssh, probes: probesFromOutside });
    expect(r.failures).toEqual([
      {
        property: "probes",
        reason: 'probes[0].from "outside" is only meaningful on a sandbox host (its stand-in internet); ssh:root@10.0.0.5:22 has none: probe from "host" or a namespace',
      },
    ]);
  });

  it("skips values unknown at preview", async () => {
    const r = await check({ connection: sandbox, probes: [{ name: "web", from: "host", kind: "http", target: UNKNOWN }, UNKNOWN] });
    expect(r.failures).toEqual([]);
    expect(probeProblems([{ name: "x", from: UNKNOWN, kind: "tcp", target: "1.2.3.4:1" }], (v) => v === UNKNOWN)).toEqual([]);
  });

  it("checks trigger's type", async () => {
    const r = await check({ connection: sandbox, probes: [ping], trigger: { at: 1 } });
    expect(r.failures).toEqual([{ property: "trigger", reason: 'trigger must be a string or a number, got {"at":1}' }]);
  });
});

describe("LabProbe diff (pure)", () => {
  const stored: LabProbeOutputs = {
    connection: sandbox as never,
    probes: [ping],
    trigger: "1",
    matrix: [{ ...ping, result: "reach", detail: "reply", ok: true }],
    summary: "1/1 paths as expected",
  };
  const diff = (news: Record<string, unknown>, olds: LabProbeOutputs = stored) => labProbeProvider.diff!("probe-1", olds, { connection: sandbox, probes: [ping], trigger: "1", ...news });

  it("an unchanged probe set is the same: no probe runs", async () => {
    expect(await diff({})).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });
  it("a new trigger, probe set or connection re-verifies in place", async () => {
    expect(await diff({ trigger: "2" })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await diff({ probes: [{ ...ping, expect: "blocked" }] })).toMatchObject({ changes: true, replaces: [] });
    expect(await diff({ connection: { kind: "sandbox", name: "other" } })).toMatchObject({ changes: true, replaces: [] });
  });
  it("a broken path recorded by refresh re-verifies on the next up", async () => {
    const drifted = { ...stored, matrix: [{ ...ping, result: "blocked" as const, detail: "100% packet loss", ok: false }] };
    expect(await diff({}, drifted)).toMatchObject({ changes: true, replaces: [] });
  });
});

describe("LabProbe check at preview", () => {
  it("accepts a probe list that is not known yet, and still rejects a known bad one", async () => {
    const { labProbeProvider } = await import("../../provider/resources/labProbe");
    const { UNKNOWN } = await import("../../provider/resources/contract");
    const connection = { kind: "sandbox", name: "lab" };
    const unknown = await labProbeProvider.check!({}, { connection, probes: UNKNOWN });
    expect(unknown.failures ?? []).toEqual([]);
    const bad = await labProbeProvider.check!({}, { connection, probes: "nope" });
    expect((bad.failures ?? []).map((f) => f.reason).join()).toMatch(/probes must be a list of probes/);
  });
});
