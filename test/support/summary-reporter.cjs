// Mocha's spec output, then one line `N passed, N failed` that .ci/run reads.
// The line is also written to .test-results/summary.txt so that a wrapper can
// print it last, after whatever npm prints on a failing exit.
"use strict";
const fs = require("fs");
const path = require("path");
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => { passed += 1; });
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => { failed += 1; });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const line = `${passed} passed, ${failed} failed`;
      const dir = path.join(process.cwd(), ".test-results");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "summary.txt"), line + "\n");
      process.stdout.write("\n" + line + "\n");
    });
  }
}
module.exports = SummaryReporter;
