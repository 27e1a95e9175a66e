import * as pulumi from "@pulumi/pulumi";
import * as bl from "bridgelab";

// What `docker run -p` builds, on a host reached over SSH: Docker's default bridge network
// (docker0, 172.17.0.0/16, egress NAT) and two containers, one published on a static host
// port (8080->80) and one on a dynamic port (hostPort 0: a free one, as `docker run -p 80`).
const config = new pulumi.Config();

// The private key stays a secret: the connection holding it is stored encrypted in the state.
const connection = pulumi.output({
  kind: "ssh" as const,
  host: config.require("host"),
  port: config.getNumber("port") ?? 22,
  user: config.get("user") ?? "root",
  sudo: config.getBoolean("sudo") ?? false,
  privateKey: config.requireSecret("privateKey"),
  hostKey: config.require("hostKey"),
  proxyCommand: config.get("proxyCommand"),
});

// docker network create --subnet 172.17.0.0/16 bridge   (bridge docker0, gateway 172.17.0.1)
const docker0 = new bl.Network("bridge", { connection, bridgeName: "docker0", subnet: config.get("subnet") ?? "172.17.0.0/16" });

// docker run -d --name web -p 8080:80 ...
const web = new bl.Container("web", {
  connection,
  network: { network: docker0, index: 0 },
  command: bl.helloServerCommand(80, "hello from web"),
  ports: [{ hostPort: config.getNumber("webHostPort") ?? 8080, port: 80 }],
});
// docker run -d --name api -p 80 ...   (the host port is allocated on the host)
const api = new bl.Container("api", {
  connection,
  network: { network: docker0, index: 1 },
  command: bl.helloServerCommand(80, "hello from api"),
  ports: [{ hostPort: config.getNumber("apiHostPort") ?? 0, port: 80 }],
});

// Checked on the host after up (`up` fails naming any broken path): the published ports answer
// on the host's own address, also from the other container (hairpin NAT); the containers reach
// each other across docker0. A dynamic port reads 0 until the host has allocated it (as in a
// preview): its probes join once it is known.
const webPort = web.publishes[0].hostPort;
const apiPort = api.publishes[0].hostPort;
const probes = pulumi.all([webPort, apiPort, web.address]).apply(([webPort, apiPort, webAddress]) => [
  { name: "api-to-web", from: "api", kind: "ping" as const, target: webAddress! },
  ...(webPort ? [{ name: "web-published", from: "host", kind: "http" as const, target: `${docker0.gateway}:${webPort}` }] : []),
  ...(apiPort
    ? [
        { name: "api-published", from: "host", kind: "http" as const, target: `${docker0.gateway}:${apiPort}` },
        { name: "web-to-api-published", from: "web", kind: "http" as const, target: `${docker0.gateway}:${apiPort}` },
      ]
    : []),
]);
const verification = new bl.LabProbe("verification", { connection, probes }, { dependsOn: [docker0, web, api] });

// `docker ps`-like: "0.0.0.0:8080->80/tcp", "0.0.0.0:32768->80/tcp"
export const published = { web: web.summary.published, api: api.summary.published };
export const apiHostPort = apiPort;
export const containers = { web: web.summary, api: api.summary };
export const verified = verification.summary;
