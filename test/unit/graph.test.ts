import * as fs from "node:fs";
import * as path from "node:path";
import { parseGraphArgs } from "../../cli/graphCommand";
import type { Topology } from "../../provider/components/topology";
import { topologyFromSnapshot } from "../../provider/graph/liveTopology";
import { escapeXml, renderTopologySvg } from "../../provider/graph/renderSvg";
import { outsideFor, topologyFromJson } from "../../provider/graph/topologyInput";
import { egressSubnets, hostSnapshotScript, isolationOf, parseDnatRules, parseHostSnapshot, splitRuleLine } from "../../provider/host/topologyScripts";
import { describeScriptFixtures } from "../support/scriptFixtures";
import { elementsNamed, parseXml } from "../support/xmlCheck";

const fixtures = path.join(__dirname, "..", "fixtures", "graph");
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(fixtures, f), "utf8"));
// netns-lab's `topology` output, and a docker-modes-like lab: two isolated bridges (one with icc
// off), a container on both, container/host/none modes, a static and a dynamic published port.
const netnsLab: Topology = load("netns-lab-topology.json");
const modes: Topology = load("modes-topology.json");

const render = (t: Topology) => renderTopologySvg(t, { outside: outsideFor(t) });
const texts = (svg: string) => elementsNamed(parseXml(svg), "text").map((e) => e.text);

describe("the SVG picture", () => {
  it.each([
    ["netns-lab", netnsLab],
    ["modes", modes],
  ])("%s: well-formed XML naming every namespace, bridge, veth end and published port", (_, t) => {
    const svg = render(t);
    const root = parseXml(svg);
    expect(root.name).toBe("svg");
    expect(root.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    const all = texts(svg);
    for (const ns of t.namespaces) expect(all).toContain(ns.name);
    for (const b of t.bridges) expect(all.some((x) => x === b.name || x.startsWith(`${b.name} (network `))).toBe(true);
    for (const v of t.veths) expect(all).toEqual(expect.arrayContaining([v.host.ifname, v.peer.ifname]));
    for (const p of t.ports) expect(all.some((x) => x.includes(`${p.hostIp}:${p.hostPort}`) && x.includes(`${p.address}:${p.port}`))).toBe(true);
  });

  it("matches the fixture pictures byte for byte (deterministic layout)", () => {
    for (const [file, t] of [["netns-lab.svg", netnsLab], ["modes.svg", modes]] as const) {
      const svg = render(t);
      expect(render(JSON.parse(JSON.stringify(t)))).toBe(svg);
      if (process.env.UPDATE_FIXTURES) fs.writeFileSync(path.join(fixtures, file), svg);
      expect(svg).toBe(fs.readFileSync(path.join(fixtures, file), "utf8"));
    }
  });

  it("draws the modes: sharing containers, host network, loopback only, isolation and icc, dynamic ports", () => {
    const all = texts(render(modes));
    expect(all).toEqual(
      expect.arrayContaining([
        "containers: web, sidecar",
        "host network: hostweb",
        "lo only",
        "egress · isolated · icc off",
        "br-database (network database)",
        "tcp 0.0.0.0:32768 (dynamic) → 172.17.0.2:443 (web)",
        "port 80/tcp ← host :8080",
        "outside (stand-in internet)",
        "198.51.100.1 · 203.0.113.1",
      ]),
    );
  });

  it("escapes every piece of text, and stays well-formed whatever the names hold", () => {
    const hostile: Topology = JSON.parse(JSON.stringify(netnsLab));
    hostile.host.name = `lab <&>\u0001 "q" 'a'`;
    hostile.namespaces[0].name = "</text><script>alert(1)</script>";
    hostile.bridges[0].name = "br&amp;0";
    const svg = render(hostile);
    expect(svg).not.toContain("<script>");
    const all = texts(svg);
    expect(all).toContain("</text><script>alert(1)</script>");
    expect(all).toContain("br&amp;0 (network br0)");
    expect(all).toContain(`host: lab <&> "q" 'a'  198.51.100.2`);
    expect(escapeXml(`a<b>&"c'`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;");
  });

  it("draws an empty host, and a long name in full", () => {
    const empty: Topology = { version: 1, host: { name: "local" }, bridges: [], namespaces: [], veths: [], containers: [], ports: [] };
    expect(texts(render(empty))).toEqual(["bridgelab lab on local", "outside", "host: local"]);
    const long: Topology = JSON.parse(JSON.stringify(netnsLab));
    long.namespaces[1].name = "n".repeat(64);
    expect(texts(render(long))).toContain("n".repeat(64));
  });
});

describe("the XML checker the tests rely on", () => {
  it.each([
    ["<a><b></a></b>", "does not close"],
    ["<a>x & y</a>", "raw '&'"],
    ["<a>&nbsp;</a>", "unknown or invalid reference"],
    ["<a x=1/>", "unquoted attribute"],
    ['<a x="1" x="2"/>', "repeated"],
    ["<a/><b/>", "second root"],
    ["<a>", "never closed"],
    ['<a x="<"/>', "raw '<'"],
    ["<a>\u0001</a>", "not allowed in XML"],
  ])("refuses %j", (xml, why) => {
    expect(() => parseXml(xml)).toThrow(why);
  });
  it("decodes references in text", () => {
    expect(parseXml(`<?xml version="1.0"?><a>1 &lt; 2 &amp;&#x41;<!-- c --><b>&#66;</b></a>`).text).toBe("1 < 2 &AB");
  });
});

describe("where the topology comes from", () => {
  it("the topology itself, a stack's outputs, or the bundled engine's state", () => {
    expect(topologyFromJson(netnsLab, "t.json")).toBe(netnsLab);
    expect(topologyFromJson({ topology: netnsLab, verificationSummary: "x" }, "outputs.json")).toBe(netnsLab);
    expect(topologyFromJson({ version: 1, stack: "netns-lab", resources: [], outputs: { topology: netnsLab } }, "state.json")).toBe(netnsLab);
    const root = { urn: "urn:pulumi:netns-lab::bridgelab::pulumi:pulumi:Stack::bridgelab-netns-lab", type: "pulumi:pulumi:Stack", outputs: { topology: netnsLab } };
    const other = { type: "pulumi-nodejs:dynamic/bridgelab:Bridge", outputs: { name: "br0" } };
    expect(topologyFromJson({ version: 3, deployment: { manifest: {}, resources: [other, root] } }, "export.json")).toBe(netnsLab);
    expect(topologyFromJson({ version: 3, checkpoint: { stack: "netns-lab", latest: { resources: [root, other] } } }, "netns-lab.json")).toBe(netnsLab);
  });
  it("says what to give instead when there is none, and refuses other versions", () => {
    expect(() => topologyFromJson({ outputs: { bridge: {} } }, "basic.json")).toThrow(/^basic\.json holds no topology: .* or draw the host as it is with --live$/);
    expect(() => topologyFromJson({ ...netnsLab, version: 2 }, "t.json")).toThrow("t.json: topology version 2 is not one this bridgelab draws (1)");
    expect(() => topologyFromJson({ ...netnsLab, veths: {} }, "t.json")).toThrow("t.json: topology.veths must be a list");
  });
  it("a sandbox host's outside has its documentation addresses", () => {
    expect(outsideFor(netnsLab)).toEqual({ label: "outside (stand-in internet)", addresses: ["198.51.100.1", "203.0.113.1"] });
    expect(outsideFor({ ...netnsLab, host: { name: "ssh root@10.0.0.5:22" } })).toEqual({ label: "outside", addresses: [] });
  });
});

describeScriptFixtures("host snapshot script matches its fixture", { "host-snapshot.sh": hostSnapshotScript() });

describe("the live host, read back (netns-lab captured on a sandbox host)", () => {
  const snapshot = parseHostSnapshot(fs.readFileSync(path.join(fixtures, "snapshot-netns-lab.txt"), "utf8"));

  it("parses the host and every namespace", () => {
    expect(snapshot.namespaces.map((n) => n.name).sort()).toEqual(["netns0", "netns1"]);
    expect(snapshot.host.links.map((l) => l.ifname)).toEqual(expect.arrayContaining(["lo", "eth0", "br0", "veth0", "veth1"]));
  });

  it("gives the topology the stack exported, less what a host cannot show (workloads, exposed ports, probes)", () => {
    const live = topologyFromSnapshot(snapshot, "sandbox dbg-lab");
    const declared: Topology = JSON.parse(JSON.stringify(netnsLab));
    for (const c of declared.containers) {
      delete c.workload;
      c.expose = [];
    }
    for (const p of declared.ports) p.probe = "none";
    expect(live).toEqual(declared);
  });

  it("reads bridgelab's rules", () => {
    expect(parseDnatRules(snapshot.nat)).toEqual([{ name: "netns0-tcp-5000", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 5000, address: "172.18.0.10", port: 5000 }]);
    expect(egressSubnets(snapshot.nat)).toEqual(["172.18.0.0/16"]);
    expect(splitRuleLine('-A X -s 1.2.3.4/32 -m comment --comment "a b" -j DROP')).toEqual({ chain: "X", words: ["-s", "1.2.3.4/32", "-m", "comment", "--comment", "a b", "-j", "DROP"] });
    const filter = [
      '-A BRIDGELAB-ISOLATION-STAGE-1 -i br-a ! -o br-a -m comment --comment "bridgelab:v1:isolation:br-a" -j BRIDGELAB-ISOLATION-STAGE-2',
      '-A BRIDGELAB-ISOLATION-STAGE-1 -i br-a -o br-a -m comment --comment "bridgelab:v1:icc:br-a" -j DROP',
      '-A BRIDGELAB-ISOLATION-STAGE-2 -o br-b -m comment --comment "bridgelab:v1:isolation:br-b" -j DROP',
    ];
    const iso = isolationOf(filter);
    expect([...iso.isolated].sort()).toEqual(["br-a", "br-b"]);
    expect([...iso.iccOff]).toEqual(["br-a"]);
    expect(parseDnatRules(['-A BRIDGELAB-DNAT -d 198.51.100.2/32 -p udp -m udp --dport 53 -m comment --comment "bridgelab:v1:publish:dns" -j DNAT --to-destination 172.18.0.2:5353'])).toEqual([
      { name: "dns", protocol: "udp", hostIp: "198.51.100.2", hostPort: 53, address: "172.18.0.2", port: 5353 },
    ]);
  });

  it("reads bridgelab 0.2's rules, which name their owner, of every owner alike", () => {
    const nat = [
      '-A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 ! -o br0 -m comment --comment "bridgelab:v2:egress:lab:0276c64e" -j MASQUERADE',
      '-A BRIDGELAB-POSTROUTING -s 172.19.0.0/16 ! -o br1 -m comment --comment "bridgelab:v2:egress:lab:12345678" -j MASQUERADE',
      '-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v2:publish:web:851f30e8" -j DNAT --to-destination 172.18.0.10:5000',
    ];
    expect(egressSubnets(nat)).toEqual(["172.18.0.0/16", "172.19.0.0/16"]);
    expect(parseDnatRules(nat)).toEqual([{ name: "web", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, address: "172.18.0.10", port: 5000, ownerId: "851f30e8" }]);
    const iso = isolationOf([
      '-A BRIDGELAB-ISOLATION-STAGE-1 -i br-a ! -o br-a -m comment --comment "bridgelab:v2:isolation:br-a:b96e2010" -j BRIDGELAB-ISOLATION-STAGE-2',
      '-A BRIDGELAB-ISOLATION-STAGE-1 -i br-c -o br-c -m comment --comment "bridgelab:v2:icc:br-c:90e65fff" -j DROP',
      '-A BRIDGELAB-ISOLATION-STAGE-2 -o br-b -m comment --comment "bridgelab:v1:isolation:br-b" -j DROP',
      '-A BRIDGELAB-ISOLATION-STAGE-2 -o br-x -m comment --comment "not-ours" -j DROP',
    ]);
    expect([...iso.isolated].sort()).toEqual(["br-a", "br-b"]);
    expect([...iso.iccOff]).toEqual(["br-c"]);
  });
});

describe("bridgelab graph arguments", () => {
  it("one source at a time; --live needs a host", () => {
    const cwd = "/srv/work";
    expect(parseGraphArgs(["--live", "--sandbox", "lab-1", "--out", "x.svg"], cwd)).toMatchObject({ live: true, json: false, sandbox: "lab-1", out: "x.svg", stateDir: "/srv/work/.bridgelab" });
    expect(parseGraphArgs(["--outputs=-", "--json"], cwd)).toMatchObject({ live: false, json: true, outputs: "-" });
    expect(parseGraphArgs(["--stack", "docker-modes", "--state-dir", "/s"], cwd)).toMatchObject({ stack: "docker-modes", stateDir: "/s" });
    expect(parseGraphArgs(["--help"])).toBeUndefined();
    expect(() => parseGraphArgs(["--state", "a.json", "--live", "--sandbox", "x"])).toThrow("give one of --stack, --state, --outputs and --live");
    expect(() => parseGraphArgs(["--live"])).toThrow("--live needs --sandbox NAME or --connection JSON (one of them)");
    expect(() => parseGraphArgs(["--sandbox", "x"])).toThrow("--sandbox and --connection go with --live");
    expect(() => parseGraphArgs(["--live", "--sandbox", "Bad!"])).toThrow(/sandbox name "Bad!" is invalid/);
    expect(() => parseGraphArgs(["--outputs"])).toThrow("--outputs needs a value");
    expect(() => parseGraphArgs(["--output", "x"])).toThrow("unknown option --output: did you mean --outputs?");
  });
});
