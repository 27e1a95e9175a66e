import type { HostConnection } from "../../provider/transport/connection";
import { closeAllSshConnections } from "../../provider/transport/sshPool";
import { makeSandbox } from "./sandboxFixture";
import { SshdHost, startSshd } from "./sshd";

/**
 * A sandbox host reached through each transport: resource tests run once per entry, so
 * everything is proven over the sandbox transport (nsenter) and over real SSH (sshd -i
 * inside the sandbox host, no port opened).
 *
 *   describe.each(TRANSPORTS)("VethPair over %s", (kind) => {
 *     const host = useHost(kind, "it-veth");
 *     it("...", async () => { host.connection; await host.sh("ip -j link"); });
 *   });
 */
export const TRANSPORTS = ["sandbox", "ssh"] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

export interface TestHost {
  /** The sandbox host's name. */
  name: string;
  /** How resources reach it. */
  connection: HostConnection;
  /** Run a script inside the host from outside the provider (assertions, causing drift). */
  sh(script: string): Promise<string>;
  /** Run a script in the host's outside (the stand-in internet, 198.51.100.1 / 203.0.113.1). */
  outside(script: string): Promise<string>;
}

/** Create the host in beforeAll and delete it (and its sshd) in afterAll. */
export function useHost(kind: TransportKind, prefix: string): TestHost {
  let box: Awaited<ReturnType<typeof makeSandbox>> | undefined;
  let sshd: SshdHost | undefined;
  const host: TestHost = {
    name: "",
    connection: { kind: "local" },
    sh: (s) => box!.sh(s),
    outside: (s) => box!.outside(s),
  };
  beforeAll(async () => {
    box = await makeSandbox(`${prefix}-${kind === "ssh" ? "s" : "n"}`);
    host.name = box.name;
    if (kind === "ssh") {
      sshd = await startSshd(box.name);
      host.connection = sshd.connection();
    } else {
      host.connection = box.connection;
    }
  });
  afterAll(async () => {
    if (kind === "ssh") await closeAllSshConnections();
    await sshd?.stop();
    await box?.dispose();
  });
  return host;
}
