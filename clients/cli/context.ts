import type { Command } from "commander";
import { createClients, type Clients } from "../ts/clients.js";
import type { ClientTlsOptions } from "../ts/client-options.js";
import { reportOf } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { createOutput, type Output } from "./output.js";

/** The global options every command sees (`tq --help` documents them). */
export interface GlobalOptions {
  /** host:port of the gRPC server. */
  server: string;
  /** Machine output: one JSON document. */
  json?: boolean;
  /** Bearer token. */
  token?: string;
  /** Print stack traces of errors. */
  debug?: boolean;
  /** PEM CA file: connect with TLS. */
  tlsCa?: string;
  /** PEM client certificate file (mutual TLS). */
  tlsCert?: string;
  /** PEM client key file (mutual TLS). */
  tlsKey?: string;
  /** UNSAFE: TLS without verifying the server. */
  insecureSkipVerify?: boolean | string;
}

/** What a command's action works with. */
export interface CliContext {
  /** The server address the command talks to. */
  readonly server: string;
  /** Output: results, notes, tables, JSON. */
  readonly out: Output;
  /** The clients of every service, over one connection opened on first use. */
  clients(): Clients;
}

/** A command's body: resolves with its exit code (0 when it returns nothing). */
export type CommandBody = (ctx: CliContext, command: Command) => Promise<number | void>;

/**
 * Wraps a command body as a commander action: builds the context from the global options,
 * runs the body, reports an error as one line (a JSON document with --json; the stack too
 * with --debug) and sets the exit code. The connection is closed at the end.
 */
export function action(body: CommandBody): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const out = createOutput(globals.json === true);
    let clients: Clients | undefined;
    const ctx: CliContext = {
      server: globals.server,
      out,
      clients: () =>
        (clients ??= createClients({
          address: globals.server,
          token: globals.token === "" ? undefined : globals.token,
          tls: tlsOf(globals),
          onQuotaWait: (delayMs, error) =>
            out.note(`${error.message.replace(/^\[resource_exhausted\] /, "").replace(/: retry in \d+ ms$/, "")}: waiting ${delayMs} ms, then retrying`),
        })),
    };
    try {
      process.exitCode = (await body(ctx, command)) ?? EXIT.ok;
    } catch (error) {
      const report = reportOf(error, globals.server);
      if (out.json) {
        out.document({ error: { code: report.code, message: report.message, field: report.field } });
      } else {
        process.stderr.write(`${out.errColors.red("error:")} ${report.line}\n`);
      }
      if (globals.debug === true) process.stderr.write(`${debugText(error)}\n`);
      process.exitCode = report.exitCode;
    } finally {
      clients?.close();
    }
  };
}

/** The TLS options the global options give; undefined for plaintext (unless the server address says https). */
function tlsOf(globals: GlobalOptions): ClientTlsOptions | undefined {
  const skip = globals.insecureSkipVerify === true || (typeof globals.insecureSkipVerify === "string" && /^(1|true|yes)$/i.test(globals.insecureSkipVerify));
  const tls: ClientTlsOptions = {
    ...(globals.tlsCa ? { caFile: globals.tlsCa } : {}),
    ...(globals.tlsCert ? { certFile: globals.tlsCert } : {}),
    ...(globals.tlsKey ? { keyFile: globals.tlsKey } : {}),
    ...(skip ? { insecureSkipVerify: true } : {}),
  };
  return Object.keys(tls).length === 0 ? undefined : tls;
}

function debugText(error: unknown): string {
  const lines = [error instanceof Error ? (error.stack ?? error.message) : String(error)];
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined) {
    lines.push(`caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines.join("\n");
}
