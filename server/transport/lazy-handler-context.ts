import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import { peerAddressKey } from "./peer-address.js";

/** What {@link LazyHandlerContext} is built from. */
export interface LazyHandlerContextInit {
  service: DescService;
  method: DescMethod;
  protocolName: string;
  requestMethod: string;
  /** The authority the client addressed (the URL is built from it when asked for). */
  host: string;
  /** When the call's deadline passes (epoch ms), or undefined for none. */
  deadlineMs: number | undefined;
  /** Builds the request headers, when a handler or interceptor first reads them. */
  readRequestHeader: () => Headers;
  /** The remote address of the call's connection, put in the context values (`peerAddressKey`). */
  peerAddress?: () => string;
}

/**
 * A Connect `HandlerContext` whose costly parts are made only when used: the abort signal
 * (with its deadline timer), the request headers, the response headers and trailers, and
 * the context values. Most unary calls read none of them, and making them all for every
 * call (as `createHandlerContext` does) cost more server CPU than a submit's own work.
 * `abort` works whether or not the signal exists yet: a signal made later starts aborted.
 */
export class LazyHandlerContext implements HandlerContext {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocolName: string;
  readonly requestMethod: string;
  private readonly host: string;
  private readonly deadlineMs: number | undefined;
  private readonly readRequestHeader: () => Headers;
  private readonly peerAddress: (() => string) | undefined;
  private controller: AbortController | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private aborted = false;
  private abortReason: unknown;
  private requestHeaders: Headers | undefined;
  private responseHeaders: Headers | undefined;
  private responseTrailers: Headers | undefined;
  private contextValues: ContextValues | undefined;

  constructor(init: LazyHandlerContextInit) {
    this.service = init.service;
    this.method = init.method;
    this.protocolName = init.protocolName;
    this.requestMethod = init.requestMethod;
    this.host = init.host;
    this.deadlineMs = init.deadlineMs;
    this.readRequestHeader = init.readRequestHeader;
    this.peerAddress = init.peerAddress;
  }

  /** `http://<host>/<service>/<method>`. */
  get url(): string {
    return `http://${this.host}/${this.service.typeName}/${this.method.name}`;
  }

  /** Aborted when the call is cancelled, ends, or its deadline passes. */
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    if (this.aborted) {
      controller.abort(this.abortReason);
    } else if (this.deadlineMs !== undefined) {
      this.deadlineTimer = setTimeout(
        () => this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        Math.max(0, this.deadlineMs - Date.now()),
      );
      this.deadlineTimer.unref();
    }
    return controller.signal;
  }

  /** Milliseconds left before the deadline, or undefined for none. */
  readonly timeoutMs = (): number | undefined => (this.deadlineMs === undefined ? undefined : this.deadlineMs - Date.now());

  get requestHeader(): Headers {
    return (this.requestHeaders ??= this.readRequestHeader());
  }

  get responseHeader(): Headers {
    return (this.responseHeaders ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.responseTrailers ??= new Headers());
  }

  get values(): ContextValues {
    if (this.contextValues) return this.contextValues;
    this.contextValues = createContextValues();
    if (this.peerAddress) this.contextValues.set(peerAddressKey, this.peerAddress);
    return this.contextValues;
  }

  /** True when a handler set at least one response header. */
  get hasResponseHeader(): boolean {
    return hasEntries(this.responseHeaders);
  }

  /** True when a handler set at least one response trailer. */
  get hasResponseTrailer(): boolean {
    return hasEntries(this.responseTrailers);
  }

  /** Aborts the signal (now, or as soon as it is made); later calls do nothing. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    clearTimeout(this.deadlineTimer);
    this.controller?.abort(reason);
  }
}

function hasEntries(headers: Headers | undefined): boolean {
  if (!headers) return false;
  for (const _ of headers.keys()) return true;
  return false;
}
