/**
 * How a resource reaches its host. This is a resource input (`connection`), so it is plain
 * data: secrets (keys, passwords) arrive here as secret inputs and are never captured in
 * the serialized provider.
 */
export type HostConnection = LocalConnection | SandboxConnection | SshConnection | SsmConnection;

/** This machine. Changes its real networking: meant for disposable VMs. */
export interface LocalConnection {
  kind: "local";
  /** Run through `sudo -n`. @default false */
  sudo?: boolean;
}

/** A sandbox host on this machine (`npx bridgelab sandbox create NAME`). */
export interface SandboxConnection {
  kind: "sandbox";
  name: string;
}

export interface SshConnection {
  kind: "ssh";
  host: string;
  /** @default 22 */
  port?: number;
  /** @default "root" */
  user?: string;
  /** OpenSSH or PEM private key text (pass it as a secret). */
  privateKey?: string;
  /** Passphrase of privateKey (secret). */
  passphrase?: string;
  /** Password authentication (secret). */
  password?: string;
  /** ssh-agent socket path. @default $SSH_AUTH_SOCK when no key or password is given */
  agent?: string;
  /**
   * The pinned host key: an OpenSSH public key line (`ssh-ed25519 AAAA…`) or its
   * `SHA256:…` fingerprint as `ssh-keygen -lf` prints it. Required unless
   * insecureSkipHostKeyCheck is true.
   */
  hostKey?: string;
  /** Explicit opt-out of host key verification. @default false */
  insecureSkipHostKeyCheck?: boolean;
  /** Connect through this host first (like `ssh -J`). */
  jumpHost?: SshConnection;
  /**
   * A local command whose stdin/stdout carry the SSH stream (like `ssh -o ProxyCommand=`):
   * `%h` and `%p` are replaced by host and port. Run with `sh -c`.
   */
  proxyCommand?: string;
  /** Run scripts through `sudo -n` (for non-root users). @default false */
  sudo?: boolean;
  /**
   * Handshake and authentication deadline. This and the keepalive, idle and dial settings
   * below belong to the pooled connection: the transport that dials it sets them.
   * @default 20000
   */
  readyTimeoutMs?: number;
  /** @default 15000; 0 disables */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection is declared lost. @default 3 */
  keepaliveCountMax?: number;
  /** Close the pooled connection after this long without a command running. @default 10000 */
  idleTimeoutMs?: number;
  /** Connection attempts before giving up (not for auth or host key failures), 1–100. @default 3 */
  dialAttempts?: number;
}

/**
 * An EC2 instance (or any SSM managed node) reached through AWS Systems Manager Run Command:
 * every script is one `AWS-RunShellScript` command, run as root by the SSM agent. No port is
 * opened and no key is kept: the caller's AWS credentials come from the SDK's standard chain
 * (environment, shared config and SSO, container or instance role), never from this object.
 * Output is limited by SSM to 24,000 characters of stdout and 8,000 of stderr per run.
 */
export interface SsmConnection {
  kind: "ssm";
  /** The managed node: "i-" and 8 or 17 hex digits. */
  instanceId: string;
  /** @default the SDK's chain: AWS_REGION, then the profile's region */
  region?: string;
  /** A named profile of ~/.aws/config. @default the SDK's chain: AWS_PROFILE, else "default" */
  profile?: string;
}
