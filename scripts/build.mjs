/**
 * The production build (`npm run build`): compiles server/, wire/, gen/ and worker/ to ES
 * modules under `dist/` with tsc (tsconfig.build.json), then copies beside them the files they
 * read at run time relative to their own module: every file of those folders that is not
 * TypeScript (the Redis scripts `server/redis/lua/*.lua`, the migrations
 * `server/db/migrations/*.sql`, the descriptor image `gen/image.binpb`). It writes
 * `dist/package.json` (name, version, `"type": "module"`: the server reports that version) and,
 * when `npm run build:web` has built it, copies the dashboard to `dist/clients/web/dist`, where
 * the compiled server's default DASHBOARD_DIR points. `dist/` is then the whole program:
 * `node dist/server/main.js`, `node dist/worker/example/main.js`, with the production
 * node_modules above it. The development scripts (`npm run server`, tsx) do not use it.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = path.join(root, "dist");
/** The folders compiled, as tsconfig.build.json includes them. */
const SOURCE_DIRS = ["server", "wire", "gen", "worker"];

rmSync(outDir, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compiled = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

let assets = 0;
for (const dir of SOURCE_DIRS) {
  for (const file of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!file.isFile() || file.name.endsWith(".ts")) continue;
    const from = path.join(file.parentPath ?? file.path, file.name);
    const to = path.join(outDir, path.relative(root, from));
    mkdirSync(path.dirname(to), { recursive: true });
    cpSync(from, to);
    assets++;
  }
}

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const distPackage = { name: pkg.name, version: pkg.version, private: true, type: "module" };
writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify(distPackage, null, 2)}\n`);

const dashboard = path.join(root, "clients/web/dist");
const hasDashboard = existsSync(path.join(dashboard, "index.html"));
if (hasDashboard) cpSync(dashboard, path.join(outDir, "clients/web/dist"), { recursive: true });

console.log(
  `dist/: ${SOURCE_DIRS.join("/, ")}/ compiled, ${assets} run-time files copied, ` +
    (hasDashboard ? "dashboard copied" : "no dashboard (run `npm run build:web` first to include it)"),
);
