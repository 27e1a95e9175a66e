import * as pulumi from "@pulumi/pulumi";
import { Container, Network } from "../provider";
import { helloServerCommand } from "../provider/host/helloServer";
import { tcpForwardCommand } from "../provider/host/tcpForward";
import { connectionFromConfig } from "../provider/config/connectionFromConfig";
import { verificationFromConfig } from "./verification";

/**
 * Lab "docker-modes": Docker's network modes (seeds 001 and 002), built from namespaces:
 *
 *   network "bridge" (docker0, 172.17.0.0/16)
 *     web       bridge mode, `docker run -p 8080:80 --name web`: 172.17.0.2, published 8080→80
 *     backend   on "bridge" and on "database" (eth0 and eth1), its API published on a dynamic port
 *     app       bridge mode; its server listens on 127.0.0.1:9000 only
 *     sidecar   container mode (`--network container:app`): shares app's namespace and relays
 *               app-address:9090 to 127.0.0.1:9000 — the two talk over localhost
 *   network "database" (br-database, 172.19.0.0/16), isolated from "bridge"
 *     db        only here: backend reaches it, web cannot
 *   hostsvc     host mode (`--network host`): its server listens on the host's own port 8081
 *   nonet       none mode (`--network none`): a loopback and nothing else
 *
 * Config (bridgelab:KEY), all optional:
 *   defaultNetwork bridge · defaultBridge docker0 · defaultSubnet 172.17.0.0/16
 *   databaseNetwork database · databaseBridge br-database · databaseSubnet 172.19.0.0/16
 *   isolate true (both networks isolated from each other) · mtu 1500
 *   webName web · webPort 80 · webHostPort 8080 · webIndex 0 (web takes 172.17.0.2, as in the seed)
 *   backendName backend · backendPort 8000 · backendHostPort 0 (dynamic)
 *   dbName db · dbPort 5432
 *   appName app · appPort 9000 · sidecarName sidecar · sidecarPort 9090
 *   hostName hostsvc · hostServicePort 8081 · noneName nonet
 *   and verification.ts's publicAddress, egressTarget, probeFromOutside, verify.
 */
export function dockerModes(config: pulumi.Config): Record<string, pulumi.Output<unknown>> {
  const connection = connectionFromConfig(config);
  const num = (key: string, dflt: number) => config.getNumber(key) ?? dflt;
  const str = (key: string, dflt: string) => config.get(key) ?? dflt;
  const mtu = num("mtu", 1500);
  const isolate = config.getBoolean("isolate") ?? true;

  const bridge = new Network("default", {
    connection,
    name: str("defaultNetwork", "bridge"),
    bridgeName: str("defaultBridge", "docker0"),
    subnet: str("defaultSubnet", "172.17.0.0/16"),
    mtu,
    isolated: isolate,
  });
  const database = new Network("database", {
    connection,
    name: str("databaseNetwork", "database"),
    bridgeName: str("databaseBridge", "br-database"),
    subnet: str("databaseSubnet", "172.19.0.0/16"),
    mtu,
    isolated: isolate,
  });

  const hello = (port: number, name: string) => helloServerCommand(port, `hello from ${name}`);
  const names = {
    web: str("webName", "web"),
    backend: str("backendName", "backend"),
    db: str("dbName", "db"),
    app: str("appName", "app"),
    sidecar: str("sidecarName", "sidecar"),
    host: str("hostName", "hostsvc"),
    none: str("noneName", "nonet"),
  };
  const ports = { web: num("webPort", 80), backend: num("backendPort", 8000), db: num("dbPort", 5432), app: num("appPort", 9000), sidecar: num("sidecarPort", 9090), host: num("hostServicePort", 8081) };

  const web = new Container("web", {
    connection,
    name: names.web,
    network: { network: bridge, index: num("webIndex", 0) },
    command: hello(ports.web, names.web),
    expose: [{ port: ports.web, probe: "http" }],
    ports: [{ hostPort: num("webHostPort", 8080), port: ports.web }],
  });
  const backend = new Container("backend", {
    connection,
    name: names.backend,
    network: bridge,
    networks: [database],
    command: hello(ports.backend, names.backend),
    expose: [{ port: ports.backend, probe: "http" }],
    ports: [{ hostPort: num("backendHostPort", 0), port: ports.backend }],
  });
  const db = new Container("db", {
    connection,
    name: names.db,
    network: database,
    command: hello(ports.db, names.db),
    expose: [{ port: ports.db, probe: "tcp" }],
  });
  const app = new Container("app", {
    connection,
    name: names.app,
    network: bridge,
    command: helloServerCommand(ports.app, `hello from ${names.app}`, "127.0.0.1"),
    expose: [{ port: ports.app, bind: "localhost", probe: "http" }],
  });
  const sidecar = new Container("sidecar", {
    connection,
    name: names.sidecar,
    network: { container: app },
    command: tcpForwardCommand(ports.sidecar, "127.0.0.1", ports.app),
    expose: [{ port: ports.sidecar, probe: "http" }],
  });
  const hostsvc = new Container("hostsvc", {
    connection,
    name: names.host,
    network: "host",
    command: hello(ports.host, names.host),
    expose: [{ port: ports.host, probe: "http" }],
  });
  const nonet = new Container("nonet", { connection, name: names.none, network: "none" });

  const networks = [bridge, database];
  const containers = [web, backend, db, app, sidecar, hostsvc, nonet];
  const v = verificationFromConfig(config, connection, networks, containers);
  return {
    containers: pulumi.all(containers.map((c) => c.summary)).apply((s) => Object.fromEntries(s.map((c) => [c.name, c]))),
    networks: pulumi.all(networks.map((n) => n.inspect)).apply((l) => Object.fromEntries(l.map((i) => [i.Name, i]))),
    topology: v.topology,
    expectedPaths: v.expectedPaths,
    ...(v.verification ? { verification: v.verification, verificationSummary: v.verificationSummary! } : {}),
  };
}
