import Table from "cli-table3";

/** ANSI styles; identity functions when colours are off. */
export interface Colors {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** Where and how the CLI writes: stdout for results, stderr for notes, progress and errors. */
export interface Output {
  /** True when `--json` was given: commands print exactly one JSON document. */
  readonly json: boolean;
  /** Colours for stdout (on a TTY, unless NO_COLOR is set). */
  readonly colors: Colors;
  /** Colours for stderr. */
  readonly errColors: Colors;
  /** True when stderr is a terminal (progress bars go there). */
  readonly stderrIsTerminal: boolean;
  /** True when stdin is a terminal (confirmation prompts read it). */
  readonly stdinIsTerminal: boolean;
  /** Prints the command's JSON document to stdout. */
  document(value: unknown): void;
  /** Prints one line of result to stdout. */
  line(text?: string): void;
  /** Prints a note to stderr (skipped with --json). */
  note(text: string): void;
  /** Prints an aligned table to stdout; an empty one prints `empty` instead (to stderr). */
  table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, empty: string): void;
  /** Prints `label: value` pairs aligned, to stdout. */
  fields(pairs: ReadonlyArray<readonly [string, string]>): void;
}

/** The streams and environment an {@link Output} writes to; tests of the CLI run it as a process. */
export interface OutputTarget {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

/** True when colours may be written to `stream`: a TTY, and NO_COLOR unset or empty (https://no-color.org). */
export function colorsAllowed(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "");
}

/** ANSI colours, or identity functions when `enabled` is false. */
export function colorsOf(enabled: boolean): Colors {
  const style = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { bold: style(1, 22), dim: style(2, 22), red: style(31, 39), green: style(32, 39), yellow: style(33, 39), cyan: style(36, 39) };
}

/** Borderless, kubectl-like table layout: columns separated by two spaces. */
const PLAIN_CHARS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/** Creates the output of one CLI run. */
export function createOutput(json: boolean, target: OutputTarget = process): Output {
  const colors = colorsOf(colorsAllowed(target.stdout, target.env));
  const errColors = colorsOf(colorsAllowed(target.stderr, target.env));
  const write = (stream: NodeJS.WriteStream, text: string) => stream.write(`${text}\n`);
  return {
    json,
    colors,
    errColors,
    stderrIsTerminal: target.stderr.isTTY === true,
    stdinIsTerminal: target.stdin.isTTY === true,
    document(value) {
      write(target.stdout, JSON.stringify(value, null, 2));
    },
    line(text = "") {
      write(target.stdout, text);
    },
    note(text) {
      if (!json) write(target.stderr, text);
    },
    table(headers, rows, empty) {
      if (rows.length === 0) {
        this.note(empty);
        return;
      }
      const table = new Table({
        head: headers.map((h) => colors.bold(h)),
        chars: PLAIN_CHARS,
        style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
      });
      table.push(...rows.map((row) => [...row]));
      write(target.stdout, table.toString().split("\n").map((l) => l.trimEnd()).join("\n"));
    },
    fields(pairs) {
      const width = Math.max(...pairs.map(([label]) => label.length));
      for (const [label, value] of pairs) write(target.stdout, `${colors.bold(`${label}:`.padEnd(width + 1))} ${value}`);
    },
  };
}
