/**
 * Holds many WorkerService.Connect streams over the raw protocol (hello, credit, results):
 * each stream completes what it is assigned at once and grants the credit back. Counts tasks
 * per stream for fairness. Configuration: one JSON {@link RawStreamsConfig} argument.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ConnectRequestSchema,
  type ConnectRequest,
  type ConnectResponse,
  ResultStatus,
  WorkerService,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { AsyncQueue } from "../../test/support/async-queue.js";
import { epochNow, onParentMessage, ProgressReporter, readChildConfig, runChild, sendToParent } from "./child-runtime.js";
import { NOOP_TYPE, type RawStreamsConfig } from "./messages.js";

type WorkerClient = Client<typeof WorkerService>;
type RequestInit = MessageInitShape<typeof ConnectRequestSchema>["message"];

/** One raw stream: counts what it receives and answers every assignment at once. */
class RawStream {
  received = 0;
  readonly welcomed: Promise<void>;
  readonly ended: Promise<void>;
  private readonly outbox = new AsyncQueue<ConnectRequest>();

  constructor(client: WorkerClient, workerId: string, config: RawStreamsConfig, progress: ProgressReporter) {
    let welcome!: () => void;
    let fail!: (error: unknown) => void;
    this.welcomed = new Promise<void>((resolve, reject) => {
      welcome = resolve;
      fail = reject;
    });
    this.send({
      case: "hello",
      value: { workerId, queues: [config.queue], taskTypes: [NOOP_TYPE], capacity: config.credits, sdk: "bench-raw" },
    });
    this.ended = (async () => {
      try {
        for await (const response of client.connect(this.outbox)) {
          this.handle(response, config, progress, welcome);
        }
      } catch (error) {
        fail(error);
      }
      fail(new Error(`stream ${workerId} ended`));
    })();
  }

  close(): void {
    this.outbox.close();
  }

  private handle(response: ConnectResponse, config: RawStreamsConfig, progress: ProgressReporter, welcome: () => void): void {
    const message = response.message;
    switch (message.case) {
      case "welcome":
        this.send({ case: "credit", value: { credits: config.credits } });
        welcome();
        return;
      case "assignment": {
        const tasks = message.value.tasks;
        this.received += tasks.length;
        const results = tasks.map((t) => ({ taskId: t.taskId, leaseToken: t.leaseToken, outcome: { case: "success" as const, value: {} } }));
        this.send({ case: "results", value: { results } });
        this.send({ case: "credit", value: { credits: tasks.length } });
        return;
      }
      case "acks": {
        const at = epochNow();
        const accepted = message.value.acks.filter((a) => a.status === ResultStatus.ACCEPTED).length;
        if (accepted > 0) progress.add(accepted, at);
        if (accepted < message.value.acks.length) progress.add(message.value.acks.length - accepted, at, true);
        return;
      }
      default:
        return;
    }
  }

  private send(message: RequestInit): void {
    this.outbox.push(create(ConnectRequestSchema, { message }));
  }
}

runChild(async () => {
  const config = readChildConfig<RawStreamsConfig>();
  const progress = new ProgressReporter();
  const streams: RawStream[] = [];
  let client: WorkerClient | undefined;
  for (let i = 0; i < config.streams; i++) {
    if (i % config.streamsPerConnection === 0) {
      client = createClient(WorkerService, createGrpcTransport({ baseUrl: `http://${config.address}` }));
    }
    streams.push(new RawStream(client!, `${config.label}-${process.pid}-${i}`, config, progress));
  }
  onParentMessage((message) => {
    if (message.type === "report") {
      void sendToParent({
        type: "report",
        report: {
          ...progress.totals(),
          perStream: streams.map((s) => s.received),
          dispatches: [],
          acks: [],
        },
      });
    } else if (message.type === "stop") {
      for (const stream of streams) stream.close();
      const grace = new Promise((resolve) => setTimeout(resolve, 2_000).unref());
      void Promise.race([Promise.allSettled(streams.map((s) => s.ended)), grace]).then(() => process.exit(0));
    }
  });
  await Promise.all(streams.map((s) => s.welcomed));
  await sendToParent({ type: "ready", pid: process.pid });
});
