/**
 * Writes config/tutor/keys.json: the config keys each Tutor series of the version
 * matrix defines with the plugins its releases enable, read from the real Tutor
 * (extract.py) of ../shared/vendor/tutor/<series>. Run after adding or bumping a
 * Tutor release:  npx tsx tools/tutor-keys/write.ts [<vendor dir>]
 * The test "Tutor config keys" fails while the file disagrees with the vendored Tutor.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { versionMatrix } from "../../config/matrix/data";
import type { TutorSeries } from "../../config/matrix/types";

export const KEYS_FILE = path.resolve(__dirname, "../../config/tutor/keys.json");

export interface SeriesKeys {
  version: string;
  plugins: string[];
  keys: string[];
}

/** The keys of one series as its real Tutor reports them. */
export function extractKeys(vendorDir: string, series: TutorSeries, plugins: string[]): SeriesKeys {
  const out = execFileSync("/usr/bin/python3", [path.join(__dirname, "extract.py"), ...plugins], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PYTHONPATH: path.join(vendorDir, series), HOME: process.env.HOME ?? "/tmp" },
    encoding: "utf8",
  });
  return JSON.parse(out) as SeriesKeys;
}

/** Every series the matrix uses, with the union of the plugins its releases enable, sorted. */
export function seriesInMatrix(): Map<TutorSeries, string[]> {
  const result = new Map<TutorSeries, string[]>();
  for (const release of Object.values(versionMatrix.releases)) {
    if (!release.tutor) continue;
    const plugins = new Set([...(result.get(release.tutor.series) ?? []), ...Object.keys(release.tutor.plugins)]);
    result.set(release.tutor.series, [...plugins].sort());
  }
  return new Map([...result.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function extractAll(vendorDir: string): Record<string, SeriesKeys> {
  const all: Record<string, SeriesKeys> = {};
  for (const [series, plugins] of seriesInMatrix()) all[series] = extractKeys(vendorDir, series, plugins);
  return all;
}

if (require.main === module) {
  const vendorDir = path.resolve(process.argv[2] ?? path.join(__dirname, "../../../shared/vendor/tutor"));
  writeFileSync(KEYS_FILE, JSON.stringify(extractAll(vendorDir), null, 1) + "\n");
  process.stdout.write(`wrote ${KEYS_FILE}\n`);
}
