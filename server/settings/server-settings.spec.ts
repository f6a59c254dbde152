import { describe, expect, it } from "vitest";
import { compileServerOptions, serverOptionsFromEnv } from "../config.js";
import { readmeSettingsTable, renderSettingsTable, TABLE_BEGIN, TABLE_END, withSettingsTable } from "./readme-table.js";
import { serverSettings } from "./server-settings.js";
import type { Setting } from "./setting.js";

const settings = Object.entries(serverSettings) as [string, Setting<unknown>][];
const numeric = settings.filter(([, setting]) => !setting.kind.blankIsUnset && "problem" in setting.kind.parse("abc"));

describe("the settings table", () => {
  it("has one environment variable per setting, and every default within its bounds", () => {
    expect(new Set(settings.map(([, s]) => s.env)).size).toBe(settings.length);
    expect(() => compileServerOptions({})).not.toThrow();
  });

  it("range-checks every numeric setting, naming the variable and the option", () => {
    expect(numeric.length).toBeGreaterThan(30);
    for (const [key, setting] of numeric) {
      for (const text of ["-1", "", "abc", String(2 ** 53)]) {
        expect(() => serverOptionsFromEnv({ [setting.env]: text }), `${setting.env}=${text}`).toThrow(
          new RegExp(`^${setting.env}: must be .* \\(option ${key}\\)$`),
        );
      }
      expect(() => compileServerOptions({ [key]: -1 }), key).toThrow(new RegExp(`^${key}: must be .* \\(environment variable ${setting.env}\\)$`));
    }
  });

  it("reads an empty DASHBOARD_DIR as turning the dashboard off, not as unset", () => {
    expect(compileServerOptions(serverOptionsFromEnv({})).dashboardDir).toBe("clients/web/dist");
    expect(compileServerOptions(serverOptionsFromEnv({ DASHBOARD_DIR: "" })).dashboardDir).toBe("");
    expect(compileServerOptions(serverOptionsFromEnv({ DASHBOARD_DIR: " /srv/dash " })).dashboardDir).toBe("/srv/dash");
  });

  it("writes the README section between its markers and reads it back", () => {
    const readme = `intro\n${TABLE_BEGIN}\n| stale |\n${TABLE_END}\noutro\n`;
    const updated = withSettingsTable(readme, renderSettingsTable());
    expect(readmeSettingsTable(readme)).toBe("| stale |");
    expect(readmeSettingsTable(updated)).toBe(renderSettingsTable());
    expect(updated.startsWith(`intro\n${TABLE_BEGIN}\n| variable | default | meaning |\n`)).toBe(true);
    expect(updated.endsWith(`|\n${TABLE_END}\noutro\n`)).toBe(true);
    expect(() => readmeSettingsTable("no markers")).toThrow(/no section between/);
  });
});
