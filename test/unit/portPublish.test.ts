import { execFileSync } from "node:child_process";
import {
  AWK_NEXT_FREE,
  AWK_HELD_BY_RULE,
  AWK_HELD_BY_SOCKET,
  AWK_RULE_PORTS,
  AWK_SOCKET_PORTS,
  PublishSpec,
  parsePlaced,
  parsePublishDnat,
  portPublishCreateScript,
  portPublishDeleteScript,
  portPublishReadScript,
  portPublishUpdateScript,
  publishRules,
} from "../../provider/host/portPublishScripts";
import { ownerOf } from "../../provider/host/owner";
import { ownedRuleArgs } from "../../provider/host/ruleSet";
import { UNKNOWN } from "../../provider/resources/contract";
import { claimsOverlap, forgetPortClaims } from "../../provider/resources/portClaims";
import { PortPublishOutputs, portPublishProvider } from "../../provider/resources/portPublish";
import { describeScriptFixtures } from "../support/scriptFixtures";
import { portPublishBatchCreateScript, portPublishBatchDeleteScript, splitBatchOutput } from "../../provider/host/portPublishBatchScripts";

/** The owners fixtures name: PortPublish "web" and "dns" of stack dev, project lab (ids 851f30e8, 509666f2). */
const WEB = ownerOf("urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::web")!;
const DNS = ownerOf("urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::dns")!;
const web: PublishSpec = { name: "web", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, address: "172.18.0.10", port: 5000, bridge: "br0", owner: WEB };
const placed = { ...web, subnet: "172.18.0.0/16" };
const dns: PublishSpec = { name: "dns", protocol: "udp", hostIp: "198.51.100.2", hostPort: 0, address: "172.18.0.20", port: 53, bridge: "br0", subnet: "172.18.0.0/16", owner: DNS };
// State of bridgelab 0.1: no owner, its v1 tags.
const { owner: _w, ...webV1 } = placed;

describeScriptFixtures("port publish scripts match their fixtures", {
  "portpublish-create-static.sh": portPublishCreateScript(web),
  "portpublish-create-dynamic-udp-hostip.sh": portPublishCreateScript(dns),
  // Two owners in one batch, and a mapping of 0.1's state.
  "portpublish-create-batch.sh": portPublishBatchCreateScript([web, dns, { ...webV1, name: "old", hostPort: 8081 }]),
  "portpublish-delete-batch.sh": portPublishBatchDeleteScript([placed, { ...dns, hostPort: 32768, subnet: "172.18.0.0/16" }, { ...webV1, name: "old", hostPort: 8081 }]),
  "portpublish-update-port.sh": portPublishUpdateScript({ ...web, port: 5001 }, placed),
  // Issue 12, point 5: a new host port is an update that checks the port before it changes anything.
  "portpublish-update-hostport.sh": portPublishUpdateScript({ ...web, hostPort: 9099 }, placed),
  // A dynamic port whose protocol changed: a new port is allocated.
  "portpublish-update-dynamic-protocol.sh": portPublishUpdateScript({ ...dns, protocol: "tcp" }, { ...dns, hostPort: 32768, subnet: "172.18.0.0/16" }),
  // 0.1's rules taken over by their own stack under 0.2: re-tagged in place.
  "portpublish-update-retag-v1.sh": portPublishUpdateScript(web, webV1),
  "portpublish-update-adopt.sh": portPublishUpdateScript({ ...dns, hostPort: 32768 }),
  "portpublish-read.sh": portPublishReadScript(placed),
  "portpublish-delete.sh": portPublishDeleteScript(placed),
  "portpublish-delete-udp-hostip.sh": portPublishDeleteScript({ ...dns, hostPort: 32768, subnet: "172.18.0.0/16" }),
  "portpublish-delete-v1.sh": portPublishDeleteScript(webV1),
});

// Generated rules against literal argv, as the CNI portmap tests do: what reaches iptables.
describe("port publish rules", () => {
  it("publish 0.0.0.0:8080 → 172.18.0.10:5000/tcp on br0: Docker's rules plus hairpin and reply accepts, in our chains, DNAT last", () => {
    expect(WEB.id).toBe("851f30e8");
    const tag = ["-m", "comment", "--comment", "bridgelab:v2:publish:web:851f30e8"];
    expect(publishRules(placed).map(ownedRuleArgs)).toEqual([
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-FORWARD", "-d", "172.18.0.10/32", "!", "-i", "br0", "-o", "br0", "-p", "tcp", "-m", "tcp", "--dport", "5000", ...tag, "-j", "ACCEPT"],
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-FORWARD", "-d", "172.18.0.10/32", "-i", "br0", "-o", "br0", "-p", "tcp", "-m", "tcp", "--dport", "5000", "-m", "conntrack", "--ctstate", "DNAT", ...tag, "-j", "ACCEPT"],
      ["iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-FORWARD", "-s", "172.18.0.10/32", "-i", "br0", "-p", "tcp", "-m", "tcp", "--sport", "5000", "-m", "conntrack", "--ctstate", "DNAT", "--ctdir", "REPLY", ...tag, "-j", "ACCEPT"],
      ["iptables", "-w", "-t", "nat", "-A", "BRIDGELAB-POSTROUTING", "-s", "172.18.0.10/32", "-d", "172.18.0.10/32", "-p", "tcp", "-m", "tcp", "--dport", "5000", ...tag, "-j", "MASQUERADE"],
      ["iptables", "-w", "-t", "nat", "-A", "BRIDGELAB-POSTROUTING", "-s", "172.18.0.0/16", "-d", "172.18.0.10/32", "-o", "br0", "-p", "tcp", "-m", "tcp", "--dport", "5000", "-m", "conntrack", "--ctstate", "DNAT", ...tag, "-j", "MASQUERADE"],
      ["iptables", "-w", "-t", "nat", "-A", "BRIDGELAB-DNAT", "-p", "tcp", "-m", "tcp", "--dport", "8080", ...tag, "-j", "DNAT", "--to-destination", "172.18.0.10:5000"],
    ]);
  });

  it("a host IP adds -d HOSTIP/32 to the DNAT only, as seed 004's `-d 172.16.0.2`; udp matches with -m udp", () => {
    const rules = publishRules({ ...dns, hostPort: 32768, subnet: "172.18.0.0/16" }).map(ownedRuleArgs);
    expect(rules[5]).toEqual([
      "iptables", "-w", "-t", "nat", "-A", "BRIDGELAB-DNAT", "-d", "198.51.100.2/32", "-p", "udp", "-m", "udp", "--dport", "32768",
      "-m", "comment", "--comment", `bridgelab:v2:publish:dns:${DNS.id}`, "-j", "DNAT", "--to-destination", "172.18.0.20:53",
    ]);
    expect(rules[0]).toEqual([
      "iptables", "-w", "-t", "filter", "-A", "BRIDGELAB-FORWARD", "-d", "172.18.0.20/32", "!", "-i", "br0", "-o", "br0", "-p", "udp", "-m", "udp", "--dport", "53",
      "-m", "comment", "--comment", `bridgelab:v2:publish:dns:${DNS.id}`, "-j", "ACCEPT",
    ]);
    expect(rules.slice(0, 5).some((r) => r.includes("198.51.100.2/32"))).toBe(false);
  });

  it("state of bridgelab 0.1 (no owner) keeps 0.1's tag", () => {
    expect(publishRules(webV1).map(ownedRuleArgs)[5]).toEqual([
      "iptables", "-w", "-t", "nat", "-A", "BRIDGELAB-DNAT", "-p", "tcp", "-m", "tcp", "--dport", "8080",
      "-m", "comment", "--comment", "bridgelab:v1:publish:web", "-j", "DNAT", "--to-destination", "172.18.0.10:5000",
    ]);
  });

  it("create and update scripts write the learnt port and subnet as shell variables", () => {
    const s = portPublishCreateScript({ ...web, hostPort: 0 });
    expect(s).toContain('--dport "$host_port"');
    expect(s).toContain('-s "$subnet"');
    expect(s).not.toContain("@HOST_PORT@");
  });
});

// The awk programs the scripts run on the host, fed what iptables -S and ss print.
describe("host-side port accounting", () => {
  const awk = (vars: Record<string, string>, program: string, input: string) =>
    execFileSync("awk", [...Object.entries(vars).flatMap(([k, v]) => ["-v", `${k}=${v}`]), program], { input, encoding: "utf8" });
  // web of stack dev (851f30e8), api of bridgelab 0.1, dns of another owner, web of stack test (another owner, same NAME).
  const dnatChain = [
    "-N BRIDGELAB-DNAT",
    '-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v2:publish:web:851f30e8" -j DNAT --to-destination 172.18.0.10:5000',
    '-A BRIDGELAB-DNAT -d 198.51.100.2/32 -p tcp -m tcp --dport 9090 -m comment --comment "bridgelab:v1:publish:api" -j DNAT --to-destination 172.18.0.11:80',
    '-A BRIDGELAB-DNAT -p udp -m udp --dport 40000 -m comment --comment "bridgelab:v2:publish:dns:0badf00d" -j DNAT --to-destination 172.18.0.20:53',
    '-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8081 -m comment --comment "bridgelab:v2:publish:web:12345678" -j DNAT --to-destination 172.18.0.12:5000',
  ].join("\n");
  const held = (selves: string, own: string, port: string, ip: string, proto = "tcp") => awk({ selves, own, proto, port, ip }, AWK_HELD_BY_RULE, dnatChain).trim();

  it("a DNAT on 0.0.0.0 holds the port for every address; one on an address holds it for that address and 0.0.0.0", () => {
    const other = (port: string, ip: string, proto = "tcp") => held("bridgelab:v2:publish:other:aaaaaaaa", ":aaaaaaaa", port, ip, proto);
    expect(other("8080", "0.0.0.0")).toBe("bridgelab:v2:publish:web:851f30e8 0.0.0.0 172.18.0.10:5000");
    expect(other("8080", "198.51.100.2")).toBe("bridgelab:v2:publish:web:851f30e8 0.0.0.0 172.18.0.10:5000");
    expect(other("9090", "198.51.100.2")).toBe("bridgelab:v1:publish:api 198.51.100.2 172.18.0.11:80");
    expect(other("9090", "0.0.0.0")).toBe("bridgelab:v1:publish:api 198.51.100.2 172.18.0.11:80");
    expect(other("9090", "172.18.0.1")).toBe("");
    expect(other("8080", "0.0.0.0", "udp")).toBe("");
  });

  it("a mapping's own rules never hold a port against it; another owner's of the same NAME, and 0.1's, do", () => {
    // Its own tag (an update re-checks its own port), or any tag of its owner (a replacement under a new NAME).
    expect(held("bridgelab:v2:publish:web:851f30e8", ":851f30e8", "8080", "0.0.0.0")).toBe("");
    expect(held("bridgelab:v2:publish:web2:851f30e8", ":851f30e8", "8080", "0.0.0.0")).toBe("");
    // The same NAME in another stack: held.
    expect(held("bridgelab:v2:publish:web:12345678", ":12345678", "8080", "0.0.0.0")).toBe("bridgelab:v2:publish:web:851f30e8 0.0.0.0 172.18.0.10:5000");
    expect(held("bridgelab:v2:publish:web:851f30e8", ":851f30e8", "8081", "0.0.0.0")).toBe("bridgelab:v2:publish:web:12345678 0.0.0.0 172.18.0.12:5000");
    // 0.1's state re-tagging (selves: its v1 tag and its new one): its own v1 rule does not hold; 0.1's "web" holds against a new owner.
    expect(held("bridgelab:v1:publish:api bridgelab:v2:publish:api:851f30e8", ":851f30e8", "9090", "0.0.0.0")).toBe("");
    expect(held("bridgelab:v2:publish:api:851f30e8", ":851f30e8", "9090", "0.0.0.0")).toBe("bridgelab:v1:publish:api 198.51.100.2 172.18.0.11:80");
    // Without an owner (0.1's state), only its own tag is its own.
    expect(held("bridgelab:v1:publish:web", "", "8080", "0.0.0.0")).toBe("bridgelab:v2:publish:web:851f30e8 0.0.0.0 172.18.0.10:5000");
  });

  const ss = [
    "LISTEN 0      5      198.51.100.2:9093 0.0.0.0:* ",
    "LISTEN 0      5         127.0.0.1:9090 0.0.0.0:* ",
    "LISTEN 0      5                 *:9091       *:* ",
    "LISTEN 0      4096           [::]:9092    [::]:* ",
    "LISTEN 0      4096   [::ffff:198.51.100.2]:9094    *:* ",
    "UNCONN 0      0      172.18.0.1%br0:53 0.0.0.0:* ",
  ].join("\n");
  const socket = (port: string, ip: string) => awk({ port, ip }, AWK_HELD_BY_SOCKET, ss).trim().split(/\s+/)[3] ?? "";

  it("a listening socket holds the port when it listens on a wildcard, on the mapping's address, or the mapping is on 0.0.0.0", () => {
    expect(socket("9093", "0.0.0.0")).toBe("198.51.100.2:9093");
    expect(socket("9093", "198.51.100.2")).toBe("198.51.100.2:9093");
    expect(socket("9093", "172.18.0.1")).toBe("");
    expect(socket("9090", "0.0.0.0")).toBe("127.0.0.1:9090");
    expect(socket("9091", "198.51.100.2")).toBe("*:9091");
    expect(socket("9092", "198.51.100.2")).toBe("[::]:9092");
    expect(socket("9094", "198.51.100.2")).toBe("[::ffff:198.51.100.2]:9094");
    expect(socket("53", "172.18.0.1")).toBe("172.18.0.1%br0:53");
    expect(socket("909", "0.0.0.0")).toBe("");
  });

  it("a dynamic port is the next free one after the last handed out, round the range, skipping DNATs, listening sockets and reserved ports", () => {
    const used = awk({ proto: "tcp" }, AWK_RULE_PORTS, dnatChain) + awk({}, AWK_SOCKET_PORTS, ss);
    expect(used.trim().split("\n")).toEqual(["8080", "9090", "8081", "9093", "9090", "9091", "9092", "9094", "53"]);
    const next = (vars: Record<string, string>, taken = used) => awk({ reserved: "", last: "0", ...vars }, AWK_NEXT_FREE, taken).trim();
    // No cursor (a fresh host): the first free port of the range, as Docker's first allocation.
    expect(next({ lo: "9090", hi: "9099" })).toBe("9095");
    expect(next({ lo: "9090", hi: "9094" })).toBe("");
    expect(next({ lo: "40000", hi: "40009" }, awk({ proto: "udp" }, AWK_RULE_PORTS, dnatChain))).toBe("40001");
    // After the last one handed out, even when a lower port is free again; past the end, from the start.
    expect(next({ lo: "9090", hi: "9099", last: "9096" })).toBe("9097");
    expect(next({ lo: "9090", hi: "9099", last: "9099" })).toBe("9095");
    expect(next({ lo: "9090", hi: "9099", last: "9098" }, used + "9099\n")).toBe("9095");
    // A cursor outside the range (the range changed): from its start.
    expect(next({ lo: "9090", hi: "9099", last: "32768" })).toBe("9095");
    // ip_local_reserved_ports: single ports and ranges, also across the range's ends.
    expect(next({ lo: "9090", hi: "9099", reserved: "9095" })).toBe("9096");
    expect(next({ lo: "9090", hi: "9099", reserved: "1-9096,9098" })).toBe("9097");
    expect(next({ lo: "9090", hi: "9099", reserved: "9095-9099" })).toBe("");
    expect(next({ lo: "9090", hi: "9099", reserved: "9096-65535", last: "9095" })).toBe("9095");
  });
});

describe("parsers", () => {
  it("read a DNAT rule of ours back into its mapping, with its owner's id (0.2) or without (0.1)", () => {
    expect(parsePublishDnat('-A BRIDGELAB-DNAT -d 198.51.100.2/32 -p udp -m udp --dport 40000 -m comment --comment "bridgelab:v2:publish:dns:509666f2" -j DNAT --to-destination 172.18.0.20:53')).toStrictEqual({
      name: "dns",
      protocol: "udp",
      hostIp: "198.51.100.2",
      hostPort: 40000,
      address: "172.18.0.20",
      port: 53,
      ownerId: "509666f2",
    });
    expect(parsePublishDnat('-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v1:publish:web" -j DNAT --to-destination 172.18.0.10:5000')).toStrictEqual({
      name: "web",
      protocol: "tcp",
      hostIp: "0.0.0.0",
      hostPort: 8080,
      address: "172.18.0.10",
      port: 5000,
    });
    expect(parsePublishDnat('-A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 ! -o br0 -m comment --comment "bridgelab:v2:egress:lab:3d6e0e5c" -j MASQUERADE')).toBeUndefined();
    expect(parsePublishDnat('-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v2:egress:x:3d6e0e5c" -j DNAT --to-destination 172.18.0.10:5000')).toBeUndefined();
    expect(parsePublishDnat('-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "bridgelab:v2:publish:3d6e0e5c" -j DNAT --to-destination 172.18.0.10:5000')).toBeUndefined();
  });
  it("read the placed section", () => {
    expect(parsePlaced("32768 172.18.0.0/16")).toEqual({ hostPort: 32768, subnet: "172.18.0.0/16" });
    expect(parsePlaced("")).toBeUndefined();
  });
});

describe("PortPublish check", () => {
  let n = 0;
  // A host of its own per test: the claims table is process-wide.
  const host = () => ({ kind: "sandbox", name: `unit-pp-${n++}` });
  const check = (news: Record<string, unknown>, connection: unknown = host()) =>
    portPublishProvider.check!({}, { connection, name: "web", address: "172.18.0.10", port: 5000, bridge: "br0", ...news });

  it("fills Docker's defaults: tcp, 0.0.0.0, a dynamic host port", async () => {
    const r = await check({});
    expect(r.failures).toEqual([]);
    expect(r.inputs).toMatchObject({ protocol: "tcp", hostIp: "0.0.0.0", hostPort: 0 });
    expect(r.inputs).not.toHaveProperty("subnet");
  });

  it.each([
    ["port", { port: 0 }, /^port 0 must be an integer from 1 to 65535 \(only hostPort may be 0, for a dynamic port\)$/],
    ["port", { port: 65536 }, /^port 65536 must be an integer from 1 to 65535/],
    ["port", { port: "80" }, /^port "80" must be an integer/],
    ["hostPort", { hostPort: 65536 }, /^hostPort 65536 must be an integer from 1 to 65535, or 0 for a dynamic port from the host's ip_local_port_range$/],
    ["hostPort", { hostPort: -1 }, /^hostPort -1 must be an integer from 1 to 65535, or 0/],
    ["hostPort", { hostPort: 80.5 }, /^hostPort 80.5 must be an integer/],
    ["protocol", { protocol: "sctp" }, /^protocol "sctp" must be "tcp" or "udp"/],
    ["hostIp", { hostIp: "1.2.3" }, /^hostIp "1.2.3" is not an IPv4 address in four decimal parts like "198.51.100.2" \(or "0.0.0.0" for every address of the host\)$/],
    ["hostIp", { hostIp: "::" }, /^hostIp "::" is not an IPv4 address/],
    ["hostIp", { hostIp: "127.0.0.1" }, /^hostIp "127.0.0.1" is a loopback address; DNAT does not apply to 127.0.0.0\/8/],
    ["hostIp", { hostIp: "224.0.0.1" }, /^hostIp "224.0.0.1" is a multicast address/],
    ["address", { address: "172.18.0.300" }, /^address "172.18.0.300" is not an IPv4 address in four decimal parts like "172.18.0.10"$/],
    ["address", { address: "0.0.0.0" }, /^address "0.0.0.0" is an unspecified address; give the container's own IPv4 address/],
    ["address", { address: "172.18.0.10/16" }, /^address "172.18.0.10\/16" is not an IPv4 address/],
    ["bridge", { bridge: "a-very-long-bridge" }, /^bridge "a-very-long-bridge" is 18 bytes long/],
    ["subnet", { subnet: "172.18.0.1/16" }, /^subnet "172.18.0.1\/16" is not a network address.*did you mean "172.18.0.0\/16"/],
    ["address", { subnet: "10.0.0.0/24" }, /^address "172.18.0.10" is outside subnet "10.0.0.0\/24"/],
    ["name", { name: "web;reboot" }, /^name "web;reboot" may hold only letters, digits/],
  ])("rejects %s: %j", async (property, news, reason) => {
    const r = await check(news);
    expect(r.failures).toEqual([{ property, reason: expect.stringMatching(reason) }]);
  });

  it("reports every bad field at once, and skips values unknown at preview", async () => {
    const r = await check({ port: -1, hostPort: 70000, protocol: "sctp", address: UNKNOWN });
    expect(r.failures!.map((f) => f.property)).toEqual(["protocol", "hostPort", "port"]);
  });

  it("two mappings of one program on the same static host port: Docker's message at check, naming the other", async () => {
    const h = host();
    expect((await check({ name: "a", hostPort: 8080 }, h)).failures).toEqual([]);
    // Check runs again for the same resource on every run: never a clash with itself.
    expect((await check({ name: "a", hostPort: 8080 }, h)).failures).toEqual([]);
    const r = await check({ name: "b", hostPort: 8080 }, h);
    expect(r.failures).toEqual([
      {
        property: "hostPort",
        reason: 'Bind for 0.0.0.0:8080 failed: port is already allocated (port publish "a" in this program also publishes tcp 0.0.0.0:8080 on this host)',
      },
    ]);
    // A specific address against 0.0.0.0 clashes too, with that address in the message.
    expect((await check({ name: "c", hostPort: 8080, hostIp: "198.51.100.2" }, h)).failures![0].reason).toMatch(/^Bind for 198.51.100.2:8080 failed: port is already allocated/);
    forgetPortClaims(`sandbox:${h.name}`);
  });

  it("claims are the owner's: two resources giving their rules one NAME still clash on one port; one resource checked again never does", async () => {
    const h = host();
    const a = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::a";
    const b = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::b";
    expect((await check({ name: "web", owner: a, hostPort: 8080 }, h)).failures).toEqual([]);
    expect((await check({ name: "web", owner: a, hostPort: 8080 }, h)).failures).toEqual([]);
    expect((await check({ name: "web", owner: b, hostPort: 8080 }, h)).failures).toEqual([
      { property: "hostPort", reason: 'Bind for 0.0.0.0:8080 failed: port is already allocated (port publish "web" in this program also publishes tcp 0.0.0.0:8080 on this host)' },
    ]);
    forgetPortClaims(`sandbox:${h.name}`);
  });

  it("validates the owner input as a URN, and keeps it", async () => {
    const urn = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::web";
    expect((await check({ owner: urn })).inputs.owner).toBe(urn);
    expect((await check({ owner: "web" })).failures).toEqual([{ property: "owner", reason: expect.stringMatching(/^owner "web" must be a Pulumi URN/) }]);
  });

  it("no clash for another protocol, another host, two distinct addresses, or dynamic ports", async () => {
    const [h, h2] = [host(), host()];
    expect((await check({ name: "a", hostPort: 8080 }, h)).failures).toEqual([]);
    expect((await check({ name: "b", hostPort: 8080, protocol: "udp" }, h)).failures).toEqual([]);
    expect((await check({ name: "b", hostPort: 8080 }, h2)).failures).toEqual([]);
    expect((await check({ name: "c", hostPort: 0 }, h)).failures).toEqual([]);
    expect((await check({ name: "d", hostPort: 0 }, h)).failures).toEqual([]);
    // A mapping that moves off the port frees it.
    expect((await check({ name: "a", hostPort: 0 }, h)).failures).toEqual([]);
    expect((await check({ name: "e", hostPort: 8080 }, h)).failures).toEqual([]);
    expect(claimsOverlap({ protocol: "tcp", hostIp: "198.51.100.2", hostPort: 80 }, { protocol: "tcp", hostIp: "203.0.113.1", hostPort: 80 })).toBe(false);
  });
});

describe("PortPublish diff", () => {
  const conn = { kind: "sandbox", name: "lab" };
  const { owner: _o, ...declared } = web;
  const outs: PortPublishOutputs = {
    ...declared,
    connection: conn as never,
    hostPort: 32768,
    requestedHostPort: 0,
    bridgeSubnet: "172.18.0.0/16",
    rules: [],
    missingRules: [],
  };
  const urn = "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::web";
  outs.owner = urn;
  const news = { ...web, owner: urn, connection: conn, hostPort: 0 };
  const diff = (o: Partial<PortPublishOutputs>, n: Record<string, unknown>) => portPublishProvider.diff!("web", { ...outs, ...o }, { ...news, ...n });

  it("an allocated port is no change against the declared 0", async () => {
    expect(await diff({}, {})).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });
  it("the container side changes in place", async () => {
    expect(await diff({}, { port: 5001, address: "172.18.0.11", bridge: "br1", subnet: "172.18.0.0/16" })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
  it("protocol, host IP and host port change in place (the update checks the new port before it touches the old mapping)", async () => {
    for (const change of [{ protocol: "udp" }, { hostIp: "198.51.100.2" }, { hostPort: 8080 }, { protocol: "udp", hostIp: "198.51.100.2", hostPort: 8080 }]) {
      expect(await diff({}, change)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    }
  });
  it("the owner changes in place: 0.1's state (no owner) is re-tagged by its stack's update", async () => {
    expect(await diff({ owner: undefined }, {})).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
  it("a new name replaces: made before the old one goes when the state has an owner; deleted first for 0.1's state or another host", async () => {
    expect(await diff({}, { name: "web2" })).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
    expect(await diff({ owner: undefined }, { name: "web2" })).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: true });
    expect(await diff({}, { connection: { kind: "sandbox", name: "lab2" } })).toEqual({ changes: true, replaces: ["connection"], deleteBeforeReplace: true });
  });
  it("a rule missing on the host is drift: an in-place update", async () => {
    expect(await diff({ missingRules: ["iptables -w -t nat -A BRIDGELAB-DNAT ..."] }, {})).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
});

describe("splitBatchOutput", () => {
  it("gives each mapping its own stdout and exit status; a mapping with no exit line is unanswered", () => {
    const out = [
      "@@bridgelab-item 0",
      "@@bridgelab-item 1",
      "@@bridgelab allocated-rule",
      "web 0.0.0.0 172.18.0.10:5000",
      "@@bridgelab-item-exit 1 76",
      "@@bridgelab-item 2",
      "@@bridgelab-item 0",
      "@@bridgelab placed",
      "8080 172.18.0.0/16",
      "@@bridgelab-item-exit 0 0",
      "",
    ].join("\n");
    expect(splitBatchOutput(out, 3)).toEqual([
      { stdout: "@@bridgelab placed\n8080 172.18.0.0/16\n", code: 0 },
      { stdout: "@@bridgelab allocated-rule\nweb 0.0.0.0 172.18.0.10:5000\n", code: 76 },
      { stdout: "\n", code: undefined },
    ]);
  });

  it("refuses a batch with two mappings of one name", () => {
    expect(() => portPublishBatchCreateScript([web, web])).toThrow(/distinct/);
  });
});
