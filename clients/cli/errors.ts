import { Code, ConnectError } from "@connectrpc/connect";
import { EXIT } from "./exit-codes.js";

/** A failure the CLI reports as one line, with its exit code and (for --json) its code name. */
export class CliError extends Error {
  override name = "CliError";

  constructor(
    message: string,
    /** Exit code (see exit-codes.ts). */
    readonly exitCode: number,
    /** Code name for --json, e.g. "INVALID_ARGUMENT". */
    readonly codeName: string,
    /** The offending field or option, when known. */
    readonly field = "",
  ) {
    super(message);
  }
}

/** Bad input found before anything was sent: exit 2, `INVALID_ARGUMENT`, naming the option or argument. */
export function usageError(field: string, problem: string): CliError {
  return new CliError(`${field}: ${problem}`, EXIT.invalid, "INVALID_ARGUMENT", field);
}

/** What the CLI prints and returns for an error. */
export interface ErrorReport {
  /** The one line printed on stderr: `NOT_FOUND: task … not found`, `cannot reach …: connection refused`. */
  line: string;
  /** The message alone (the server's, without the code), as --json shows it. */
  message: string;
  /** gRPC code name, or INVALID_ARGUMENT / INTERNAL for local failures. */
  code: string;
  /** The offending field, when the server or the CLI named one. */
  field: string;
  /** Exit code. */
  exitCode: number;
}

const NETWORK_PROBLEMS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed",
};

/** Maps any error to its one-line report; `server` is the address the CLI talked to. */
export function reportOf(error: unknown, server: string): ErrorReport {
  if (error instanceof CliError) return { line: error.message, message: error.message, code: error.codeName, field: error.field, exitCode: error.exitCode };
  if (error instanceof ConnectError) return reportOfConnectError(error, server);
  const message = firstLine(error instanceof Error ? error.message : String(error));
  return { line: message, message, code: "INTERNAL", field: "", exitCode: EXIT.serverError };
}

function reportOfConnectError(error: ConnectError, server: string): ErrorReport {
  const codeName = codeNameOf(error.code);
  const network = networkProblemOf(error);
  const unreachable = network ?? (error.code === Code.DeadlineExceeded ? "no answer in time" : undefined);
  if (unreachable !== undefined) {
    const message = `cannot reach ${server}: ${unreachable}`;
    return { line: message, message, code: codeName, field: "", exitCode: EXIT.unreachable };
  }
  const tls = tlsProblemOf(error);
  if (tls !== undefined) {
    const message = `cannot reach ${server}: ${tls}`;
    return { line: message, message, code: codeName, field: "", exitCode: EXIT.unreachable };
  }
  const message = firstLine(error.rawMessage);
  const field = error.code === Code.InvalidArgument ? fieldOf(error) : "";
  return { line: `${codeName}: ${message}`, message, code: codeName, field, exitCode: exitCodeOf(error.code) };
}

/** TLS handshake failures, by OpenSSL's or Node's words, and what to do about them. */
const TLS_PROBLEMS: ReadonlyArray<[RegExp, string]> = [
  [/certificate required|alert number 116/i, "the server requires a client certificate: give --tls-cert and --tls-key (TQ_TLS_CERT, TQ_TLS_KEY)"],
  [
    /self[- ]signed|unable to (get local issuer|verify)|certificate verify failed|UNABLE_TO_VERIFY|unknown ca/i,
    "the server's certificate is not signed by a CA this client trusts: give its CA with --tls-ca (TQ_TLS_CA)",
  ],
  [/altnames|ERR_TLS_CERT_ALTNAME|does not match certificate/i, "the server's certificate is not for this host name"],
  [/certificate has expired|CERT_HAS_EXPIRED/i, "the server's certificate has expired"],
  [/SSL routines.*(wrong version number|packet length too long)/i, "the server does not speak TLS: leave out --tls-* and TQ_TLS_*"],
];

/** What a TLS failure means for the user, or undefined when `error` is no TLS failure. */
function tlsProblemOf(error: ConnectError): string | undefined {
  const text = `${error.rawMessage} ${(error.cause as Error | undefined)?.message ?? ""}`;
  return TLS_PROBLEMS.find(([pattern]) => pattern.test(text))?.[1];
}

/** The network failure under an UNAVAILABLE error, e.g. "connection refused". */
function networkProblemOf(error: ConnectError): string | undefined {
  if (error.code !== Code.Unavailable) return undefined;
  const cause = error.cause as { code?: unknown } | undefined;
  const errno = typeof cause?.code === "string" ? cause.code : /\b(E[A-Z]+)\b/.exec(error.rawMessage)?.[1];
  if (errno !== undefined && NETWORK_PROBLEMS[errno] !== undefined) return NETWORK_PROBLEMS[errno];
  return undefined;
}

/** The field an INVALID_ARGUMENT message starts with ("queue: must be ..."), or `field` of a batch item error. */
function fieldOf(error: ConnectError): string {
  const named = (error as { field?: unknown }).field;
  if (typeof named === "string" && named !== "") return named;
  return /^([A-Za-z_][\w.[\]-]*): /.exec(error.rawMessage)?.[1] ?? "";
}

function exitCodeOf(code: Code): number {
  switch (code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return EXIT.invalid;
    case Code.NotFound:
      return EXIT.notFound;
    case Code.FailedPrecondition:
    case Code.AlreadyExists:
    case Code.Aborted:
      return EXIT.conflict;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return EXIT.unreachable;
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return EXIT.denied;
    case Code.Canceled:
      return EXIT.interrupted;
    default:
      return EXIT.serverError;
  }
}

/** "INVALID_ARGUMENT" for Code.InvalidArgument. */
export function codeNameOf(code: Code): string {
  return (Code[code] ?? "Unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0]!.trim();
}
