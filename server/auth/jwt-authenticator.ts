import { verify as verifySignature } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { PeriodicTask } from "../engine/periodic-task.js";
import type { Service } from "../engine/service.js";
import type { Logger } from "../observability/logger.js";
import { loadJwks, type JwksLocation, type JwtKey } from "./jwks.js";
import type { Principal } from "./principal.js";
import { compileQueueScope, queuePatternProblem } from "./queue-patterns.js";
import { isRoleName, type RoleName } from "./roles.js";

/** Options of {@link JwtAuthenticator} (the `AUTH_JWT_*` settings). */
export interface JwtAuthenticatorOptions {
  /** The JWKS URL or file. */
  jwks: JwksLocation;
  /** Required `iss`. */
  issuer: string;
  /** Required member of `aud`. */
  audience: string;
  /** Claim (a dotted path, e.g. `realm_access.roles`) holding the role name, or a list where the first role name counts. */
  roleClaim: string;
  /** Claim (a dotted path) holding the queue patterns: a list, or one string of patterns separated by spaces or commas. */
  queuesClaim: string;
  /** Periodic key set refresh, ms. */
  refreshIntervalMs: number;
  logger: Logger;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Clock skew tolerated on `exp` and `nbf`, seconds. */
export const JWT_CLOCK_TOLERANCE_S = 30;
/** Least time between two key set refreshes asked for by an unknown `kid`, ms. */
const DEMAND_REFRESH_MIN_MS = 10_000;
/** Verified tokens kept (the cache is emptied when full, and whenever the key set changes). */
const CACHE_LIMIT = 10_000;

const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/;

/**
 * Authenticates `authorization: Bearer <JWT>` issued by an OpenID Connect provider: RS256 or
 * ES256 signatures (node:crypto) against the provider's JWKS, kept in memory and refreshed
 * every `refreshIntervalMs` and when a token names an unknown `kid` (key rotation; at most once
 * per 10 s); `iss`, `aud`, `exp` and `nbf` checked (30 s clock tolerance); the role and queue
 * patterns read from configured claims. `alg: none`, HS256 and any other algorithm are refused.
 * Verified tokens are cached until they expire, so a call costs a map lookup.
 */
export class JwtAuthenticator implements Service {
  private keys: JwtKey[] = [];
  private cache = new Map<string, { principal: Principal; expiresAtMs: number }>();
  private readonly periodic: PeriodicTask;
  private readonly now: () => number;
  private lastDemandRefresh = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: JwtAuthenticatorOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new PeriodicTask({ name: "jwks refresh", intervalMs: options.refreshIntervalMs, logger: options.logger, run: () => this.refresh() });
  }

  /** Loads the key set (a failure is logged: JWTs are refused until a refresh succeeds), then refreshes it periodically. */
  async start(): Promise<void> {
    await this.refresh().catch((error: unknown) => this.options.logger.error({ err: error }, "loading the JWKS failed: JWTs are refused until it loads"));
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** Whether a bearer value has the shape of a JWT (three base64url parts, a JSON header). */
  static looksLikeJwt(bearer: string): boolean {
    return JWT_SHAPE.test(bearer);
  }

  /**
   * The caller a JWT names.
   * @throws ConnectError UNAUTHENTICATED saying what is wrong with the token
   */
  authenticate(token: string): Principal {
    const cached = this.cache.get(token);
    if (cached && this.now() < cached.expiresAtMs) return cached.principal;
    if (cached) this.cache.delete(token);
    const [headerPart, payloadPart, signaturePart] = token.split(".") as [string, string, string];
    const header = decodeJson(headerPart, "header");
    const alg = header.alg;
    if (alg !== "RS256" && alg !== "ES256") throw invalid(`alg ${JSON.stringify(alg)} is not accepted (RS256 or ES256)`);
    const kid = typeof header.kid === "string" ? header.kid : "";
    const key = this.keyFor(kid, alg);
    const signature = Buffer.from(signaturePart, "base64url");
    const data = Buffer.from(`${headerPart}.${payloadPart}`);
    let ok: boolean;
    try {
      ok = alg === "ES256" ? verifySignature("sha256", data, { key: key.key, dsaEncoding: "ieee-p1363" }, signature) : verifySignature("sha256", data, key.key, signature);
    } catch {
      ok = false;
    }
    if (!ok) throw invalid("bad signature");
    const claims = decodeJson(payloadPart, "payload");
    const expiresAtMs = this.checkClaims(claims);
    const principal = this.principalOf(claims);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(token, { principal, expiresAtMs });
    return principal;
  }

  private keyFor(kid: string, alg: string): JwtKey {
    const candidates = this.keys.filter((k) => k.alg === alg && (kid === "" ? true : k.kid === kid));
    if (candidates.length === 1) return candidates[0]!;
    if (kid === "" && candidates.length > 1) throw invalid("the header names no kid and the key set has several keys");
    // An unknown kid may be a rotated key: fetch the key set again (not more than once per 10 s).
    if (this.now() - this.lastDemandRefresh >= DEMAND_REFRESH_MIN_MS) {
      this.lastDemandRefresh = this.now();
      this.periodic.request();
    }
    throw invalid(this.keys.length === 0 ? "the key set (JWKS) is not loaded" : `unknown key id ${JSON.stringify(kid)} for ${alg}`);
  }

  /** Checks iss, aud, exp and nbf; returns when the token expires (epoch ms). */
  private checkClaims(claims: Record<string, unknown>): number {
    const { issuer, audience } = this.options;
    if (claims.iss !== issuer) throw invalid(`issuer ${JSON.stringify(claims.iss)} is not ${JSON.stringify(issuer)}`);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(audience)) throw invalid(`audience ${JSON.stringify(claims.aud)} does not include ${JSON.stringify(audience)}`);
    const nowS = this.now() / 1000;
    if (typeof claims.exp !== "number") throw invalid("no exp claim");
    if (nowS >= claims.exp + JWT_CLOCK_TOLERANCE_S) throw invalid(`expired at ${new Date(claims.exp * 1000).toISOString()}`);
    if (claims.nbf !== undefined) {
      if (typeof claims.nbf !== "number") throw invalid("nbf is not a number");
      if (nowS < claims.nbf - JWT_CLOCK_TOLERANCE_S) throw invalid(`not valid before ${new Date(claims.nbf * 1000).toISOString()}`);
    }
    return (claims.exp + JWT_CLOCK_TOLERANCE_S) * 1000;
  }

  private principalOf(claims: Record<string, unknown>): Principal {
    const { roleClaim, queuesClaim } = this.options;
    const roleValue = claimAt(claims, roleClaim);
    const role = (Array.isArray(roleValue) ? roleValue : [roleValue]).find((r): r is RoleName => typeof r === "string" && isRoleName(r));
    if (role === undefined) throw denied(`claim ${roleClaim} names no role (admin, operator, producer, worker or viewer)`);
    const queuesValue = claimAt(claims, queuesClaim);
    const patterns =
      typeof queuesValue === "string" ? queuesValue.split(/[\s,]+/).filter(Boolean) : Array.isArray(queuesValue) ? queuesValue : undefined;
    if (patterns === undefined || patterns.length === 0) throw denied(`claim ${queuesClaim} names no queue patterns (use "*" for every queue)`);
    for (const pattern of patterns) {
      if (typeof pattern !== "string" || queuePatternProblem(pattern) !== undefined) throw denied(`claim ${queuesClaim}: ${JSON.stringify(pattern)} is not a queue pattern`);
    }
    const subject = typeof claims.sub === "string" ? claims.sub : "?";
    return { name: `jwt "${subject}" (${this.options.issuer})`, role, scope: compileQueueScope(patterns as string[]) };
  }

  private async refresh(): Promise<void> {
    const keys = await loadJwks(this.options.jwks);
    const before = this.keys.map((k) => `${k.kid}/${k.alg}`).join(",");
    this.keys = keys;
    if (keys.map((k) => `${k.kid}/${k.alg}`).join(",") !== before) {
      // A key removed from the set must stop verifying at once.
      this.cache.clear();
      this.options.logger.info({ keys: keys.map((k) => k.kid) }, "JWKS loaded");
    }
  }
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw invalid(`the ${what} is not base64url JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalid(`the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** The value at a dotted path of the claims (`realm_access.roles`); a claim named with dots wins. */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let value: unknown = claims;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function invalid(reason: string): ConnectError {
  return new ConnectError(`invalid JWT: ${reason}`, Code.Unauthenticated);
}

function denied(reason: string): ConnectError {
  return new ConnectError(`JWT refused: ${reason}`, Code.PermissionDenied);
}
