import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/**
 * A throw-away project root for fleet tests: this project's Pulumi.yaml (the fleet
 * settings) and stack files the test writes, so no test depends on which
 * Pulumi.<stack>.yaml files the repository holds.
 */
export function fleetRoot(stacks: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), "openedx-im-fleet-"));
  writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml")));
  for (const [stack, text] of Object.entries(stacks)) writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
  return root;
}

export const sandboxFile = (name: string, subDomain: string, release = "redwood") =>
  ["config:", "  openedx-im:instance:", `    name: ${JSON.stringify(name)}`, `    subDomain: ${subDomain}`, "    baseDomain: sandbox.example.org", "    lifecycle: sandbox", `    release: ${release}`, ""].join("\n");

export const productionFile = (subDomain: string, release = "quince") =>
  [
    "# A production site: comments must survive an edit.",
    "config:",
    "  openedx-im:instance:",
    `    name: Site ${subDomain}`,
    `    subDomain: ${subDomain}`,
    "    baseDomain: example.org",
    "    lifecycle: production",
    "    databases: persistent",
    "    mysqlServer: mysql-a",
    "    securityGroup:",
    "      sshSources: [198.51.100.0/24]",
    "    appServers:",
    "      # the first build",
    "      - id: a20261101",
    `        release: ${release}`,
    "        appServerCount: 2",
    "        extraSettings:",
    "          EDXAPP_PLATFORM_NAME: Site",
    "    activeAppServer: a20261101 # moved by fleet redeploy",
    "",
  ].join("\n");
