import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/**
 * The MariaDB port and directory the suite's set-up used: from the environment, else from the
 * services.env it wrote (so this test never starts a second server on the default port).
 */
function servicesEnvironment(): NodeJS.ProcessEnv {
  if (process.env.TEST_MARIADB_PORT && process.env.TEST_MARIADB_DIR) return process.env;
  const env: Record<string, string> = {};
  try {
    const text = readFileSync(path.join(ROOT, ".test-results/services.env"), "utf8");
    const port = /TEST_MYSQL_URL=.*:(\d+)\/$/m.exec(text)?.[1];
    const socket = /TEST_MARIADB_SOCKET=(.*)$/m.exec(text)?.[1];
    if (port) env.TEST_MARIADB_PORT = port;
    if (socket) env.TEST_MARIADB_DIR = path.dirname(socket);
  } catch {
    // No services.env: the script's defaults apply, as under `npm test`.
  }
  return { ...process.env, ...env };
}

describe("scripts/test-services.sh", () => {
  it("sets up (idempotently) and reports tool versions without any Python traceback", function () {
    this.timeout(120_000);
    const run = spawnSync("bash", ["scripts/test-services.sh"], { cwd: ROOT, env: servicesEnvironment(), encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /Traceback|BrokenPipeError/, run.stderr);
    assert.match(run.stderr, /^test-services: haproxy \d[^,]*, ansible-playbook \[core \d[^\]]*\], MariaDB on 127\.0\.0\.1:\d+$/m);
  });
});
