/**
 * Rules between settings, checked once each setting is within its own bounds.
 */
import { InvalidArgumentError } from "../errors.js";
import type { CompiledServerOptions } from "./server-options.js";
import { parseClusterNodes } from "../redis/connection.js";

/** Shortest bootstrap admin token accepted. */
const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Throws an InvalidArgumentError naming the setting that breaks a rule between settings. */
export function checkCrossSettingRules(o: CompiledServerOptions): void {
  if (o.streamBufferMaxBytes < o.streamBufferBytes) {
    throw new InvalidArgumentError(
      "streamBufferMaxBytes",
      `must be at least streamBufferBytes (STREAM_BUFFER_MAX_BYTES >= STREAM_BUFFER_BYTES), got ${o.streamBufferMaxBytes} < ${o.streamBufferBytes}`,
    );
  }
  if (o.heartbeatIntervalMs >= o.leaseDurationMs) {
    throw new InvalidArgumentError(
      "heartbeatIntervalMs",
      `must be below leaseDurationMs (HEARTBEAT_INTERVAL_MS < LEASE_DURATION_MS), got ${o.heartbeatIntervalMs} >= ${o.leaseDurationMs}`,
    );
  }
  if (o.adminToken !== "" && o.adminToken.trim().length < MIN_ADMIN_TOKEN_LENGTH) {
    // The value is a secret: never quoted.
    throw new InvalidArgumentError("adminToken", `TQ_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -base64 32\`)`);
  }
  if ((o.tlsCertFile === "") !== (o.tlsKeyFile === "")) {
    throw new InvalidArgumentError(o.tlsCertFile === "" ? "tlsCertFile" : "tlsKeyFile", "TLS_CERT_FILE and TLS_KEY_FILE go together");
  }
  if (o.tlsClientCaFile !== "" && o.tlsCertFile === "") {
    throw new InvalidArgumentError("tlsClientCaFile", "TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE");
  }
  if (o.authJwtJwksUrl !== "" && !/^https?:\/\/./i.test(o.authJwtJwksUrl)) {
    throw new InvalidArgumentError("authJwtJwksUrl", `AUTH_JWT_JWKS_URL must be an https:// (or http://) URL, got ${JSON.stringify(o.authJwtJwksUrl)}`);
  }
  if (o.authJwtJwksUrl !== "" && o.authJwtJwksFile !== "") {
    throw new InvalidArgumentError("authJwtJwksFile", "give AUTH_JWT_JWKS_URL or AUTH_JWT_JWKS_FILE, not both");
  }
  if (o.authJwtJwksUrl !== "" || o.authJwtJwksFile !== "") {
    if (o.authJwtIssuer === "") throw new InvalidArgumentError("authJwtIssuer", "AUTH_JWT_ISSUER is required with a JWKS (the tokens' iss)");
    if (o.authJwtAudience === "") throw new InvalidArgumentError("authJwtAudience", "AUTH_JWT_AUDIENCE is required with a JWKS (the tokens' aud)");
  }
  // In cluster mode the seeds say whether Redis speaks TLS (and they must parse).
  const redisTls = o.redisClusterNodes === "" ? /^rediss:/i.test(o.redisUrl) : parseClusterNodes(o.redisClusterNodes).tls;
  if ((o.redisTlsCaFile !== "" || o.redisTlsCertFile !== "") && !redisTls) {
    const need = o.redisClusterNodes === "" ? "a rediss:// REDIS_URL" : "rediss:// REDIS_CLUSTER_NODES";
    throw new InvalidArgumentError(o.redisTlsCaFile !== "" ? "redisTlsCaFile" : "redisTlsCertFile", `REDIS_TLS_* files need ${need}`);
  }
  if ((o.redisTlsCertFile === "") !== (o.redisTlsKeyFile === "")) {
    throw new InvalidArgumentError(o.redisTlsCertFile === "" ? "redisTlsCertFile" : "redisTlsKeyFile", "REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together");
  }
}
