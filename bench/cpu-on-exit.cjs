// Preloaded by bench/plan-fleet.ts (NODE_OPTIONS=--require): each Node process of a run
// prints the CPU time it used, so the bench can report CPU beside wall time. On a shared
// machine wall time follows the other load; CPU time much less.
process.on("exit", () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`cpu-ms ${Math.round((user + system) / 1000)}\n`);
});
