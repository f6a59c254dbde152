/**
 * `npx tsx bench/auth-cost.ts`: the CPU cost of authenticating one call with a bearer token and
 * checking its role (`AccessControl`), as the auth interceptor does on every RPC. Prints ns per
 * call for three rounds of 200,000 calls; then the same for a JWT (ES256 and RS256) whose
 * verification is cached, and the cost of a first (uncached) verification.
 */
import { AccessControl } from "../server/auth/access-control.js";
import { methodPolicies } from "../server/auth/method-policies.js";
import { compileQueueScope } from "../server/auth/queue-patterns.js";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JwtAuthenticator } from "../server/auth/jwt-authenticator.js";
import { createLogger } from "../server/observability/logger.js";

const ADMIN = "bench-admin-token-0123456789abcdef";
const access = new AccessControl({
  mode: "auto",
  adminToken: ADMIN,
  tokens: { size: 1, verifyHash: () => ({ name: "producer", role: "producer", scope: compileQueueScope(["*"]), tokenId: "tok_x" }) },
  policies: methodPolicies,
  lookups: { queuesOfTasks: () => Promise.resolve([]) },
});
const path = "/taskqueue.v1.TaskService/SubmitTasks";
const policy = access.policyOf(path);
for (const [label, header] of [["TQ_ADMIN_TOKEN", `Bearer ${ADMIN}`], ["API token", "Bearer tq_AT6-uH6GnZniWzpMue1ICHgajMk6t-kut4SlV6cUkGQ"]] as const) {
  for (let round = 0; round < 3; round++) {
    const n = 200_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) access.checkRole(access.authenticate(header, () => "127.0.0.1"), path, policy);
    const ns = Number(process.hrtime.bigint() - started) / n;
    process.stdout.write(`${label}: authenticate + role check ${ns.toFixed(0)} ns per call\n`);
  }
}

// JWTs: an ES256 and an RS256 key in a JWKS file; tokens signed here.
const keys = (["ES256", "RS256"] as const).map((alg) => {
  const pair = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { alg, kid: alg, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid: alg, alg } };
});
const jwksFile = join(mkdtempSync(join(tmpdir(), "tq-bench-jwks-")), "jwks.json");
writeFileSync(jwksFile, JSON.stringify({ keys: keys.map((k) => k.jwk) }));
const jwt = new JwtAuthenticator({
  jwks: { url: "", file: jwksFile },
  issuer: "https://idp.bench",
  audience: "taskqueue",
  roleClaim: "tq_role",
  queuesClaim: "tq_queues",
  refreshIntervalMs: 3_600_000,
  logger: createLogger({ name: "bench", level: "silent" }),
});
await jwt.start();
const withJwt = new AccessControl({
  mode: "auto",
  adminToken: ADMIN,
  tokens: { size: 0, verifyHash: () => undefined },
  policies: methodPolicies,
  lookups: { queuesOfTasks: () => Promise.resolve([]) },
  jwt,
});
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const tokenOf = (key: (typeof keys)[number], n: number) => {
  const input = `${b64({ alg: key.alg, kid: key.kid })}.${b64({ iss: "https://idp.bench", aud: "taskqueue", sub: `u${n}`, exp: Math.floor(Date.now() / 1000) + 3600, tq_role: "producer", tq_queues: ["*"] })}`;
  const signature = sign("sha256", Buffer.from(input), key.alg === "ES256" ? { key: key.privateKey, dsaEncoding: "ieee-p1363" } : key.privateKey);
  return `Bearer ${input}.${signature.toString("base64url")}`;
};
for (const key of keys) {
  const header = tokenOf(key, 0);
  for (let round = 0; round < 3; round++) {
    const n = 200_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) withJwt.checkRole(withJwt.authenticate(header, () => "127.0.0.1"), path, policy);
    process.stdout.write(`JWT ${key.alg} (cached): authenticate + role check ${(Number(process.hrtime.bigint() - started) / n).toFixed(0)} ns per call\n`);
  }
  const fresh = Array.from({ length: 2_000 }, (_, i) => tokenOf(key, i + 1));
  const started = process.hrtime.bigint();
  for (const h of fresh) withJwt.authenticate(h, () => "127.0.0.1");
  process.stdout.write(`JWT ${key.alg} (first use, signature verified): ${(Number(process.hrtime.bigint() - started) / fresh.length / 1000).toFixed(1)} µs per token\n`);
}
await jwt.stop();
