import { ServiceStartError } from "./errors.js";
import { findFreePort } from "./free-port.js";

/** How many free ports a service tries before giving up on races for them. */
const PORT_ATTEMPTS = 5;

/**
 * Starts a server with `start(port)`: on `fixedPort` when given (one try), otherwise on a free
 * port found by {@link findFreePort}, trying another one (up to 5 in all) when the server's
 * output shows that another process took the port first (`addressInUse` matches a line of the
 * {@link ServiceStartError}).
 */
export async function startOnFreePort<T>(
  fixedPort: number | undefined,
  addressInUse: RegExp,
  start: (port: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await findFreePort());
    try {
      return await start(port);
    } catch (error) {
      const raced = error instanceof ServiceStartError && error.output.some((line) => addressInUse.test(line));
      if (!raced || fixedPort !== undefined || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}
