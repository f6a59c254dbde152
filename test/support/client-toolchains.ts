import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Repository root (two levels above this file). */
export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** A toolchain the Go/Python client tests need is missing. */
export class ToolchainMissingError extends Error {
  constructor(tool: string, cause: unknown) {
    super(`${tool} is not available (${(cause as Error).message}); run: bash clients/install-toolchains.sh`, { cause });
    this.name = "ToolchainMissingError";
  }
}

/** Where the Go and Python clients' tools are, and the environment to run them with. */
export interface ClientToolchains {
  /** `$(go env GOBIN)` or `$(go env GOPATH)/bin`: protoc plugins and grpcurl. */
  goBin: string;
  /**
   * The test process's environment plus: `goBin` (and Go's own folder) first on PATH, and
   * `clients/python/src` on PYTHONPATH so the Python client runs from the checkout.
   */
  env: NodeJS.ProcessEnv;
}

/** Finds the Go toolchain (also at /usr/local/go/bin) and builds the tools' environment. */
export async function clientToolchains(): Promise<ClientToolchains> {
  const basePath = [process.env.PATH ?? "", "/usr/local/go/bin"].filter(Boolean).join(":");
  let gobin: string;
  let gopath: string;
  try {
    const { stdout } = await execFileAsync("go", ["env", "GOBIN", "GOPATH"], { env: { ...process.env, PATH: basePath } });
    [gobin = "", gopath = ""] = stdout.split("\n");
  } catch (error) {
    throw new ToolchainMissingError("go", error);
  }
  const goBin = gobin.trim() || join(gopath.trim(), "bin");
  const pythonPath = [join(repoRoot, "clients/python/src"), process.env.PYTHONPATH].filter(Boolean).join(":");
  return {
    goBin,
    env: { ...process.env, PATH: `${goBin}:${basePath}`, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: "1" },
  };
}

/** Paths of the Go example programs built by {@link buildGoExamples}. */
export interface GoExamples {
  worker: string;
  producer: string;
}

/**
 * Builds the Go example worker and producer (`clients/go/examples/*`) into `outDir` with one
 * `go build`; the Go build cache makes later runs fast.
 */
export async function buildGoExamples(toolchains: ClientToolchains, outDir: string): Promise<GoExamples> {
  try {
    await execFileAsync("go", ["build", "-o", `${outDir}/`, "./examples/worker", "./examples/producer"], {
      cwd: join(repoRoot, "clients/go"),
      env: toolchains.env,
      timeout: 240_000,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`go build of clients/go/examples failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
  return { worker: join(outDir, "worker"), producer: join(outDir, "producer") };
}
