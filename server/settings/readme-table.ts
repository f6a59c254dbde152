/**
 * The README's configuration table, written from the settings table. The README holds it
 * between two marker comments; `npm run settings:table` rewrites that section and
 * `npm run settings:check` (and a spec) fail when it is stale.
 */
import { serverSettings } from "./server-settings.js";
import { isDerived, type Setting } from "./setting.js";

/** The comment that opens the generated section of the README. */
export const TABLE_BEGIN = "<!-- settings-table:begin (generated from server/settings/server-settings.ts by `npm run settings:table`) -->";
/** The comment that closes the generated section of the README. */
export const TABLE_END = "<!-- settings-table:end -->";

/** The README's default column of one setting. */
function defaultCell(setting: Setting<unknown>): string {
  if (setting.defaultDoc !== undefined) return setting.defaultDoc;
  if (isDerived(setting.default)) return setting.default.doc;
  return `\`${setting.kind.format(setting.default)}\``;
}

/** The configuration table, as markdown: variable, default, meaning; one row per setting. */
export function renderSettingsTable(): string {
  const rows = (Object.values(serverSettings) as Setting<unknown>[]).map(
    (setting) => `| \`${setting.env}\` | ${defaultCell(setting)} | ${setting.doc} |`,
  );
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

/** The README's markers are missing or out of order. */
export class MissingTableMarkersError extends Error {
  constructor() {
    super(`the README has no section between "${TABLE_BEGIN}" and "${TABLE_END}"`);
  }
}

/** Finds the generated section: the text between the markers (after the begin line). */
function sectionBounds(readme: string): { start: number; end: number } {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new MissingTableMarkersError();
  return { start: begin + TABLE_BEGIN.length, end };
}

/** The table the README holds now (between the markers, trimmed). */
export function readmeSettingsTable(readme: string): string {
  const { start, end } = sectionBounds(readme);
  return readme.slice(start, end).trim();
}

/** The README with its generated section replaced by `table`. */
export function withSettingsTable(readme: string, table: string): string {
  const { start, end } = sectionBounds(readme);
  return `${readme.slice(0, start)}\n${table}\n${readme.slice(end)}`;
}
