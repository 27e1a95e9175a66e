// The library users import: `import { Bridge, NetNamespace } from "bridgelab"`. Only re-exports.
// EcsBridgeService (on @pulumi/aws) is in "bridgelab/ecs", so programs without it need no @pulumi/aws.
import { assertOnePulumi } from "./config/onePulumi";
assertOnePulumi();

export * from "./resources/bridge";
export * from "./resources/bridgeIsolation";
export * from "./resources/egress";
export * from "./resources/netNamespace";
export * from "./resources/process";
export * from "./resources/vethPair";
export * from "./resources/labProbe";
export * from "./resources/portPublish";
export * from "./resources/ecsHostCheck";
export type { HostConnection, LocalConnection, SandboxConnection, SshConnection, SsmConnection } from "./transport/connection";
export type { HostConnectionInput, LocalConnectionInput, SandboxConnectionInput, SshConnectionInput, SsmConnectionInput } from "./resources/connectionInput";
export { connectionFromConfig } from "./config/connectionFromConfig";
// @pulumi/command's remote.ConnectionArgs → an SSH connection; declares the shape, imports nothing of @pulumi/command.
export { sshFromCommandConnection } from "./config/sshFromCommandConnection";
export type { CommandConnectionArgs, CommandProxyConnectionArgs, SshFromCommandOptions } from "./config/sshFromCommandConnection";
export { CommandConnectionError } from "./config/commandConnectionMapping";
export { createSandbox, deleteSandbox, ensureSandbox, listSandboxes, sandboxExists } from "./sandbox/sandboxHost";
export type { SandboxInfo } from "./sandbox/sandboxHost";
export { DockerMissingError, dockerMissing, sandboxDockerStarted, startSandboxDocker, stopSandboxDocker } from "./sandbox/sandboxDocker";
export type { SandboxDocker, StartSandboxDockerOptions } from "./sandbox/sandboxDocker";
export { helloServerCommand } from "./host/helloServer";
// What a remote.Command runs to make a fresh VM ready for bridgelab (installs, then bridgelab's own check).
export { hostPreparationScript } from "./host/hostPreparation";
export type { ExtraTool } from "./host/hostPreparation";
export * from "./components";
export * from "./host/dockerParsers";
export { DOCKER_PS_FORMAT, dockerHostCheckScript, parseDockerHostCheck } from "./host/dockerHostScripts";
export type { ContainerReport, DockerHostCheckOptions, DockerHostReport, HostPortMapping } from "./host/dockerHostScripts";
