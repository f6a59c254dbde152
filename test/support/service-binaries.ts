import { BinaryNotFoundError, LocalServiceError } from "../../tools/local-services/errors.js";
import { findPostgresBinDir } from "../../tools/local-services/postgres-binaries.js";
import { findRedisServer } from "../../tools/local-services/redis-binary.js";

/** Which private servers the test run starts (those not given by TEST_REDIS_URL / TEST_DATABASE_URL). */
export interface NeededServices {
  /** A private redis-server is started. */
  redis: boolean;
  /** A private Postgres (initdb, postgres) is started. */
  postgres: boolean;
}

/** How the binaries are looked up; tests replace them. */
export interface ServiceBinaryFinders {
  /** Path of `redis-server`, or undefined. */
  findRedisServer(): Promise<string | undefined>;
  /** Folder of `initdb` and `postgres`; throws {@link BinaryNotFoundError} when missing. */
  findPostgresBinDir(): Promise<string>;
}

/** The binaries found for the needed services. */
export interface ServiceBinaries {
  /** Path of `redis-server`, when Redis is needed. */
  redisServer: string | undefined;
  /** Folder of the Postgres server binaries, when Postgres is needed. */
  postgresBinDir: string | undefined;
}

/** The command that installs every system package the tests need. */
export const TEST_PACKAGES_INSTALL_COMMAND = "sudo apt-get install -y redis-server postgresql";

/** The test run needs system packages that are not installed; the message says how to install them. */
export class MissingServiceBinariesError extends LocalServiceError {
  /** The Debian packages missing, e.g. `["redis-server", "postgresql"]`. */
  readonly packages: readonly string[];

  /** Creates the error naming each missing binary and its package. */
  constructor(missing: ReadonlyArray<{ binary: string; debianPackage: string }>) {
    super(
      `The tests start their own Redis and Postgres, but ${missing.map((m) => m.binary).join(" and ")} ` +
        `${missing.length === 1 ? "is" : "are"} not installed (Debian package${missing.length === 1 ? "" : "s"}: ` +
        `${missing.map((m) => m.debianPackage).join(", ")}). Install them with:\n` +
        `  ${TEST_PACKAGES_INSTALL_COMMAND}\n` +
        `(.ci/run installs them too), or run the tests against existing servers with TEST_REDIS_URL / TEST_DATABASE_URL.`,
    );
    this.packages = missing.map((m) => m.debianPackage);
  }
}

const defaultFinders: ServiceBinaryFinders = { findRedisServer, findPostgresBinDir };

/**
 * Finds the binaries of the services the test run starts, and fails at once with
 * {@link MissingServiceBinariesError} naming everything missing. It never installs anything:
 * installing system packages is `.ci/run`'s job (or the developer's).
 */
export async function requireServiceBinaries(
  needed: NeededServices,
  finders: ServiceBinaryFinders = defaultFinders,
): Promise<ServiceBinaries> {
  const redisServer = needed.redis ? await finders.findRedisServer() : undefined;
  let postgresBinDir: string | undefined;
  if (needed.postgres) {
    try {
      postgresBinDir = await finders.findPostgresBinDir();
    } catch (error) {
      if (!(error instanceof BinaryNotFoundError)) throw error;
    }
  }
  const missing: Array<{ binary: string; debianPackage: string }> = [];
  if (needed.redis && redisServer === undefined) missing.push({ binary: "redis-server", debianPackage: "redis-server" });
  if (needed.postgres && postgresBinDir === undefined) {
    missing.push({ binary: "the Postgres server (initdb, postgres)", debianPackage: "postgresql" });
  }
  if (missing.length > 0) throw new MissingServiceBinariesError(missing);
  return { redisServer, postgresBinDir };
}
