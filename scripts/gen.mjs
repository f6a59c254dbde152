#!/usr/bin/env node
/**
 * `npm run gen`: regenerates every generated folder from proto/ — removes the old files (so
 * code of deleted protos goes too), runs `buf generate` (TypeScript, Go and Python plugins, see
 * buf.gen.yaml), then writes the descriptor image `gen/image.binpb` that feeds server reflection.
 * buf.gen.yaml does not `clean` by itself, so a plain `buf generate` leaves the image in place.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Folders holding generated code only (the plugin `out`s of buf.gen.yaml). */
export const generatedFolders = ["gen", "clients/go/gen", "clients/python/src/taskqueue_client/gen"];

function run(command, args) {
  process.stdout.write(`$ ${[command, ...args].join(" ")}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    process.stderr.write(
      `gen: ${command} ${args.join(" ")} failed; restore the committed code with ` +
        `git checkout -- ${generatedFolders.join(" ")}\n`,
    );
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const folder of generatedFolders) rmSync(resolve(root, folder), { recursive: true, force: true });
  run("npx", ["--no", "buf", "generate"]);
  run("npx", ["--no", "buf", "build", "-o", "gen/image.binpb"]);
}
