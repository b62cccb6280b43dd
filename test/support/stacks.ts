import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/**
 * The stacks the tests render: their own fleet (Pulumi.yaml) and stack files in
 * test/fixtures/stacks, never this repository's Pulumi.<stack>.yaml, which an
 * operator's fork adds, changes and removes. `dev` is a sandbox, `prod` a
 * production instance, `legacy` a production instance that adopts existing data.
 */
export const FIXTURE_STACKS = path.resolve(__dirname, "..", "fixtures", "stacks");

/** A fresh directory holding the fixture fleet's Pulumi.yaml and no stack file: tests write their own. */
export function scratchProject(prefix = "openedx-im-stacks-"): string {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  copyFileSync(path.join(FIXTURE_STACKS, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
  return root;
}
