import { resolve } from "node:path";
import { BenchOptionsError } from "./errors.js";
import { DEFAULT_RESULTS_FILE } from "./paths.js";

/** Every scenario the harness knows, in the order they run. */
export const SCENARIOS = [
  "throughput_batch",
  "throughput_batch_500",
  "throughput_unary",
  "latency",
  "bullmq",
  "graphile_worker",
  "graphile_worker_defaults",
  "river",
  "river_defaults",
  "latency_graphile_worker",
  "latency_river",
  "many_workers",
  "list_workers",
  "list_queues_polling",
  "dashboard_polling",
  "backlog",
  "limited_50",
  "concurrency_50",
  "routing_4_types",
  "one_type_4_workers",
  "cluster",
  "cli_startup",
  "schedules",
  "list_queues",
  "fair_keys",
] as const;

/** Name of one scenario. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** Benchmark settings, every one optional; see {@link compileBenchOptions} for defaults. */
export interface BenchOptions {
  /** Small counts so the whole run ends in under a minute (backlog is skipped). */
  quick?: boolean;
  /** Tasks per throughput run (throughput_batch, throughput_unary and the peers: bullmq, graphile_worker, river). Default 100,000; quick 5,000. */
  tasks?: number;
  /** Worker processes. Default 2. */
  workers?: number;
  /** Concurrent tasks per worker process. Default 200. */
  concurrency?: number;
  /** Batch producer processes (taskqueue SubmitTasks, BullMQ addBulk, graphile-worker addJobs, River InsertMany). Default 2. */
  producers?: number;
  /** Tasks per SubmitTasks / addBulk call. Default 500. */
  batchSize?: number;
  /** Batch calls in flight per producer process. Default 4. */
  batchesInFlight?: number;
  /** Tasks per throughput_unary run. Default `tasks`; quick 2,000. */
  unaryTasks?: number;
  /** Unary producer processes (throughput_unary). Default 4. */
  unaryProducers?: number;
  /** Unary SubmitTask calls in flight per unary producer. Default 64. */
  unaryInFlight?: number;
  /**
   * What makes the SubmitTask calls of throughput_unary and of latency with `rateBatch` 1:
   * `raw`, a minimal HTTP/2 caller with one pre-encoded request (default), or `ts`, the
   * TypeScript client.
   */
  unaryClient?: "raw" | "ts";
  /** latency: submitted tasks per second. Default 1,000. */
  rate?: number;
  /** latency: tasks per SubmitTasks call; 1 = unary SubmitTask (default). */
  rateBatch?: number;
  /**
   * latency scenarios (taskqueue and the peers): bytes of JSON payload per task (`{"data":"xx…"}`).
   * Default 0 (no payload). With unary calls it needs `--unary-client ts`.
   */
  payloadBytes?: number;
  /** latency scenarios: each task sleeps a uniformly random time in [min, max] ms. Default [0, 0] (no-op). */
  workMs?: [number, number];
  /** latency: seconds of submission. Default 10; quick 2. */
  durationS?: number;
  /** latency: seconds of submission at the same rate before the measured window. Default 10 (the server, workers and producer reach steady JIT state); quick 0.5. */
  warmupS?: number;
  /** backlog: queued tasks. Default 1,000,000; quick 20,000 (when asked for). */
  backlog?: number;
  /** backlog: tasks used to measure submit and dispatch rates. Default 20,000; quick 2,000. */
  backlogProbe?: number;
  /** many_workers: connected worker streams. Default 1,000; quick 200. */
  streams?: number;
  /** many_workers: processes holding the streams. Default 4. */
  streamProcesses?: number;
  /** many_workers: streams sharing one HTTP/2 connection. Default 50. */
  streamsPerConnection?: number;
  /** many_workers: credits each stream grants. Default 4. */
  streamCredits?: number;
  /** many_workers: tasks of the busy phase. Default 50,000; quick 2,000. */
  streamTasks?: number;
  /** many_workers: seconds the streams are held idle while measuring. Default 5; quick 1. */
  idleS?: number;
  /** list_queues: queues the queued tasks are spread over. Default 100. */
  listQueues?: number;
  /** list_queues: queued tasks. Default 1,000,000; quick 10,000. */
  listTasks?: number;
  /** list_queues and list_workers: measured calls. Default 200; quick 50. */
  listCalls?: number;
  /** schedules: interval schedules created. Default 10,000; quick 500. */
  schedules?: number;
  /** schedules: their interval, seconds. Default 60; quick 10. */
  scheduleIntervalS?: number;
  /** Scenarios to run. Default all (quick: all but backlog, schedules and dashboard_polling). */
  scenarios?: ScenarioName[];
  /** cluster: replicas of each of the Redis Cluster's 3 masters. Default 0. */
  clusterReplicas?: number;
  /** Runs of each scenario; the report gives medians. Default 1. */
  repeat?: number;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  /** Start the private Redis with an append-only file fsynced every second (BullMQ's production advice). */
  redisAof?: boolean;
  /** Use this Postgres database instead of starting one. */
  databaseUrl?: string;
  /** The server and every client reach the private Redis and Postgres over their unix sockets. */
  unixSockets?: boolean;
  /**
   * The Postgres-bound shape: the private Postgres confined to CPU 0 with `taskset`, everything
   * else the harness starts (server, Redis, producers and workers of every system) on the others.
   */
  pinPostgres?: boolean;
  /** Extra environment of the server process (its knobs, e.g. COMMIT_WINDOW_MS). */
  serverEnv?: Record<string, string>;
  /** Extra Node.js flags of the server process, after its own (e.g. `--max-semi-space-size=16`). */
  serverNodeArgs?: string[];
  /** Run the server with `--cpu-prof` and write its profile into this folder. */
  serverCpuProfDir?: string;
  /** Results file. Default bench/results/latest.json. */
  out?: string;
  /** Floor of every wait deadline, seconds. Default 120. */
  timeoutS?: number;
  /** Log level of the harness and its children. Default warn. */
  logLevel?: string;
}

/** {@link BenchOptions} with every default applied. */
export type CompiledBenchOptions = Required<Omit<BenchOptions, "redisUrl" | "databaseUrl" | "serverCpuProfDir">> &
  Pick<BenchOptions, "redisUrl" | "databaseUrl" | "serverCpuProfDir">;

/** Applies defaults (quick or full) and checks ranges. Throws {@link BenchOptionsError}. */
export function compileBenchOptions(options: BenchOptions = {}): CompiledBenchOptions {
  const quick = options.quick ?? false;
  const scenarios = options.scenarios ?? SCENARIOS.filter((s) => !quick || (s !== "backlog" && s !== "schedules" && s !== "dashboard_polling"));
  const tasks = options.tasks ?? (quick ? 5_000 : 100_000);
  const compiled: CompiledBenchOptions = {
    quick,
    tasks,
    unaryTasks: options.unaryTasks ?? (quick ? Math.min(tasks, 2_000) : tasks),
    workers: options.workers ?? 2,
    concurrency: options.concurrency ?? 200,
    producers: options.producers ?? 2,
    batchSize: options.batchSize ?? 500,
    batchesInFlight: options.batchesInFlight ?? 4,
    unaryProducers: options.unaryProducers ?? 4,
    unaryInFlight: options.unaryInFlight ?? 64,
    unaryClient: options.unaryClient ?? "raw",
    rate: options.rate ?? 1_000,
    rateBatch: options.rateBatch ?? 1,
    payloadBytes: options.payloadBytes ?? 0,
    workMs: options.workMs ?? [0, 0],
    durationS: options.durationS ?? (quick ? 2 : 10),
    warmupS: options.warmupS ?? (quick ? 0.5 : 10),
    backlog: options.backlog ?? (quick ? 20_000 : 1_000_000),
    backlogProbe: options.backlogProbe ?? (quick ? 2_000 : 20_000),
    streams: options.streams ?? (quick ? 200 : 1_000),
    streamProcesses: options.streamProcesses ?? 4,
    streamsPerConnection: options.streamsPerConnection ?? 50,
    streamCredits: options.streamCredits ?? 4,
    streamTasks: options.streamTasks ?? (quick ? 2_000 : 50_000),
    idleS: options.idleS ?? (quick ? 1 : 5),
    listQueues: options.listQueues ?? 100,
    listTasks: options.listTasks ?? (quick ? 10_000 : 1_000_000),
    listCalls: options.listCalls ?? (quick ? 50 : 200),
    schedules: options.schedules ?? (quick ? 500 : 10_000),
    scheduleIntervalS: options.scheduleIntervalS ?? (quick ? 10 : 60),
    scenarios: [...new Set(scenarios)].sort((a, b) => SCENARIOS.indexOf(a) - SCENARIOS.indexOf(b)),
    clusterReplicas: options.clusterReplicas ?? 0,
    repeat: options.repeat ?? 1,
    redisUrl: options.redisUrl,
    redisAof: options.redisAof ?? false,
    unixSockets: options.unixSockets ?? false,
    pinPostgres: options.pinPostgres ?? false,
    databaseUrl: options.databaseUrl,
    serverEnv: options.serverEnv ?? {},
    serverNodeArgs: options.serverNodeArgs ?? [],
    serverCpuProfDir: options.serverCpuProfDir === undefined ? undefined : resolve(options.serverCpuProfDir),
    out: options.out === undefined ? DEFAULT_RESULTS_FILE : resolve(options.out),
    timeoutS: options.timeoutS ?? 120,
    logLevel: options.logLevel ?? "warn",
  };
  const positives = [
    "tasks", "unaryTasks", "workers", "concurrency", "producers", "batchSize", "batchesInFlight", "unaryProducers",
    "unaryInFlight", "rate", "rateBatch", "durationS", "warmupS", "backlog", "backlogProbe", "streams", "streamProcesses",
    "streamsPerConnection", "streamCredits", "streamTasks", "idleS", "listQueues", "listTasks", "listCalls", "schedules", "scheduleIntervalS", "repeat", "timeoutS",
  ] as const;
  for (const key of positives) {
    const value = compiled[key];
    if (!Number.isFinite(value) || value <= 0) throw new BenchOptionsError(flagOf(key), `must be a positive number, got ${value}`);
  }
  if (compiled.batchSize > 1000) throw new BenchOptionsError("--batch-size", "at most 1000 (the SubmitTasks limit)");
  if (compiled.concurrency > 10_000) throw new BenchOptionsError("--concurrency", "at most 10000 (the worker SDK limit)");
  if (compiled.payloadBytes < 0 || !Number.isInteger(compiled.payloadBytes)) throw new BenchOptionsError("--payload-bytes", "must be a whole number ≥ 0");
  if (compiled.payloadBytes > 0 && compiled.rateBatch === 1 && compiled.unaryClient === "raw") {
    throw new BenchOptionsError("--payload-bytes", "with unary calls (--rate-batch 1) needs --unary-client ts (the raw caller sends one fixed request)");
  }
  if (!Number.isInteger(compiled.clusterReplicas) || compiled.clusterReplicas < 0 || compiled.clusterReplicas > 2) {
    throw new BenchOptionsError("--cluster-replicas", `must be 0, 1 or 2, got ${compiled.clusterReplicas}`);
  }
  if (compiled.scenarios.length === 0) throw new BenchOptionsError("--scenarios", "names no scenario");
  return compiled;
}

/** What `--help` prints. */
export const USAGE = `npm run bench -- [options]

  --quick                   small counts, whole run under a minute (skips backlog and schedules)
  --scenarios a,b           among ${SCENARIOS.join(", ")}
  --tasks N                 tasks per throughput run, peers' too (default 100000, quick 5000)
  --unary-tasks N           tasks per throughput_unary run (default --tasks, quick 2000)
  --workers N               worker processes (default 2)
  --concurrency N           concurrent tasks per worker (default 200)
  --producers N             batch producer processes (default 2)
  --batch-size N            tasks per SubmitTasks / addBulk / addJobs / InsertMany call (default 500)
  --batches-in-flight N     batch calls in flight per producer (default 4)
  --unary-producers N       unary producer processes (default 4)
  --unary-in-flight N       unary calls in flight per producer (default 64)
  --unary-client raw|ts     what makes SubmitTask calls: a minimal HTTP/2 caller with one
                            pre-encoded request (default), or the TypeScript client
  --rate N                  latency: tasks per second (default 1000)
  --rate-batch N            latency: tasks per call, 1 = unary SubmitTask (default 1)
  --payload-bytes N         latency scenarios: JSON payload bytes per task (default 0)
  --work-ms A-B             latency scenarios: each task sleeps a random A–B ms (default 0, a no-op)
  --duration-s N            latency: seconds (default 10, quick 2)
  --warmup-s N              latency: seconds at the same rate before the measured ones (default 10, quick 0.5)
  --backlog N               backlog: queued tasks (default 1000000)
  --backlog-probe N         backlog: tasks measuring submit/dispatch rates (default 20000)
  --streams N               many_workers: worker streams (default 1000, quick 200)
  --stream-processes N      many_workers: processes holding them (default 4)
  --streams-per-connection N  many_workers: streams per HTTP/2 connection (default 50)
  --stream-credits N        many_workers: credits per stream (default 4)
  --stream-tasks N          many_workers: tasks of the busy phase (default 50000, quick 2000)
  --idle-s N                many_workers, schedules: idle measuring window (default 5, quick 1)
  --list-queues N           list_queues: queues holding the queued tasks (default 100)
  --list-tasks N            list_queues: queued tasks (default 1000000, quick 10000)
  --list-calls N            list_queues, list_workers: measured calls (default 200, quick 50)
  --schedules N             schedules: interval schedules (default 10000, quick 500)
  --schedule-interval-s N   schedules: their interval, seconds (default 60, quick 10)
  --cluster-replicas N      cluster: replicas of each master (default 0)
  --repeat N                runs per scenario, medians reported (default 1)
  --redis-url URL           use this Redis instead of a private one
  --redis-aof               private Redis with appendonly yes, appendfsync everysec
  --database-url URL        use this Postgres database instead of a private one
  --unix-sockets            reach the private Redis and Postgres over unix sockets, not TCP
  --pin-postgres            Postgres-bound: the private Postgres on CPU 0 (taskset), everything
                            else (server, Redis, every system's producers and workers) on the others
  --server-env K=V          extra server environment (repeatable), e.g. COMMIT_WINDOW_MS=2
  --server-node-arg FLAG    extra Node.js flag of the server (repeatable), e.g. --server-node-arg=--trace-gc
  --server-cpu-prof DIR     profile the server (node --cpu-prof) into DIR
  --out FILE                results file (default bench/results/latest.json)
  --timeout-s N             floor of every wait deadline (default 120)
  --log-level LEVEL         harness log level (default warn)
`;

const NUMERIC: Record<string, keyof BenchOptions> = {
  "--tasks": "tasks",
  "--unary-tasks": "unaryTasks",
  "--workers": "workers",
  "--concurrency": "concurrency",
  "--producers": "producers",
  "--batch-size": "batchSize",
  "--batches-in-flight": "batchesInFlight",
  "--unary-producers": "unaryProducers",
  "--unary-in-flight": "unaryInFlight",
  "--rate": "rate",
  "--rate-batch": "rateBatch",
  "--payload-bytes": "payloadBytes",
  "--duration-s": "durationS",
  "--warmup-s": "warmupS",
  "--backlog": "backlog",
  "--backlog-probe": "backlogProbe",
  "--streams": "streams",
  "--stream-processes": "streamProcesses",
  "--streams-per-connection": "streamsPerConnection",
  "--stream-credits": "streamCredits",
  "--stream-tasks": "streamTasks",
  "--idle-s": "idleS",
  "--list-queues": "listQueues",
  "--list-tasks": "listTasks",
  "--list-calls": "listCalls",
  "--schedules": "schedules",
  "--schedule-interval-s": "scheduleIntervalS",
  "--cluster-replicas": "clusterReplicas",
  "--repeat": "repeat",
  "--timeout-s": "timeoutS",
};

const STRINGS: Record<string, "redisUrl" | "databaseUrl" | "serverCpuProfDir" | "out" | "logLevel"> = {
  "--redis-url": "redisUrl",
  "--database-url": "databaseUrl",
  "--server-cpu-prof": "serverCpuProfDir",
  "--out": "out",
  "--log-level": "logLevel",
};

/** Result of {@link parseBenchArgs}: the options, or a request for help. */
export type ParsedArgs = { help: true } | { help: false; options: BenchOptions };

/** Flags without a value, and the option each one turns on. */
const SWITCHES: Record<string, "quick" | "redisAof" | "unixSockets" | "pinPostgres"> = {
  "--quick": "quick",
  "--redis-aof": "redisAof",
  "--unix-sockets": "unixSockets",
  "--pin-postgres": "pinPostgres",
};

/** Parses command-line arguments (`--name value` or `--name=value`). Throws {@link BenchOptionsError}. */
export function parseBenchArgs(argv: readonly string[]): ParsedArgs {
  const options: BenchOptions = {};
  const args = argv.flatMap((arg) => (arg.startsWith("--") && arg.includes("=") ? splitOnce(arg) : [arg]));
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === "--") continue;
    if (flag === "--help" || flag === "-h") return { help: true };
    const switchName = SWITCHES[flag];
    if (switchName !== undefined) {
      options[switchName] = true;
      continue;
    }
    const value = args[i + 1];
    if (value === undefined) throw new BenchOptionsError(flag, "needs a value");
    i++;
    if (flag in NUMERIC) {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new BenchOptionsError(flag, `must be a number, got "${value}"`);
      (options as Record<string, unknown>)[NUMERIC[flag]!] = n;
    } else if (flag in STRINGS) {
      options[STRINGS[flag]!] = value;
    } else if (flag === "--scenarios") {
      options.scenarios = parseScenarios(value);
    } else if (flag === "--unary-client") {
      if (value !== "raw" && value !== "ts") throw new BenchOptionsError(flag, `must be raw or ts, got "${value}"`);
      options.unaryClient = value;
    } else if (flag === "--work-ms") {
      const match = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(value);
      if (!match) throw new BenchOptionsError(flag, `expects MIN-MAX or MS in milliseconds, e.g. 1-10, got "${value}"`);
      const min = Number(match[1]);
      const max = Number(match[2] ?? match[1]);
      if (max < min) throw new BenchOptionsError(flag, `MAX must be at least MIN, got "${value}"`);
      options.workMs = [min, max];
    } else if (flag === "--server-node-arg") {
      if (!value.startsWith("--")) throw new BenchOptionsError(flag, `expects a Node.js flag such as --trace-gc, got "${value}"`);
      options.serverNodeArgs = [...(options.serverNodeArgs ?? []), value];
    } else if (flag === "--server-env") {
      const eq = value.indexOf("=");
      if (eq < 1) throw new BenchOptionsError(flag, `expects NAME=VALUE, got "${value}"`);
      options.serverEnv = { ...options.serverEnv, [value.slice(0, eq)]: value.slice(eq + 1) };
    } else {
      throw new BenchOptionsError(flag, "unknown option (see --help)");
    }
  }
  return { help: false, options };
}

function parseScenarios(value: string): ScenarioName[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      if (!(SCENARIOS as readonly string[]).includes(s)) {
        throw new BenchOptionsError("--scenarios", `unknown scenario "${s}"; known: ${SCENARIOS.join(", ")}`);
      }
      return s as ScenarioName;
    });
}

function splitOnce(arg: string): string[] {
  const eq = arg.indexOf("=");
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}

function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
