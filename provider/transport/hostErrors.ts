import { TransportError } from "./types";

/**
 * The two ways a host can fail to be there, told apart because destroy treats them differently
 * (providers.ts):
 *
 * - HostGoneError: the host certainly holds nothing any more. Only a sandbox host can say so:
 *   its directory and namespaces are gone, and everything bridgelab made in it went with them.
 *   Delete succeeds and read reports the object gone.
 * - HostUnreachableError: no connection could be made (the network, a proxy command or jump
 *   host, SSM could not deliver). The host may only be down, so nothing is assumed: delete and
 *   read fail, unless the user declared the host gone for good (BRIDGELAB_GONE_HOSTS).
 *
 * Neither is an authentication failure, a host key mismatch or a command that failed: those
 * hosts answered, and stay plain errors.
 */

/** A sandbox host that does not exist (any more): nothing of it is left. */
export class HostGoneError extends TransportError {
  constructor(host: string, message: string) {
    super(host, message);
    this.name = "HostGoneError";
  }
}

/** No connection to the host could be made; it may be down, or gone for good. */
export class HostUnreachableError extends TransportError {
  constructor(host: string, message: string, cause?: unknown) {
    super(host, message, cause);
    this.name = "HostUnreachableError";
  }
}

/** Whether `e` says the host could not be reached (not: refused us, or ran and failed). */
export function isHostUnreachable(e: unknown): e is HostUnreachableError {
  return e instanceof HostUnreachableError;
}

/** Whether `e` says the host no longer exists. */
export function isHostGone(e: unknown): e is HostGoneError {
  return e instanceof HostGoneError;
}
