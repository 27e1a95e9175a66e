// The library users import. Only re-exports.
export * from "./resources/bridge";
export * from "./resources/bridgeIsolation";
export * from "./resources/egress";
export * from "./resources/netNamespace";
export * from "./resources/process";
export * from "./resources/vethPair";
export type { HostConnection, LocalConnection, SandboxConnection, SshConnection, SsmConnection } from "./transport/connection";
export { createSandbox, deleteSandbox, ensureSandbox, listSandboxes, sandboxExists } from "./sandbox/sandboxHost";
export * from "./resources/labProbe";
export * from "./resources/portPublish";
export * from "./components";
export * from "./resources/ecsHostCheck";
export * from "./host/dockerParsers";
export { DOCKER_PS_FORMAT, dockerHostCheckScript, parseDockerHostCheck } from "./host/dockerHostScripts";
export type { ContainerReport, DockerHostCheckOptions, DockerHostReport, HostPortMapping } from "./host/dockerHostScripts";
export * from "./ecs";
