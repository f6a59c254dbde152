/**
 * `npx tsx bench/quota-cost.ts`: the CPU cost of charging one submit to a token's quota
 * (`TokenQuotas.takeSubmits`, once per SubmitTask/SubmitTasks call), across 100 tokens. Prints
 * ns per call for three rounds of 2,000,000 calls.
 */
import type { Principal } from "../server/auth/principal.js";
import { compileQueueScope } from "../server/auth/queue-patterns.js";
import { TokenQuotas } from "../server/auth/token-quotas.js";

const quotas = new TokenQuotas({ submitRate: 1e9, submitBurst: 1e9, workerStreams: 256 });
const scope = compileQueueScope(["*"]);
const principals: Principal[] = Array.from({ length: 100 }, (_, i) => ({ name: `token ${i}`, role: "producer", scope, tokenId: `tok_${i}` }));
for (let round = 0; round < 3; round++) {
  const calls = 2_000_000;
  const started = performance.now();
  for (let i = 0; i < calls; i++) quotas.takeSubmits(principals[i % principals.length]!, 1);
  console.log(`takeSubmits: ${(((performance.now() - started) * 1e6) / calls).toFixed(0)} ns per call`);
}
