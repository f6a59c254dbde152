/**
 * Values the global setup (test/support/global-setup.ts) provides to every test file,
 * read with `inject("redisUrl")` / `inject("databaseUrl")` from "vitest".
 */
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:PORT` of the run's Redis (private, or TEST_REDIS_URL). */
    redisUrl: string;
    /** `postgres://…/taskqueue` of the run's Postgres (private, or TEST_DATABASE_URL). */
    databaseUrl: string;
    /**
     * `REDIS_CLUSTER_NODES` of a private Redis Cluster (3 masters + 3 replicas) when the run
     * was started with `TEST_REDIS_CLUSTER=1`, else "": the test servers then use it.
     */
    redisClusterNodes: string;
  }
}
