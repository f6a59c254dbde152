import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ResultStatus, type TaskResult } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { createWorker, type Worker } from "../create-worker.js";
import type { WorkerOptions } from "../options.js";
import { testLogger } from "./fixtures.js";
import { startScriptedServer, type ScriptedServer, type ScriptedStream } from "./scripted-server.js";

/** Options of {@link WorkerHarness.connect}: worker options plus the welcome to answer with. */
export type ConnectOptions = Partial<WorkerOptions> &
  Pick<WorkerOptions, "handlers"> & {
    /** Heartbeat interval stated in the welcome, in ms. Default 1000. */
    heartbeatIntervalMs?: number;
    /** Whether the server answers heartbeats. Default true. */
    answerHeartbeats?: boolean;
  };

/** A scripted server and the worker under test, torn down together. */
export class WorkerHarness {
  /** The worker under test, once {@link WorkerHarness.connect} ran. */
  worker: Worker | undefined;

  private constructor(readonly server: ScriptedServer) {}

  /** Starts a scripted server. */
  static async start(): Promise<WorkerHarness> {
    return new WorkerHarness(await startScriptedServer());
  }

  /** Creates a worker pointed at the server, without starting it. */
  create(options: Partial<WorkerOptions> & Pick<WorkerOptions, "handlers">): Worker {
    this.worker = createWorker({
      address: this.server.address,
      queues: ["q-test"],
      logger: testLogger(),
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      ...options,
    });
    return this.worker;
  }

  /** Starts a worker, answers its hello with a welcome and waits until it is started. */
  async connect(options: ConnectOptions) {
    const { heartbeatIntervalMs, answerHeartbeats, ...workerOptions } = options;
    const worker = this.create(workerOptions);
    const started = worker.start();
    const stream = await this.server.nextStream();
    const hello = await stream.expect("hello");
    stream.answerHeartbeats = answerHeartbeats ?? true;
    stream.welcome({ heartbeatIntervalMs: heartbeatIntervalMs ?? 1_000 });
    await started;
    return { worker, stream, hello };
  }

  /** Stops the worker (briefly) and the server. */
  async close(): Promise<void> {
    await this.worker?.stop({ timeoutMs: 200 });
    await this.server.close();
  }
}

/** The output of a successful result: a JS value for JSON, a Uint8Array for bytes. */
export function successOf(result: TaskResult): unknown {
  if (result.outcome.case !== "success") throw new Error(`expected success, got ${result.outcome.case}`);
  const data = result.outcome.value.resultData;
  return data.case === "result" ? toJson(ValueSchema, data.value) : data.value;
}

/** Answers `results` with acks of one status. */
export function sendAcks(stream: ScriptedStream, results: TaskResult[], status = ResultStatus.ACCEPTED): void {
  stream.send({
    case: "acks",
    value: { acks: results.map((r) => ({ taskId: r.taskId, leaseToken: r.leaseToken, status })) },
  });
}

/** Reads results messages (skipping credits) until `count` results arrived; returns them by task id. */
export async function collectResults(stream: ScriptedStream, count: number): Promise<Map<string, TaskResult>> {
  const seen = new Map<string, TaskResult>();
  while (seen.size < count) {
    for (const result of (await stream.expect("results", { skip: ["heartbeat", "progress", "credit"] })).results) seen.set(result.taskId, result);
  }
  return seen;
}
