import { strict as assert } from "node:assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

/** config/ is the ground floor: what it imports stays inside config/ (or comes from packages). */
const ROOT = path.resolve(__dirname, "..");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? tsFiles(full) : full.endsWith(".ts") ? [full] : [];
  });
}

describe("layering", () => {
  it("config/ imports nothing from components/, stacks/, scripts/ or tools/", () => {
    const offending: string[] = [];
    for (const file of tsFiles(path.join(ROOT, "config")))
      for (const match of readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*["'](\.[^"']+)["']/g)) {
        const target = path.resolve(path.dirname(file), match[1]);
        if (!target.startsWith(path.join(ROOT, "config") + path.sep)) offending.push(`${path.relative(ROOT, file)} → ${match[1]}`);
      }
    assert.deepEqual(offending, []);
  });
});
