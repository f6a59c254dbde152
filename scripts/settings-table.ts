/**
 * Writes the README's configuration table from the settings table
 * (`server/settings/server-settings.ts`): `npm run settings:table`. With `--check`
 * (`npm run settings:check`, run by CI) it changes nothing and exits 1 when the README's table
 * is stale. Run from anywhere: paths are relative to the repository root.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readmeSettingsTable, renderSettingsTable, withSettingsTable } from "../server/settings/readme-table.js";

const readmePath = resolve(dirname(fileURLToPath(import.meta.url)), "..", "README.md");
const readme = readFileSync(readmePath, "utf8");
const table = renderSettingsTable();

if (process.argv.includes("--check")) {
  if (readmeSettingsTable(readme) !== table) {
    process.stderr.write(
      "settings-table: the README's configuration table is out of date with server/settings/server-settings.ts. " +
        "Run `npm run settings:table` and commit the result.\n",
    );
    process.exit(1);
  }
  process.stdout.write("settings-table: the README's configuration table is current\n");
} else {
  const updated = withSettingsTable(readme, table);
  if (updated !== readme) writeFileSync(readmePath, updated);
  process.stdout.write(`settings-table: ${updated === readme ? "README.md already current" : "README.md updated"}\n`);
}
