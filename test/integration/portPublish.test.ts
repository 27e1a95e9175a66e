import { ownerOf } from "../../provider/host/owner";
import { publishTag } from "../../provider/host/portPublishScripts";
import { shQuote } from "../../provider/host/quote";
import { forgetPortClaims } from "../../provider/resources/portClaims";
import { egressProvider, EgressOutputs } from "../../provider/resources/egress";
import { portPublishProvider, PortPublishInputs, PortPublishOutputs } from "../../provider/resources/portPublish";
import { connectionIdentity } from "../../provider/resources/contract";
import { TRANSPORTS, useHost } from "../support/hosts";
import { addBridge, addContainer, iptablesSave, removeContainers } from "../support/handmadeContainers";

// PortPublish against a real kernel, over both transports. The lab is seed 004's, built by
// hand (VethPair is not needed): br0 172.18.0.1/16 with containers c0 (172.18.0.10, the
// servers) and c1 (172.18.0.11, a neighbour for hairpin), forwarding on and the FORWARD
// policy DROP, as on a Docker host. The sandbox's outside (198.51.100.1) stands in for a
// client on the internet: it has a route to 198.51.100.0/24 only, so it reaches the
// containers through the host's published ports or not at all.
const HOST = "198.51.100.2";
const GATEWAY = "172.18.0.1";
const C0 = "172.18.0.10";

/** The owner the PortPublish class gives mapping NAME of STACK (its URN), and the tag its rules carry. */
const urn = (name: string, stack = "dev") => `urn:pulumi:${stack}::lab::pulumi-nodejs:dynamic/bridgelab:PortPublish::${name}`;
const tagOf = (name: string, stack = "dev") => publishTag(name, ownerOf(urn(name, stack)));

describe.each(TRANSPORTS)("PortPublish over %s", (kind) => {
  const host = useHost(kind, "it-pp");

  describe("on br0 with two hand-made containers", () => {
    // Process groups of the servers started in c0 (setsid: each socat leads its own).
    const servers: number[] = [];
    const serve = async (listen: string, reply: string) => {
      const pid = Number((await host.sh(`ip netns exec c0 setsid socat ${listen} ${shQuote(`SYSTEM:${reply}`)} >/dev/null 2>&1 </dev/null & echo $!`)).trim());
      servers.push(pid);
    };

    beforeAll(async () => {
      await addBridge(host, "br0", `${GATEWAY}/16`);
      await addContainer(host, "c0", [{ bridge: "br0", cidr: `${C0}/16`, gateway: GATEWAY }]);
      await addContainer(host, "c1", [{ bridge: "br0", cidr: "172.18.0.11/16", gateway: GATEWAY }]);
      await host.sh("sysctl -qw net.ipv4.ip_forward=1\niptables -w -P FORWARD DROP");
      await serve("TCP-LISTEN:5000,fork,reuseaddr", "echo hello");
      await serve("TCP-LISTEN:5001,fork,reuseaddr", "echo hello5001");
      await serve("UDP-RECVFROM:5000,fork", "echo hello");
      await serve("UDP-RECVFROM:5001,fork", "echo hello5001");
      // Answers, then keeps the connection open: an established flow.
      await serve("TCP-LISTEN:5002,fork,reuseaddr", "echo hello; sleep 60");
      await host.sh(`for i in $(seq 50); do ip netns exec c0 ss -Hltn | grep -q ':5002 ' && exit 0; sleep 0.1; done; exit 1`);
    });
    afterAll(async () => {
      await host.sh([...servers.map((p) => `kill -s KILL -- -${p} 2>/dev/null`), "true"].join("\n"));
      await removeContainers(host, "c0", "c1");
      forgetPortClaims(connectionIdentity(host.connection));
    });

    // --- probes: one request, the answer or "" -------------------------------------------
    type From = "outside" | "host" | "c0" | "c1";
    const run = (from: From, s: string) =>
      from === "outside" ? host.outside(s) : from === "host" ? host.sh(s) : host.sh(`ip netns exec ${from} sh -c ${shQuote(s)}`);
    const tcp = async (from: From, addr: string, port: number) => (await run(from, `socat -T2 - TCP:${addr}:${port},connect-timeout=1 </dev/null 2>/dev/null || true`)).trim();
    // The servers are `socat UDP-RECVFROM:PORT,fork`: while the child answering one datagram
    // runs, nothing listens on the port, and a probe sent then meets "port unreachable" at
    // once (seen on a loaded host right after another probe). So up to three tries, a moment
    // apart, from one fixed source port: a retry rides the same conntrack flow, so flow counts
    // stay exact and a stale flow is seen, not dodged.
    const udpOnce = (addr: string, port: number) => `echo ping | socat -T2 - UDP:${addr}:${port},sourceport=45353 2>/dev/null`;
    const udp = async (from: From, addr: string, port: number) =>
      (await run(from, `r=$(${udpOnce(addr, port)}); for d in 0.3 1; do [ -n "$r" ] && break; sleep $d; r=$(${udpOnce(addr, port)}); done; echo "$r"`)).trim();
    const brNetfilter = (on: 0 | 1) => host.sh(`sysctl -qw net.bridge.bridge-nf-call-iptables=${on}`);

    /** Every line of ours in iptables-save, both tables. */
    const ours = async () => (await host.sh("iptables-save")).split("\n").filter((l) => l.includes("BRIDGELAB"));
    /** The owner records on the host: the URNs in /run/bridgelab/owners. */
    const records = async () => (await host.sh("cat /run/bridgelab/owners/* 2>/dev/null || true")).split("\n").filter(Boolean).sort();
    const save = () => host.sh("iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'");
    /** Conntrack entries of flows DNATed to the container's PORT. */
    const flows = async (proto: string, port: number) =>
      (await host.sh(`conntrack -L -p ${proto} --reply-src ${C0} --reply-port-src ${port} --dst-nat 2>/dev/null || true`)).split("\n").filter(Boolean);

    /** Checked inputs of mapping NAME of stack dev, as the class gives them (an owner); `owner: undefined` for 0.1's state. */
    async function checked(news: Record<string, unknown>): Promise<PortPublishInputs> {
      const r = await portPublishProvider.check!({}, { connection: host.connection, address: C0, bridge: "br0", owner: urn(String(news.name)), ...news });
      expect(r.failures).toEqual([]);
      return r.inputs as PortPublishInputs;
    }
    const create = async (news: Record<string, unknown>) => (await portPublishProvider.create(await checked(news))).outs as PortPublishOutputs;
    /**
     * Mapping NAME as stack STACK declares it (checked with its owner) in a run of its own: each
     * `up` is a plugin process of its own, whose check-time port claims are not the last run's.
     */
    const of = (stack: string, news: Record<string, unknown>) => {
      forgetPortClaims(connectionIdentity(host.connection));
      return checked({ owner: urn(String(news.name), stack), ...news });
    };
    const remove = (o: PortPublishOutputs) => portPublishProvider.delete!(o.name, o);

    it("publishes 0.0.0.0:8080 to c0:5000 with Docker's rules: from outside, from the host, hairpin from c1 with and without br_netfilter", async () => {
      const inputs = await checked({ name: "web", hostPort: 8080, port: 5000 });
      const { id, outs } = await portPublishProvider.create(inputs);
      expect(id).toBe("web");
      const tag = `-m comment --comment "${tagOf("web")}"`;
      expect(tagOf("web")).toBe("bridgelab:v2:publish:web:851f30e8");
      // The owner's URN is recorded on the host while its rules exist.
      expect(await records()).toEqual([urn("web")]);
      expect(outs).toEqual({
        ...inputs,
        hostPort: 8080,
        requestedHostPort: 8080,
        // Not declared: read from br0's kernel route.
        bridgeSubnet: "172.18.0.0/16",
        rules: [
          `-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 ${tag} -j DNAT --to-destination 172.18.0.10:5000`,
          `-A BRIDGELAB-POSTROUTING -s 172.18.0.10/32 -d 172.18.0.10/32 -p tcp -m tcp --dport 5000 ${tag} -j MASQUERADE`,
          `-A BRIDGELAB-POSTROUTING -s 172.18.0.0/16 -d 172.18.0.10/32 -o br0 -p tcp -m tcp --dport 5000 -m conntrack --ctstate DNAT ${tag} -j MASQUERADE`,
          `-A BRIDGELAB-FORWARD -d 172.18.0.10/32 ! -i br0 -o br0 -p tcp -m tcp --dport 5000 ${tag} -j ACCEPT`,
          `-A BRIDGELAB-FORWARD -d 172.18.0.10/32 -i br0 -o br0 -p tcp -m tcp --dport 5000 -m conntrack --ctstate DNAT ${tag} -j ACCEPT`,
          `-A BRIDGELAB-FORWARD -s 172.18.0.10/32 -i br0 -p tcp -m tcp --sport 5000 -m conntrack --ctstate DNAT --ctdir REPLY ${tag} -j ACCEPT`,
        ],
        missingRules: [],
      });
      // Seed 004's DNAT and Docker's rules (seed 002: `-A DOCKER ! -i docker0 -p tcp -m tcp
      // --dport 5005 -j DNAT --to-destination 172.17.0.2:80`, the MASQUERADE for the container
      // itself, `-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80
      // -j ACCEPT`), in our chains; no `! -i br0` on the DNAT: no userland proxy takes hairpin.
      expect(await iptablesSave(host, "nat")).toEqual([
        "*nat",
        ":PREROUTING ACCEPT [-]",
        ":INPUT ACCEPT [-]",
        ":OUTPUT ACCEPT [-]",
        ":POSTROUTING ACCEPT [-]",
        ":BRIDGELAB-DNAT - [-]",
        ":BRIDGELAB-POSTROUTING - [-]",
        '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "bridgelab:v1" -j BRIDGELAB-DNAT',
        '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment "bridgelab:v1" -j BRIDGELAB-DNAT',
        '-A POSTROUTING -m comment --comment "bridgelab:v1" -j BRIDGELAB-POSTROUTING',
        ...outs.rules.slice(0, 3),
        "COMMIT",
      ]);
      expect(await iptablesSave(host, "filter")).toEqual([
        "*filter",
        ":INPUT ACCEPT [-]",
        ":FORWARD DROP [-]",
        ":OUTPUT ACCEPT [-]",
        ":BRIDGELAB-FORWARD - [-]",
        '-A FORWARD -m comment --comment "bridgelab:v1" -j BRIDGELAB-FORWARD',
        ...outs.rules.slice(3),
        "COMMIT",
      ]);

      expect(await tcp("outside", HOST, 8080)).toBe("hello");
      expect(await tcp("host", HOST, 8080)).toBe("hello");
      expect(await tcp("host", GATEWAY, 8080)).toBe("hello");
      for (const on of [1, 0] as const) {
        await brNetfilter(on);
        expect([on, await tcp("c1", HOST, 8080), await tcp("c1", GATEWAY, 8080)]).toEqual([on, "hello", "hello"]);
      }
      // A container reaching itself through the host port: Docker's MASQUERADE; with
      // br_netfilter the reply also has to leave by the port it came in, so its bridge port
      // needs hairpin mode (Docker sets it with userland-proxy=false; it belongs to the veth).
      expect(await tcp("c0", HOST, 8080)).toBe("hello");
      await brNetfilter(1);
      await host.sh("ip link set dev v-c0-0 type bridge_slave hairpin on");
      expect(await tcp("c0", HOST, 8080)).toBe("hello");
      await host.sh("ip link set dev v-c0-0 type bridge_slave hairpin off");
      // Not published on the loopback: DNAT does not see 127.0.0.0/8 (as Docker without its proxy).
      expect(await tcp("host", "127.0.0.1", 8080)).toBe("");

      // No drift: refresh reports what create returned.
      expect(await portPublishProvider.read!(id, outs)).toEqual({ id, props: outs });

      await remove(outs as PortPublishOutputs);
      expect(await ours()).toEqual([]);
      expect(await records()).toEqual([]);
      expect(await tcp("outside", HOST, 8080)).toBe("");
      expect(await portPublishProvider.read!(id, outs)).toEqual({ id: "", props: {} });
      // Already gone: success, nothing changes.
      await expect(remove(outs as PortPublishOutputs)).resolves.toBeUndefined();
      expect(await ours()).toEqual([]);
    });

    it("publishes udp on one host address only, hairpin included, with the address in the DNAT", async () => {
      const dns = await create({ name: "dns", protocol: "udp", hostIp: HOST, hostPort: 5353, port: 5000, subnet: "172.18.0.0/16" });
      expect(dns.rules[0]).toBe(`-A BRIDGELAB-DNAT -d 198.51.100.2/32 -p udp -m udp --dport 5353 -m comment --comment "${tagOf("dns")}" -j DNAT --to-destination 172.18.0.10:5000`);
      expect(await udp("outside", HOST, 5353)).toBe("hello");
      expect(await udp("host", HOST, 5353)).toBe("hello");
      for (const on of [1, 0] as const) {
        await brNetfilter(on);
        expect([on, await udp("c1", HOST, 5353)]).toEqual([on, "hello"]);
      }
      await brNetfilter(1);
      // Published on 198.51.100.2 only: the bridge's address does not answer.
      expect(await udp("host", GATEWAY, 5353)).toBe("");
      await remove(dns);
      expect(await ours()).toEqual([]);
    });

    it("a static port held by another mapping or a listening socket fails with Docker's message, before any change", async () => {
      const web = await create({ name: "web", hostPort: 8080, port: 5000 });
      const before = await host.sh("iptables-save | grep -v '^#'");

      // Within one program the check says it already, naming the other mapping...
      const again = await portPublishProvider.check!({}, { connection: host.connection, name: "web2", owner: urn("web2"), hostPort: 8080, address: C0, port: 5001, bridge: "br0" });
      expect(again.failures).toEqual([{ property: "hostPort", reason: expect.stringMatching(/^Bind for 0\.0\.0\.0:8080 failed: port is already allocated \(port publish "web"/) }]);
      // (web2 is not part of the later tests' "program".)
      forgetPortClaims(connectionIdentity(host.connection));
      // ...and from another program the host refuses it.
      await expect(portPublishProvider.create(again.inputs)).rejects.toThrow(
        `port publish "web2" on ${host.connection.kind === "ssh" ? "ssh:" : "sandbox:"}`,
      );
      await expect(portPublishProvider.create(again.inputs)).rejects.toThrow(
        `: Bind for 0.0.0.0:8080 failed: port is already allocated (port publish "web" of stack "dev", project "lab" (${urn("web")}) publishes tcp 0.0.0.0:8080 to 172.18.0.10:5000)`,
      );
      await expect(portPublishProvider.create({ ...(again.inputs as PortPublishInputs), hostIp: HOST })).rejects.toThrow("Bind for 198.51.100.2:8080 failed: port is already allocated");
      // Another protocol on the same port is free.
      const udpWeb = await create({ name: "web-udp", protocol: "udp", hostPort: 8080, port: 5000 });
      await remove(udpWeb);
      expect(await host.sh("iptables-save | grep -v '^#'")).toBe(before);

      // A server listening on the host holds its port too.
      const pid = Number((await host.sh("setsid socat TCP-LISTEN:9090,bind=198.51.100.2,fork,reuseaddr SYSTEM:true >/dev/null 2>&1 </dev/null & echo $!")).trim());
      try {
        await host.sh("for i in $(seq 50); do ss -Hltn | grep -q ':9090 ' && exit 0; sleep 0.1; done; exit 1");
        await expect(portPublishProvider.create(await checked({ name: "api", hostPort: 9090, port: 5000 }))).rejects.toThrow(
          /: Bind for 0\.0\.0\.0:9090 failed: port is already allocated \(a socket listens there: LISTEN 0 \d+ 198\.51\.100\.2:9090 0\.0\.0\.0:\* users:\(\("socat",pid=\d+,fd=\d+\)\)\)$/,
        );
        await expect(portPublishProvider.create(await checked({ name: "api", hostIp: HOST, hostPort: 9090, port: 5000 }))).rejects.toThrow("Bind for 198.51.100.2:9090 failed: port is already allocated");
        // Another address of the host is not held by a socket bound to 198.51.100.2.
        const onBridge = await create({ name: "api", hostIp: GATEWAY, hostPort: 9090, port: 5000 });
        expect(await tcp("host", GATEWAY, 9090)).toBe("hello");
        await remove(onBridge);
        expect(await host.sh("iptables-save | grep -v '^#'")).toBe(before);
      } finally {
        await host.sh(`kill -s KILL -- -${pid} 2>/dev/null; true`);
      }
      await remove(web);
      expect(await ours()).toEqual([]);
    });

    it("dynamic ports come from ip_local_port_range, distinct across concurrent creates, skipping listening sockets; exhaustion is a clear error", async () => {
      await host.sh('sysctl -qw net.ipv4.ip_local_port_range="40000 40010"');
      const pid = Number((await host.sh("setsid socat TCP-LISTEN:40000,fork,reuseaddr SYSTEM:true >/dev/null 2>&1 </dev/null & echo $!")).trim());
      let made: PortPublishOutputs[] = [];
      try {
        await host.sh("for i in $(seq 50); do ss -Hltn | grep -q ':40000 ' && exit 0; sleep 0.1; done; exit 1");
        const inputs = await Promise.all(Array.from({ length: 10 }, (_, i) => checked({ name: `dyn${i}`, port: 5000 })));
        made = (await Promise.all(inputs.map((i) => portPublishProvider.create(i)))).map((r) => r.outs as PortPublishOutputs);
        // Ten distinct ports; 40000 is listened on.
        expect(made.map((o) => o.hostPort).sort()).toEqual([40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008, 40009, 40010]);
        expect(made.every((o) => o.requestedHostPort === 0 && o.missingRules.length === 0 && o.rules.length === 6)).toBe(true);
        expect((await host.sh("iptables -t nat -S BRIDGELAB-DNAT | grep -c -- '-j DNAT'")).trim()).toBe("10");
        const before = await host.sh("iptables-save | grep -v '^#'");
        await expect(portPublishProvider.create(await checked({ name: "dyn10", port: 5000 }))).rejects.toThrow(
          /port publish "dyn10" on \S+: no free tcp host port in ip_local_port_range 40000–40010: every one is published by bridgelab, has a listening socket or is reserved \(net\.ipv4\.ip_local_reserved_ports\); widen net\.ipv4\.ip_local_port_range on the host or give a static hostPort$/,
        );
        expect(await host.sh("iptables-save | grep -v '^#'")).toBe(before);
        // udp has its own ports.
        const u = await create({ name: "dyn-udp", protocol: "udp", port: 5000 });
        expect(u.hostPort).toBe(40000);
        await remove(u);

        const one = made[0];
        expect(await tcp("outside", HOST, one.hostPort)).toBe("hello");
        // Refresh keeps the allocated port; the declared 0 is no change against it.
        const refreshed = await portPublishProvider.read!(one.name, one);
        expect(refreshed).toEqual({ id: one.name, props: one });
        const declared = inputs.find((i) => i.name === one.name)!;
        expect(await portPublishProvider.diff!(one.name, refreshed.props, declared)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
        // An update moves the container side and keeps the host port.
        const moved = { ...declared, port: 5001 };
        expect((await portPublishProvider.diff!(one.name, one, moved)).replaces).toEqual([]);
        const upd = (await portPublishProvider.update!(one.name, one, moved)).outs as PortPublishOutputs;
        expect(upd).toMatchObject({ hostPort: one.hostPort, requestedHostPort: 0, port: 5001, missingRules: [] });
        expect(await tcp("outside", HOST, one.hostPort)).toBe("hello5001");
        expect(await portPublishProvider.read!(one.name, upd)).toEqual({ id: one.name, props: upd });
        made[0] = upd;
      } finally {
        await Promise.all(made.map(remove));
        await host.sh(`kill -s KILL -- -${pid} 2>/dev/null; sysctl -qw net.ipv4.ip_local_port_range="32768 60999"`);
      }
      expect(await ours()).toEqual([]);
    });

    it("dynamic ports go round the range as Docker's do, skip ip_local_reserved_ports, and start over once every mapping is gone", async () => {
      await host.sh('sysctl -qw net.ipv4.ip_local_port_range="42000 42005"');
      const made: PortPublishOutputs[] = [];
      const dyn = async (name: string) => {
        const o = await create({ name, port: 5000 });
        made.push(o);
        return o.hostPort;
      };
      const cursor = async () => (await host.sh("cat /run/bridgelab/ports/tcp 2>/dev/null || echo none")).trim();
      try {
        expect([await dyn("a"), await dyn("b"), await dyn("c")]).toEqual([42000, 42001, 42002]);
        expect(await cursor()).toBe("42002");
        // 42001 given back is not handed out again at once: the next is after the last one.
        await remove(made.splice(1, 1)[0]);
        expect(await dyn("d")).toBe(42003);
        // Reserved ports are skipped; past the range's end it goes round to the freed 42001.
        await host.sh("echo 42004-42005 >/proc/sys/net/ipv4/ip_local_reserved_ports");
        expect(await dyn("e")).toBe(42001);
        expect(await cursor()).toBe("42001");
        // Several at once (one batch) go on from the cursor, in order.
        await host.sh("echo >/proc/sys/net/ipv4/ip_local_reserved_ports");
        const two = await Promise.all([create({ name: "f", port: 5000 }), create({ name: "g", port: 5000 })]);
        made.push(...two);
        expect(two.map((o) => o.hostPort).sort()).toEqual([42004, 42005]);
      } finally {
        await host.sh('echo >/proc/sys/net/ipv4/ip_local_reserved_ports; sysctl -qw net.ipv4.ip_local_port_range="32768 60999"');
        for (const o of made) await remove(o);
      }
      // The last mapping out takes the cursors with it: a new lab starts at the range's start.
      expect(await cursor()).toBe("none");
      expect(await ours()).toEqual([]);
    });

    it("delete drops the mapping's conntrack entries, so an established flow stops reaching the container", async () => {
      const hold = await create({ name: "hold", hostPort: 8082, port: 5002 });
      const dns = await create({ name: "dns", protocol: "udp", hostPort: 5353, port: 5000 });
      const client = Number((await host.outside(`setsid socat -u TCP:${HOST}:8082 - >/dev/null 2>&1 </dev/null & echo $!`)).trim());
      try {
        expect(await udp("outside", HOST, 5353)).toBe("hello");
        await host.sh("for i in $(seq 50); do conntrack -L -p tcp --orig-port-dst 8082 2>/dev/null | grep -q ESTABLISHED && exit 0; sleep 0.1; done; exit 1");
        expect(await flows("tcp", 5002)).toEqual([expect.stringMatching(/^tcp +6 \d+ ESTABLISHED src=198\.51\.100\.1 dst=198\.51\.100\.2 sport=\d+ dport=8082 src=172\.18\.0\.10 dst=198\.51\.100\.1 sport=5002/)]);
        expect(await flows("udp", 5000)).toEqual([expect.stringMatching(/dport=5353 src=172\.18\.0\.10 dst=198\.51\.100\.1 sport=5000/)]);

        await remove(hold);
        await remove(dns);
        expect(await flows("tcp", 5002)).toEqual([]);
        expect(await flows("udp", 5000)).toEqual([]);
        expect(await ours()).toEqual([]);
      } finally {
        await host.sh(`kill -s KILL -- -${client} 2>/dev/null; true`);
      }
    });

    it("a rule deleted by hand is drift: read shows it, diff says update in place, update repairs it", async () => {
      const inputs = await checked({ name: "web", hostPort: 8080, port: 5000 });
      const outs = (await portPublishProvider.create(inputs)).outs as PortPublishOutputs;
      await host.sh(`iptables -w -t nat -D BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment ${tagOf("web")} -j DNAT --to-destination ${C0}:5000`);
      expect(await tcp("outside", HOST, 8080)).toBe("");
      const drifted = (await portPublishProvider.read!("web", outs)).props as PortPublishOutputs;
      expect(drifted.missingRules).toEqual([
        `iptables -w -t nat -A BRIDGELAB-DNAT -p tcp -m tcp --dport 8080 -m comment --comment ${tagOf("web")} -j DNAT --to-destination ${C0}:5000`,
      ]);
      expect(drifted.rules).toHaveLength(5);
      expect(await portPublishProvider.diff!("web", drifted, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      const repaired = (await portPublishProvider.update!("web", drifted, inputs)).outs as PortPublishOutputs;
      expect(repaired).toEqual(outs);
      expect(await tcp("outside", HOST, 8080)).toBe("hello");
      // Every rule gone by hand: the mapping is gone.
      await host.sh("iptables -w -t nat -F BRIDGELAB-DNAT; iptables -w -t nat -F BRIDGELAB-POSTROUTING; iptables -w -F BRIDGELAB-FORWARD");
      expect(await portPublishProvider.read!("web", outs)).toEqual({ id: "", props: {} });
      await remove(outs);
      expect(await ours()).toEqual([]);
    });

    it("changing the container side updates in place in one script, and drops the old mapping's udp flows", async () => {
      const dns = await create({ name: "dns", protocol: "udp", hostPort: 5353, port: 5000 });
      expect(await udp("outside", HOST, 5353)).toBe("hello");
      expect(await flows("udp", 5000)).toHaveLength(1);
      const moved = await checked({ name: "dns", protocol: "udp", hostPort: 5353, port: 5001 });
      expect(await portPublishProvider.diff!("dns", dns, moved)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      const upd = (await portPublishProvider.update!("dns", dns, moved)).outs as PortPublishOutputs;
      expect(upd.rules.every((r) => !r.includes("5000"))).toBe(true);
      expect(await flows("udp", 5000)).toEqual([]);
      expect(await udp("outside", HOST, 5353)).toBe("hello5001");
      await remove(upd);
      expect(await ours()).toEqual([]);
    });

    it("adopts its own rules left by an interrupted create; refuses rules of its name that publish something else", async () => {
      const first = await create({ name: "web", hostPort: 0, port: 5000 });
      // The same mapping created again (the engine retrying a create that was cut short):
      // adopted, with the port it already had.
      const again = await create({ name: "web", hostPort: 0, port: 5000 });
      expect(again).toEqual(first);
      expect((await host.sh("iptables -t nat -S BRIDGELAB-DNAT | grep -c -- '-j DNAT'")).trim()).toBe("1");
      const before = await host.sh("iptables-save | grep -v '^#'");
      await expect(portPublishProvider.create(await checked({ name: "web", hostPort: 0, port: 5001 }))).rejects.toThrow(
        /port publish "web" on \S+: rules tagged bridgelab:v2:publish:web:851f30e8 \(this resource's own\) already exist and do not publish this mapping:\n {2}-A BRIDGELAB-DNAT .*\nthey were left by an earlier declaration of this resource/s,
      );
      expect(await host.sh("iptables-save | grep -v '^#'")).toBe(before);
      await remove(first);
      expect(await ours()).toEqual([]);
    });

    it("shares bridgelab's chains with Egress: created concurrently, deleted in either order, nothing left", async () => {
      // Egress writes no FORWARD accept (it warns under DROP): this test runs with ACCEPT.
      await host.sh("iptables -w -P FORWARD ACCEPT");
      try {
        for (const publishFirst of [true, false]) {
          const eg = await egressProvider.check!({}, { connection: host.connection, name: "lab", bridge: "br0", subnet: "172.18.0.0/16" });
          const [e, p] = await Promise.all([egressProvider.create(eg.inputs), portPublishProvider.create(await checked({ name: "web", hostPort: 8080, port: 5000 }))]);
          const [egress, web] = [e.outs as EgressOutputs, p.outs as PortPublishOutputs];
          expect(web.missingRules).toEqual([]);
          // Both directions at once: the outside reaches c0's server, c1 reaches the outside.
          expect(await tcp("outside", HOST, 8080)).toBe("hello");
          expect((await host.sh("ip netns exec c1 ping -n -c1 -W1 203.0.113.1 >/dev/null 2>&1 && echo yes || echo no")).trim()).toBe("yes");
          if (publishFirst) await remove(web);
          await egressProvider.delete!("lab", egress);
          if (!publishFirst) {
            expect(await tcp("outside", HOST, 8080)).toBe("hello");
            await remove(web);
          }
          expect(await ours()).toEqual([]);
        }
        // Egress restored forwarding as it found it (on: this lab turned it on by hand).
        expect((await host.sh("cat /proc/sys/net/ipv4/ip_forward")).trim()).toBe("1");
      } finally {
        await host.sh("iptables -w -P FORWARD DROP");
      }
    });

    it("a create that fails half-way leaves iptables as it found it", async () => {
      // A hand-made jump from POSTROUTING into BRIDGELAB-DNAT: the kernel then refuses a DNAT
      // there, so the last step of the create fails after the other five rules went in.
      await host.sh("iptables -w -t nat -N BRIDGELAB-DNAT && iptables -w -t nat -A POSTROUTING -j BRIDGELAB-DNAT");
      const before = await host.sh("iptables-save | grep -v '^#'");
      try {
        await expect(portPublishProvider.create(await checked({ name: "web", hostPort: 8080, port: 5000 }))).rejects.toThrow(
          /port publish "web" on \S+: `.*` exited \d+: .*RULE_APPEND failed \(Invalid argument\)/s,
        );
        expect(await host.sh("iptables-save | grep -v '^#'")).toBe(before);
        // The undo forgot the owner's record too.
        expect(await records()).toEqual([]);
      } finally {
        await host.sh("iptables -w -t nat -D POSTROUTING -j BRIDGELAB-DNAT; iptables -w -t nat -X BRIDGELAB-DNAT");
      }
      expect(await ours()).toEqual([]);
    });

    // Issue 12: two stacks of one program (dev and test) on one host, same resource names.
    describe("ownership: two stacks, one host", () => {
      afterEach(async () => {
        expect(await ours()).toEqual([]);
        expect(await records()).toEqual([]);
      });

      it("the same NAME in two stacks: two mappings side by side, each read as its own; each delete removes exactly its own rules and record", async () => {
        const before = await save();
        const dev = (await portPublishProvider.create(await of("dev", { name: "web", hostPort: 0, port: 5000 }))).outs as PortPublishOutputs;
        const withDev = await save();
        expect(await records()).toEqual([urn("web", "dev")]);
        // The second stack's create does not adopt the first one's rules: a mapping of its own, on another port.
        const test = (await portPublishProvider.create(await of("test", { name: "web", hostPort: 0, port: 5001 }))).outs as PortPublishOutputs;
        expect(test.hostPort).not.toBe(dev.hostPort);
        expect(dev.rules.every((l) => l.includes(`"${tagOf("web", "dev")}"`))).toBe(true);
        expect(test.rules.every((l) => l.includes(`"${tagOf("web", "test")}"`))).toBe(true);
        expect([dev.rules.length, test.rules.length]).toEqual([6, 6]);
        expect(await records()).toEqual([urn("web", "dev"), urn("web", "test")].sort());
        expect(await tcp("outside", HOST, dev.hostPort)).toBe("hello");
        expect(await tcp("outside", HOST, test.hostPort)).toBe("hello5001");
        // Each reads only its own rules.
        expect(await portPublishProvider.read!("web", dev)).toEqual({ id: "web", props: dev });
        expect(await portPublishProvider.read!("web", test)).toEqual({ id: "web", props: test });

        // The second stack's destroy takes exactly its own: iptables as it was with dev's alone.
        await remove(test);
        expect(await save()).toBe(withDev);
        expect(await records()).toEqual([urn("web", "dev")]);
        expect(await tcp("outside", HOST, dev.hostPort)).toBe("hello");
        // Its state read again: gone; dev's is untouched.
        expect(await portPublishProvider.read!("web", test)).toEqual({ id: "", props: {} });
        expect(await portPublishProvider.read!("web", dev)).toEqual({ id: "web", props: dev });
        await remove(dev);
        expect(await save()).toBe(before);
      });

      it("a static port another stack holds fails in Docker's words naming that stack's mapping, before any change", async () => {
        const dev = await create({ name: "web", hostPort: 8080, port: 5000 });
        const before = await save();
        await expect(portPublishProvider.create(await of("test", { name: "web", hostPort: 8080, port: 5001 }))).rejects.toThrow(
          `port publish "web" on ${host.connection.kind === "ssh" ? "ssh:" : "sandbox:"}`,
        );
        await expect(portPublishProvider.create(await of("test", { name: "web", hostPort: 8080, port: 5001 }))).rejects.toThrow(
          `: Bind for 0.0.0.0:8080 failed: port is already allocated (port publish "web" of stack "dev", project "lab" (${urn("web")}) publishes tcp 0.0.0.0:8080 to 172.18.0.10:5000)`,
        );
        // A holder whose owner record is gone is still a holder, named by its tag.
        await host.sh("mv /run/bridgelab/owners/851f30e8 /run/bridgelab/owners.saved");
        try {
          await expect(portPublishProvider.create(await of("test", { name: "api", hostPort: 8080, port: 5001 }))).rejects.toThrow(
            `(port publish "web" of another bridgelab owner (tag ${tagOf("web")}; its record /run/bridgelab/owners/851f30e8 is gone) publishes tcp 0.0.0.0:8080 to 172.18.0.10:5000)`,
          );
        } finally {
          await host.sh("mv /run/bridgelab/owners.saved /run/bridgelab/owners/851f30e8");
        }
        expect(await save()).toBe(before);
        expect(await records()).toEqual([urn("web")]);
        await remove(dev);
      });

      it("dynamic allocation treats every other owner's mappings as taken, 0.1's and another stack's", async () => {
        await host.sh('sysctl -qw net.ipv4.ip_local_port_range="41000 41003"');
        const made: PortPublishOutputs[] = [];
        try {
          made.push(await create({ name: "old", owner: undefined, port: 5000 })); // 0.1's state: no owner
          made.push(await of("dev", { name: "web", port: 5000 }).then(async (i) => (await portPublishProvider.create(i)).outs as PortPublishOutputs));
          made.push(await of("test", { name: "web", port: 5000 }).then(async (i) => (await portPublishProvider.create(i)).outs as PortPublishOutputs));
          expect(made.map((m) => [m.owner ?? "0.1", m.hostPort])).toEqual([
            ["0.1", 41000],
            [urn("web", "dev"), 41001],
            [urn("web", "test"), 41002],
          ]);
          expect(made[0].rules.every((l) => l.includes('"bridgelab:v1:publish:old"'))).toBe(true);
        } finally {
          for (const m of made.reverse()) await remove(m);
          await host.sh('sysctl -qw net.ipv4.ip_local_port_range="32768 60999"');
        }
      });

      it("0.1's mapping is refused to a new owner naming 0.1, and re-tagged in place by its own stack's update", async () => {
        const old = await create({ name: "legacy", owner: undefined, hostPort: 8085, port: 5000 });
        forgetPortClaims(connectionIdentity(host.connection)); // 0.1's program is not this one
        expect(old.rules.every((l) => l.includes('"bridgelab:v1:publish:legacy"'))).toBe(true);
        expect(await records()).toEqual([]);
        const before = await save();
        await expect(portPublishProvider.create(await of("test", { name: "legacy", hostPort: 0, port: 5000 }))).rejects.toThrow(
          /port publish "legacy" on \S+: a mapping of that name already exists and was made by bridgelab 0\.1 \(tag bridgelab:v1:publish:legacy\), which did not record its owner; only the stack whose state holds it may take it; bridgelab never takes another owner's objects: .*re-tags it as its own .*:\n {2}-A BRIDGELAB-DNAT -p tcp -m tcp --dport 8085 /s,
        );
        expect(await save()).toBe(before);

        // Its own stack's up under 0.2: Diff sees the owner come (an update), Update re-tags in one script.
        const news = await of("dev", { name: "legacy", hostPort: 8085, port: 5000 });
        expect(await portPublishProvider.diff!("legacy", old, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        const upd = (await portPublishProvider.update!("legacy", old, news)).outs as PortPublishOutputs;
        expect(upd).toMatchObject({ owner: urn("legacy"), hostPort: 8085, missingRules: [] });
        expect(upd.rules).toEqual(old.rules.map((l) => l.replace('"bridgelab:v1:publish:legacy"', `"${tagOf("legacy")}"`)));
        expect(await save()).toBe(before.replace(/"bridgelab:v1:publish:legacy"/g, `"${tagOf("legacy")}"`));
        expect(await records()).toEqual([urn("legacy")]);
        expect(await tcp("outside", HOST, 8085)).toBe("hello");
        // The 0.1 state no longer finds rules of its own; the new state does.
        expect((await portPublishProvider.read!("legacy", old)).id).toBe("");
        expect(await portPublishProvider.read!("legacy", upd)).toEqual({ id: "legacy", props: upd });
        await remove(upd);
      });

      it("a new name made before the old one goes (same owner): the old one's delete keeps the owner's record, the new mapping serves", async () => {
        const web = await create({ name: "web", hostPort: 8080, port: 5000 });
        const renamed = await of("dev", { name: "web2", owner: urn("web"), hostPort: 8080, port: 5000 });
        expect(await portPublishProvider.diff!("web", web, renamed)).toEqual({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
        // Its own rules under the old NAME do not hold the port against it.
        const web2 = (await portPublishProvider.create(renamed)).outs as PortPublishOutputs;
        await remove(web);
        expect(await records()).toEqual([urn("web")]);
        expect(await tcp("outside", HOST, 8080)).toBe("hello");
        // What is left is web2's six rules, under the same owner's id.
        expect((await ours()).filter((l) => l.includes("publish:")).sort()).toEqual([...web2.rules].sort());
        expect(web2.rules.every((l) => l.includes('"bridgelab:v2:publish:web2:851f30e8"'))).toBe(true);
        await remove(web2);
      });
    });

    // Issue 12, point 5: a new host port (or protocol, or host address) is an update that checks
    // the new port first: when it is taken, the old mapping keeps serving.
    describe("a new host port, protocol or address: in place, the old mapping serving until the new one exists", () => {
      afterEach(async () => {
        expect(await ours()).toEqual([]);
        expect(await records()).toEqual([]);
      });

      it("8080 → 9099 with 9099 listened on: the update fails in Docker's words and 8080 still answers; once 9099 is free, it moves", async () => {
        const web = await create({ name: "web", hostPort: 8080, port: 5000 });
        const pid = Number((await host.sh("setsid socat TCP-LISTEN:9099,fork,reuseaddr SYSTEM:true >/dev/null 2>&1 </dev/null & echo $!")).trim());
        let outs = web;
        try {
          await host.sh("for i in $(seq 50); do ss -Hltn | grep -q ':9099 ' && exit 0; sleep 0.1; done; exit 1");
          const moved = await of("dev", { name: "web", hostPort: 9099, port: 5000 });
          // Preview says update, not replace.
          expect(await portPublishProvider.diff!("web", web, moved)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
          const before = await save();
          await expect(portPublishProvider.update!("web", web, moved)).rejects.toThrow(
            /port publish "web" on \S+: Bind for 0\.0\.0\.0:9099 failed: port is already allocated \(a socket listens there: LISTEN .*:9099 .*socat.*\)$/,
          );
          expect(await save()).toBe(before);
          expect(await tcp("outside", HOST, 8080)).toBe("hello");
          expect(await portPublishProvider.read!("web", web)).toEqual({ id: "web", props: web });

          await host.sh(`kill -s KILL -- -${pid} 2>/dev/null; for i in $(seq 50); do ss -Hltn | grep -q ':9099 ' || exit 0; sleep 0.1; done; exit 1`);
          outs = (await portPublishProvider.update!("web", web, moved)).outs as PortPublishOutputs;
          expect(outs).toMatchObject({ hostPort: 9099, requestedHostPort: 9099, missingRules: [] });
          expect(outs.rules).toEqual(web.rules.map((l) => l.replace("--dport 8080 ", "--dport 9099 ")));
          expect(await tcp("outside", HOST, 9099)).toBe("hello");
          expect(await tcp("outside", HOST, 8080)).toBe("");
          expect(await portPublishProvider.read!("web", outs)).toEqual({ id: "web", props: outs });
          expect(await portPublishProvider.diff!("web", outs, moved)).toMatchObject({ changes: false });
        } finally {
          await host.sh(`kill -s KILL -- -${pid} 2>/dev/null; true`);
          await remove(outs);
        }
      });

      it("a port another mapping holds: refused, nothing changed; udp ↔ tcp and a host address change in place; a dynamic port is kept unless the protocol changes", async () => {
        const other = await create({ name: "api", hostPort: 9098, port: 5001 });
        const web = await create({ name: "web", hostPort: 0, port: 5000 });
        const before = await save();
        await expect(portPublishProvider.update!("web", web, await of("dev", { name: "web", hostPort: 9098, port: 5000 }))).rejects.toThrow(
          `Bind for 0.0.0.0:9098 failed: port is already allocated (port publish "api" of stack "dev", project "lab" (${urn("api")}) publishes tcp 0.0.0.0:9098 to 172.18.0.10:5001)`,
        );
        expect(await save()).toBe(before);
        expect(await tcp("outside", HOST, web.hostPort)).toBe("hello");
        // The host address: still dynamic, a new port is allocated (the old one counts as taken).
        const onHost = (await portPublishProvider.update!("web", web, await of("dev", { name: "web", hostIp: HOST, port: 5000 }))).outs as PortPublishOutputs;
        expect(onHost.rules[0]).toContain(`-d ${HOST}/32 `);
        expect(onHost.hostPort).not.toBe(web.hostPort);
        expect(await tcp("outside", HOST, onHost.hostPort)).toBe("hello");
        // The container side only: the allocated port is kept.
        const port5001 = (await portPublishProvider.update!("web", onHost, await of("dev", { name: "web", hostIp: HOST, port: 5001 }))).outs as PortPublishOutputs;
        expect(port5001.hostPort).toBe(onHost.hostPort);
        // tcp → udp: a udp port, the tcp rules gone.
        const dns = (await portPublishProvider.update!("web", port5001, await of("dev", { name: "web", protocol: "udp", hostIp: HOST, port: 5000 }))).outs as PortPublishOutputs;
        expect(dns.rules.every((l) => l.includes(" -p udp "))).toBe(true);
        expect((await ours()).filter((l) => l.includes(`"${tagOf("web")}"`))).toHaveLength(6);
        expect(await udp("outside", HOST, dns.hostPort)).toBe("hello");
        expect(await tcp("outside", HOST, port5001.hostPort)).toBe("");
        await remove(dns);
        await remove(other);
      });
    });
  });
});
