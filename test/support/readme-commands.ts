import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "./client-toolchains.js";

/** A shell command shown in README.md (`$ cmd …`) and the output shown under it. */
export interface ReadmeCommand {
  /** The command line as written, without the `$ `. */
  line: string;
  /** Its words, shell quoting removed. */
  argv: string[];
  /** The output lines shown after it, up to the next command or the end of the block. */
  output: string;
}

/** Reads every `$ …` command of the README's console blocks, with its shown output. */
export async function readmeCommands(): Promise<ReadmeCommand[]> {
  const text = await readFile(join(repoRoot, "README.md"), "utf8");
  const commands: ReadmeCommand[] = [];
  let inConsole = false;
  let current: { line: string; output: string[] } | undefined;
  const finish = () => {
    if (current) commands.push({ line: current.line, argv: shellWords(current.line), output: current.output.join("\n").trim() });
    current = undefined;
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) {
      finish();
      inConsole = line.trim() === "```console";
      continue;
    }
    if (!inConsole) continue;
    if (line.startsWith("$ ")) {
      finish();
      current = { line: line.slice(2), output: [] };
    } else {
      current?.output.push(line);
    }
  }
  finish();
  return commands;
}

/** Splits a command line into words: whitespace separates, '…' and "…" quote, a `#` starting a word comments out the rest. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: "'" | '"' | undefined;
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === "#" && !inWord) {
      break; // a comment, as in a shell
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in: ${line}`);
  if (inWord) words.push(word);
  return words;
}
