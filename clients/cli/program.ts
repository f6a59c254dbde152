import { Command, Option } from "commander";
import { registerClusterCommands } from "./cluster.js";
import { registerCompletion } from "./completion.js";
import { registerDlqCommands } from "./dlq.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { registerQueueCommands } from "./queue.js";
import { registerTaskCommands } from "./task.js";

/** The version `tq --version` prints (the package's, set at build time). */
declare const TQ_VERSION: string | undefined;

/**
 * The `tq` command tree. Each group lives in its own file and registers itself here; a new
 * group (e.g. `schedule`) is one new file and one line below.
 */
export function createProgram(): Command {
  const program = new Command("tq")
    .description("the taskqueue command line: submit and inspect tasks, queues, workers and dead letters over gRPC")
    .version(typeof TQ_VERSION === "string" ? TQ_VERSION : "dev", "-V, --version", "print the version")
    .addOption(new Option("-s, --server <host:port>", "gRPC address of a taskqueue server").env("TQ_SERVER").default("localhost:50051"))
    .addOption(new Option("--json", "machine output: one JSON document on stdout (errors too); the exit code still tells"))
    .addOption(new Option("--token <token>", "bearer token sent with every call").env("TQ_TOKEN"))
    .addOption(new Option("--debug", "print stack traces of errors"))
    .showSuggestionAfterError(true)
    .addHelpText("after", `\n${EXIT_CODES_HELP}\n\nColours only on a terminal; NO_COLOR=1 turns them off. --json output follows the proto3 JSON mapping of the API's messages (README: "The tq command line").`);
  registerTaskCommands(program);
  registerQueueCommands(program);
  registerClusterCommands(program);
  registerDlqCommands(program);
  registerCompletion(program);
  return program;
}
