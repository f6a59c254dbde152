#!/usr/bin/env node
/**
 * `tq`, the taskqueue command line: parses the arguments and runs the command. Usage errors
 * exit 2 (commander has printed them); each command sets its own exit code (exit-codes.ts).
 */
import { CommanderError } from "commander";
import { EXIT } from "./exit-codes.js";
import { createProgram } from "./program.js";

// A reader that went away (`tq task list | head -1`) ends the output quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});

const program = await createProgram(process.argv.slice(2));
program.exitOverride();
program.commands.forEach(function override(command): void {
  command.exitOverride();
  command.commands.forEach(override);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // --help and --version exit 0; a usage error has been printed and exits 2; a group without its subcommand shows its help.
  process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.invalid;
  if (error.exitCode !== 0 && process.argv.includes("--json")) {
    const message = error.code === "commander.help" ? "a command is missing (see --help)" : error.message.replace(/^error: /, "");
    process.stdout.write(`${JSON.stringify({ error: { code: "INVALID_ARGUMENT", message, field: "" } }, null, 2)}\n`);
  }
}
