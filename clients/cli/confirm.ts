import { createInterface } from "node:readline/promises";
import type { CliContext } from "./context.js";
import { CliError } from "./errors.js";
import { EXIT } from "./exit-codes.js";

/**
 * Asks `question` on the terminal and resolves true for y/yes. Refuses (a usage error naming
 * --yes) when stdin is not a terminal: nothing can be confirmed there.
 */
export async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  if (!ctx.out.stdinIsTerminal) throw new CliError("--yes: stdin is not a terminal, so nothing can be confirmed: add --yes", EXIT.invalid, "INVALID_ARGUMENT", "--yes");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
