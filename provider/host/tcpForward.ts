import { checkIpAddress } from "./subnets";

/**
 * The argv of a TCP relay for labs: accepts on `listenPort` and forwards each connection to
 * `targetIp:targetPort`. In container mode it shows two workloads sharing one namespace:
 * a sidecar relaying 0.0.0.0:9090 to the app on 127.0.0.1:9000.
 *
 *   socat TCP-LISTEN:9090,fork,reuseaddr TCP:127.0.0.1:9000
 *
 * Run it with the Process resource. Needs socat on the host.
 */
export function tcpForwardCommand(listenPort: number, targetIp: string, targetPort: number): string[] {
  for (const [field, port] of [["listenPort", listenPort], ["targetPort", targetPort]] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${field} ${JSON.stringify(port)} must be an integer from 1 to 65535`);
  }
  if (checkIpAddress("targetIp", targetIp) || targetIp.includes(":")) throw new Error(`targetIp ${JSON.stringify(targetIp)} must be an IPv4 address`);
  return ["socat", `TCP-LISTEN:${listenPort},fork,reuseaddr`, `TCP:${targetIp}:${targetPort}`];
}
