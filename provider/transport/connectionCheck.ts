import { HOST_KEY_RULE, parseHostKeyPin } from "./sshHostKey";
import { SSH_HOST_RULE, SSH_USER_RULE, isSshHost, isSshUser } from "./sshOptions";
import { SANDBOX_NAME_RULE, isSandboxName } from "../sandbox/sandboxLayout";
import { SSM_INSTANCE_ID_RULE, SSM_PROFILE_RULE, SSM_REGION_RULE, isAwsProfile, isAwsRegion, isSsmInstanceId } from "./ssmOptions";

/**
 * Validation of a `connection` input. Pure: no I/O (the environment is a parameter, read
 * only for `$SSH_AUTH_SOCK`). Every problem names the field, the value and the rule; secret
 * fields (privateKey, passphrase, password) are described, never echoed.
 */

const KINDS = ["local", "sandbox", "ssh", "ssm"] as const;

const FIELDS: Record<(typeof KINDS)[number], readonly string[]> = {
  local: ["kind", "sudo"],
  sandbox: ["kind", "name"],
  ssh: [
    "kind",
    "host",
    "port",
    "user",
    "privateKey",
    "passphrase",
    "password",
    "agent",
    "hostKey",
    "insecureSkipHostKeyCheck",
    "jumpHost",
    "proxyCommand",
    "sudo",
    "readyTimeoutMs",
    "keepaliveIntervalMs",
    "keepaliveCountMax",
    "idleTimeoutMs",
    "dialAttempts",
  ],
  ssm: ["kind", "instanceId", "region", "profile"],
};

const MAX_JUMPS = 4;

/** Problems with `c`, one sentence each; empty when it is valid. */
export function checkConnection(c: unknown, env: NodeJS.ProcessEnv = process.env, field = "connection"): string[] {
  if (typeof c !== "object" || c === null || Array.isArray(c)) {
    return [`${field} must be an object with a "kind" of ${KINDS.map((k) => `"${k}"`).join(", ")}; got ${show(c)}`];
  }
  const o = c as Record<string, unknown>;
  if (!KINDS.includes(o.kind as never)) {
    return [`${field}.kind ${show(o.kind)} is unknown: expected one of ${KINDS.map((k) => `"${k}"`).join(", ")}`];
  }
  const kind = o.kind as (typeof KINDS)[number];
  const problems = unknownFields(o, FIELDS[kind], field);
  switch (kind) {
    case "local":
      optionalBoolean(o, "sudo", field, problems);
      break;
    case "sandbox":
      if (typeof o.name !== "string" || !isSandboxName(o.name)) {
        problems.push(`${field}.name ${show(o.name)} is invalid: a sandbox name is ${SANDBOX_NAME_RULE}`);
      }
      break;
    case "ssh":
      checkSsh(o, env, field, problems, 0);
      break;
    case "ssm":
      checkSsm(o, field, problems);
      break;
  }
  return problems;
}

/** An SSM connection holds no secret: credentials come from the AWS SDK's chain, never from inputs. */
function checkSsm(o: Record<string, unknown>, field: string, problems: string[]): void {
  if (o.instanceId === undefined || o.instanceId === "") problems.push(`${field}.instanceId is missing: give ${SSM_INSTANCE_ID_RULE}`);
  else if (typeof o.instanceId !== "string" || !isSsmInstanceId(o.instanceId)) {
    problems.push(`${field}.instanceId ${show(o.instanceId)} is invalid: expected ${SSM_INSTANCE_ID_RULE}`);
  }
  if (o.region !== undefined && (typeof o.region !== "string" || !isAwsRegion(o.region))) {
    problems.push(`${field}.region ${show(o.region)} is invalid: expected ${SSM_REGION_RULE}`);
  }
  if (o.profile !== undefined && (typeof o.profile !== "string" || !isAwsProfile(o.profile))) {
    problems.push(`${field}.profile ${show(o.profile)} is invalid: a profile name is ${SSM_PROFILE_RULE}`);
  }
  if (["accessKeyId", "secretAccessKey", "sessionToken", "credentials"].some((k) => o[k] !== undefined)) {
    problems.push(
      `${field} must not carry AWS credentials (values not shown): they come from the AWS SDK's chain ` +
        `(AWS_ACCESS_KEY_ID…, AWS_PROFILE or ${field}.profile, SSO, a container or instance role)`,
    );
  }
}

function checkSsh(o: Record<string, unknown>, env: NodeJS.ProcessEnv, field: string, problems: string[], depth: number): void {
  const f = (name: string) => `${field}.${name}`;
  if (o.host === undefined || o.host === "") problems.push(`${f("host")} is missing: give ${SSH_HOST_RULE}`);
  else if (typeof o.host !== "string" || !isSshHost(o.host)) problems.push(`${f("host")} ${show(o.host)} is invalid: expected ${SSH_HOST_RULE}`);

  if (o.port !== undefined && !(Number.isInteger(o.port) && (o.port as number) >= 1 && (o.port as number) <= 65535)) {
    problems.push(`${f("port")} ${show(o.port)} is invalid: a port is an integer 1–65535`);
  }
  if (o.user !== undefined && (typeof o.user !== "string" || !isSshUser(o.user))) {
    problems.push(`${f("user")} ${show(o.user)} is invalid: a user name is ${SSH_USER_RULE}`);
  }

  // Secrets: say what is wrong without showing them.
  if (o.privateKey !== undefined) {
    if (typeof o.privateKey !== "string" || o.privateKey === "") problems.push(`${f("privateKey")} must be a non-empty string (${typeOf(o.privateKey)} given)`);
    else if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(o.privateKey)) {
      problems.push(`${f("privateKey")} (secret, not shown) is not a private key: expected PEM or OpenSSH text starting with "-----BEGIN … PRIVATE KEY-----"`);
    }
  }
  if (o.passphrase !== undefined) {
    if (typeof o.passphrase !== "string") problems.push(`${f("passphrase")} must be a string (${typeOf(o.passphrase)} given)`);
    else if (o.privateKey === undefined) problems.push(`${f("passphrase")} is set but ${f("privateKey")} is not: a passphrase only unlocks a private key`);
  }
  if (o.password !== undefined && typeof o.password !== "string") problems.push(`${f("password")} must be a string (${typeOf(o.password)} given)`);
  if (o.agent !== undefined && (typeof o.agent !== "string" || o.agent === "")) {
    problems.push(`${f("agent")} ${show(o.agent)} is invalid: expected the path of an ssh-agent socket`);
  }
  if (o.privateKey === undefined && o.password === undefined && !o.agent && !env.SSH_AUTH_SOCK) {
    problems.push(
      `${field} has no credentials: set ${f("privateKey")}, ${f("password")} or ${f("agent")} (SSH_AUTH_SOCK is not set, so no agent is used by default)`,
    );
  }

  if (o.hostKey !== undefined) {
    if (typeof o.hostKey !== "string") problems.push(`${f("hostKey")} ${show(o.hostKey)} is invalid: expected ${HOST_KEY_RULE}`);
    else {
      try {
        parseHostKeyPin(o.hostKey);
      } catch (e) {
        problems.push(`${f("hostKey")}: ${(e as Error).message}`);
      }
    }
  }
  optionalBoolean(o, "insecureSkipHostKeyCheck", field, problems);
  if (o.insecureSkipHostKeyCheck === true && o.hostKey !== undefined) {
    problems.push(`${f("hostKey")} and ${f("insecureSkipHostKeyCheck")} are both set: pin the key or skip the check, not both`);
  }

  if (o.proxyCommand !== undefined) {
    if (typeof o.proxyCommand !== "string" || o.proxyCommand.trim() === "") problems.push(`${f("proxyCommand")} ${show(o.proxyCommand)} is invalid: expected a shell command`);
    else {
      const bad = /%[^hpr%]/.exec(o.proxyCommand.replace(/%%/g, ""));
      if (bad) problems.push(`${f("proxyCommand")} has an unknown escape ${bad[0]}: only %h, %p, %r and %% are replaced`);
    }
  }
  if (o.jumpHost !== undefined) {
    if (o.proxyCommand !== undefined) problems.push(`${f("jumpHost")} and ${f("proxyCommand")} are both set: choose one way to reach the host`);
    if (depth + 1 >= MAX_JUMPS) problems.push(`${f("jumpHost")} nests too deep: at most ${MAX_JUMPS - 1} jump hosts`);
    else {
      const j = o.jumpHost;
      if (typeof j !== "object" || j === null || (j as Record<string, unknown>).kind !== "ssh") {
        problems.push(`${f("jumpHost")} must be an ssh connection ({ kind: "ssh", host, … }); got ${show(j)}`);
      } else {
        const jo = j as Record<string, unknown>;
        problems.push(...unknownFields(jo, FIELDS.ssh, f("jumpHost")));
        checkSsh(jo, env, f("jumpHost"), problems, depth + 1);
        if (jo.sudo !== undefined) problems.push(`${f("jumpHost")}.sudo is meaningless: nothing runs on a jump host`);
      }
    }
  }

  optionalBoolean(o, "sudo", field, problems);
  optionalInteger(o, "readyTimeoutMs", 1, 600_000, field, problems);
  optionalInteger(o, "keepaliveIntervalMs", 0, 3_600_000, field, problems);
  optionalInteger(o, "keepaliveCountMax", 1, 100, field, problems);
  optionalInteger(o, "idleTimeoutMs", 0, 3_600_000, field, problems);
  optionalInteger(o, "dialAttempts", 1, 100, field, problems);
}

function unknownFields(o: Record<string, unknown>, known: readonly string[], field: string): string[] {
  const problems: string[] = [];
  for (const k of Object.keys(o)) {
    if (known.includes(k) || o[k] === undefined) continue;
    const near = known.find((n) => n.toLowerCase() === k.toLowerCase());
    problems.push(`${field}.${k} is not a field of a "${String(o.kind)}" connection${near ? ` (did you mean ${near}?)` : `; known fields: ${known.join(", ")}`}`);
  }
  return problems;
}

function optionalBoolean(o: Record<string, unknown>, name: string, field: string, problems: string[]): void {
  if (o[name] !== undefined && typeof o[name] !== "boolean") problems.push(`${field}.${name} ${show(o[name])} is invalid: expected true or false`);
}

function optionalInteger(o: Record<string, unknown>, name: string, min: number, max: number, field: string, problems: string[]): void {
  const v = o[name];
  if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
    problems.push(`${field}.${name} ${show(v)} is invalid: expected an integer ${min}–${max}`);
  }
}

function show(v: unknown): string {
  if (v === undefined) return "(missing)";
  // Objects are named, not printed: they may hold secrets (a jump host's password).
  const s = typeof v === "string" ? JSON.stringify(v) : typeof v === "object" && v !== null ? `(${typeOf(v)})` : String(v);
  return s.length > 80 ? s.slice(0, 79) + "…" : s;
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}
