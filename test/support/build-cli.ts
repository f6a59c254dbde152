/**
 * Vitest global setup: builds `bin/tq.js` (the `tq` command line, `npm run build:cli`) before
 * the run, so the CLI tests run the current sources' binary, in a fresh clone too.
 */
export default async function setup(): Promise<void> {
  const { buildCli } = await import("../../scripts/build-cli.mjs");
  await buildCli();
}
