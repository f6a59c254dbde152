import { describe, expect, it } from "vitest";
import { readExampleConfig } from "../../worker/example/config.js";
import { devChildEnvironments } from "./child-environments.js";
import { compileDevStackOptions } from "./dev-options.js";

const services = { databaseUrl: "postgres://postgres@127.0.0.1:5999/postgres", redisUrl: "redis://127.0.0.1:6380", databasePoolSize: 1 };

describe("devChildEnvironments", () => {
  it("points the example worker at the port the server was given (GRPC_PORT=51151 npm run dev)", () => {
    const options = compileDevStackOptions({ env: { GRPC_PORT: "51151", PATH: "/bin" } });
    const envs = devChildEnvironments(options, services);
    expect(envs.server).toMatchObject({ GRPC_PORT: "51151", HTTP_PORT: "8080", PATH: "/bin" });
    expect(envs.worker).toMatchObject({ TQ_SERVER: "localhost:51151", PATH: "/bin" });
    expect(readExampleConfig([], envs.worker).server).toBe("localhost:51151");
  });

  it("hands the server the ports of the stack's options, and the databases it uses", () => {
    const options = compileDevStackOptions({ grpcPort: 52000, httpPort: 52001, env: { GRPC_PORT: "50051" } });
    const envs = devChildEnvironments(options, services);
    expect(envs.server).toMatchObject({
      GRPC_PORT: "52000",
      HTTP_PORT: "52001",
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      DATABASE_POOL_SIZE: "1",
    });
    expect(envs.worker.TQ_SERVER).toBe("localhost:52000");
  });

  it("overrides a TQ_SERVER meant for another server, and dials the server's HOST when it listens on one", () => {
    const elsewhere = compileDevStackOptions({ env: { TQ_SERVER: "prod.example:50051" } });
    expect(devChildEnvironments(elsewhere, services).worker.TQ_SERVER).toBe("localhost:50051");
    const bound = compileDevStackOptions({ env: { HOST: "127.0.0.2", GRPC_PORT: "51151" } });
    expect(devChildEnvironments(bound, services).worker.TQ_SERVER).toBe("127.0.0.2:51151");
    const v6 = compileDevStackOptions({ env: { HOST: "::1" } });
    expect(devChildEnvironments(v6, services).worker.TQ_SERVER).toBe("[::1]:50051");
    const wildcard = compileDevStackOptions({ env: { HOST: "0.0.0.0" } });
    expect(devChildEnvironments(wildcard, services).worker.TQ_SERVER).toBe("localhost:50051");
  });

  it("leaves the pool size unset for a Postgres given by URL", () => {
    const envs = devChildEnvironments(compileDevStackOptions({ env: {} }), { ...services, databasePoolSize: undefined });
    expect(envs.server.DATABASE_POOL_SIZE).toBeUndefined();
  });
});
