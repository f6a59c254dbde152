import { startPostgresProcess } from "./tools/local-services/postgres-process.js";
import { startRedisProcess } from "./tools/local-services/redis-process.js";
const pg = await startPostgresProcess({ fsync: false });
const redis = await startRedisProcess({});
console.log(JSON.stringify({ pg: pg.url, redis: (redis as any).url }));
process.on("SIGTERM", async () => { await pg.stop(); await redis.stop(); process.exit(0); });
setInterval(() => {}, 1 << 30);
