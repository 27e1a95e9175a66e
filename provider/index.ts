// The library users import. Only re-exports.
export * from "./resources/bridge";
export * from "./resources/netNamespace";
export type { HostConnection, LocalConnection, SandboxConnection, SshConnection } from "./transport/connection";
export { createSandbox, deleteSandbox, ensureSandbox, listSandboxes, sandboxExists } from "./sandbox/sandboxHost";
