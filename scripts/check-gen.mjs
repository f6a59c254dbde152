#!/usr/bin/env node
/**
 * Checks that the committed generated code is up to date: runs `npm run gen`
 * (`scripts/gen.mjs`) and fails with exit code 1, listing the
 * files, when `git status --porcelain` then shows any change in a generated folder: `gen/`
 * (TypeScript), `clients/go/gen/` (Go) and `clients/python/src/taskqueue_client/gen/` (Python).
 * The Go and Python plugins come from `bash clients/install-toolchains.sh`. Run from the
 * repository root.
 */
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Folders holding generated code only (each is a plugin `out` in buf.gen.yaml). */
const generatedFolders = ["gen", "clients/go/gen", "clients/python/src/taskqueue_client/gen"];

/**
 * Runs `command args…` in the repository root, echoing the command; exits on failure.
 * @param {string} command
 * @param {string[]} args
 * @param {{ capture?: boolean }} [options]
 * @returns {string} the captured standard output (empty unless `capture`)
 */
function run(command, args, options = {}) {
  process.stdout.write(`$ ${[command, ...args].join(" ")}\n`);
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: ["ignore", options.capture ? "pipe" : "inherit", "inherit"],
    encoding: "utf8",
  });
  if (result.error) {
    process.stderr.write(`check-gen: cannot run ${command}: ${result.error.message}\n`);
    process.exit(1);
  }
  if (result.status !== 0) {
    process.stderr.write(`check-gen: ${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(1);
  }
  return result.stdout ?? "";
}

run("node", ["scripts/gen.mjs"]);
const changes = run("git", ["status", "--porcelain", "--untracked-files=all", "--", ...generatedFolders], {
  capture: true,
}).trimEnd();
if (changes.length > 0) {
  process.stderr.write(
    `check-gen: generated code (${generatedFolders.join(", ")}) is out of date with proto/. ` +
      "Run `npm run gen` and commit the result. Changed files:\n" +
      `${changes}\n`,
  );
  process.exit(1);
}
process.stdout.write(`check-gen: ${generatedFolders.join(", ")} are up to date\n`);
