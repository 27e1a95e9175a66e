import { checkIpAddress } from "./subnets";

/**
 * The argv of a tiny HTTP server for labs and tests: answers every request with `body`.
 * It never resolves a name (`python3 -m http.server` calls getfqdn and hangs without DNS),
 * and it reads the request headers before answering, so the client never sees a reset:
 *
 *   socat TCP-LISTEN:5000,fork,reuseaddr "SYSTEM:sed -n '/^\r*\$/q'; echo HTTP/1.0 200 OK; echo; echo hello from netns0"
 *
 * Run it with the Process resource. Needs socat on the host.
 */
export function helloServerCommand(port: number, body: string, bind?: string): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${JSON.stringify(port)} must be an integer from 1 to 65535`);
  // The body sits inside a socat address and a shell command: keep it to plain words.
  if (!/^[A-Za-z0-9 ._-]{1,200}$/.test(body)) throw new Error(`body ${JSON.stringify(body)} may hold only letters, digits, spaces, '.', '_' and '-' (1–200 characters)`);
  if (bind !== undefined && (checkIpAddress("bind", bind) || bind.includes(":"))) throw new Error(`bind ${JSON.stringify(bind)} must be an IPv4 address`);
  return [
    "socat",
    `TCP-LISTEN:${port},fork,reuseaddr${bind ? `,bind=${bind}` : ""}`,
    `SYSTEM:sed -n '/^\\r*$/q'; echo HTTP/1.0 200 OK; echo; echo ${body}`,
  ];
}
