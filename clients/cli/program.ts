import { Command, Option } from "commander";
import { EXIT_CODES_HELP } from "./exit-codes.js";

/** The version `tq --version` prints (the package's, set at build time). */
declare const TQ_VERSION: string | undefined;

/** A top-level command of `tq`: its name, description, and the module that fills it in. */
interface Group {
  name: string;
  description: string;
  /** Loads the group's file and returns the function that adds its commands, options and action. */
  load(): Promise<(group: Command) => void>;
}

/**
 * The groups of `tq`, one file each. A group's file is loaded only when the command line
 * names it (or for `completion`, which needs them all), so `tq --help` stays fast: the
 * gRPC client and the generated code load with the first command that calls the server. A
 * new group is one new file and one line here.
 */
const GROUPS: readonly Group[] = [
  { name: "task", description: "submit, inspect, list, cancel and watch tasks", load: async () => (await import("./task.js")).registerTaskCommands },
  { name: "queue", description: "queue depth, throughput and workers; pause, resume and settings", load: async () => (await import("./queue.js")).registerQueueCommands },
  { name: "worker", description: "connected workers", load: async () => (await import("./cluster.js")).registerWorkerCommands },
  { name: "server", description: "live servers", load: async () => (await import("./cluster.js")).registerServerCommands },
  { name: "system", description: "the system as a whole: health", load: async () => (await import("./cluster.js")).registerSystemCommands },
  { name: "dlq", description: "dead-lettered tasks: list, run again, delete", load: async () => (await import("./dlq.js")).registerDlqCommands },
  { name: "schedule", description: "periodic tasks: create, list, inspect, change, pause, resume, trigger and delete schedules", load: async () => (await import("./schedule.js")).registerScheduleCommands },
  { name: "token", description: "API tokens: create, list, revoke (admin)", load: async () => (await import("./token.js")).registerTokenCommands },
  { name: "audit", description: "the audit log of admin and operator actions", load: async () => (await import("./audit.js")).registerAuditCommands },
  { name: "completion", description: "print a shell completion script: bash or zsh", load: async () => (await import("./completion.js")).registerCompletion },
];

/** Global options that take a value (skipped when looking for the group in the arguments). */
const VALUE_OPTIONS = new Set(["-s", "--server", "--token", "--tls-ca", "--tls-cert", "--tls-key"]);

/** The `tq` command tree for `argv` (user arguments, without node and the script): the named group filled in. */
export async function createProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("tq")
    .description("the taskqueue command line: submit and inspect tasks, queues, workers, dead letters and schedules over gRPC")
    .version(typeof TQ_VERSION === "string" ? TQ_VERSION : "dev", "-V, --version", "print the version")
    .addOption(new Option("-s, --server <host:port>", "gRPC address of a taskqueue server").env("TQ_SERVER").default("localhost:50051"))
    .addOption(new Option("--json", "machine output: one JSON document on stdout (errors too); the exit code still tells"))
    .addOption(new Option("--token <token>", "bearer token sent with every call").env("TQ_TOKEN"))
    .addOption(new Option("--tls-ca <file>", "connect with TLS, trusting the PEM CA certificate(s) in FILE").env("TQ_TLS_CA"))
    .addOption(new Option("--tls-cert <file>", "client certificate (PEM) for servers that require mutual TLS").env("TQ_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "private key (PEM) of --tls-cert").env("TQ_TLS_KEY"))
    .addOption(
      new Option("--insecure-skip-verify", "UNSAFE: connect with TLS but accept any server certificate (anyone on the path can read and change the traffic); for tests against a self-signed server only").env(
        "TQ_TLS_INSECURE_SKIP_VERIFY",
      ),
    )
    .addOption(new Option("--debug", "print stack traces of errors"))
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      `\n${EXIT_CODES_HELP}\n\nColours only on a terminal; NO_COLOR=1 turns them off. --json output follows the proto3 JSON mapping of the API's messages (README: "The tq command line").`,
    );
  const named = groupNamed(argv);
  const commands = GROUPS.map((g) => ({ group: g, command: program.command(g.name).description(g.description) }));
  await Promise.all(
    commands
      .filter(({ group }) => named === "completion" || group.name === named)
      .map(async ({ group, command }) => (await group.load())(command)),
  );
  return program;
}

/** The group the arguments name: the first one that is not an option or an option's value (after `help` too). */
function groupNamed(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (arg === "help") continue;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}
