import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  httpGet,
  LocalHaproxy,
  runApplyScript,
  startNamedBackend,
  type NamedBackend,
} from "../bench/local-haproxy";
import { renderHaproxyFragment, type HaproxyServer } from "../components/haproxy";
import { applyRequest } from "../components/load-balancer";

/**
 * scripts/lb/openedx-im-lb-apply against a real HAProxy in master-worker mode,
 * started as the Debian unit with the openedx-im drop-in starts it, on loopback.
 */

const PRELIMINARY = "openedx-im-preliminary";

function request(instanceId: string, domains: string[], servers: HaproxyServer[]): string {
  return applyRequest(instanceId, renderHaproxyFragment({ instanceId, domains, servers, preliminaryBackend: PRELIMINARY }));
}

function server(backend: NamedBackend): HaproxyServer {
  return { name: backend.name, address: "127.0.0.1", port: backend.port };
}

function snapshot(lb: LocalHaproxy, instanceId: string): Record<string, string | null> {
  const paths = [join(lb.paths.confDir, `openedx-im-${instanceId}.cfg`), join(lb.paths.mapDir, `${instanceId}.map`), lb.paths.mapFile];
  return Object.fromEntries(paths.map((path) => [path, existsSync(path) ? readFileSync(path, "utf8") : null]));
}

function release(holder: ChildProcess): void {
  if (holder.pid !== undefined) process.kill(-holder.pid, "SIGTERM");
}

/** Holds the apply lock with flock(1) until killed, as a concurrent apply would. */
async function holdLock(lockFile: string): Promise<ChildProcess> {
  // --close: only flock itself holds the lock, so killing its group releases it at once.
  const holder = spawn("flock", ["--exclusive", "--close", lockFile, "sh", "-c", "echo locked; exec sleep 30"], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  await new Promise<void>((done) => holder.stdout?.once("data", () => done()));
  return holder;
}

describe("openedx-im-lb-apply against a real HAProxy", function () {
  this.timeout(60_000);
  let lb: LocalHaproxy;
  let oldBackend: NamedBackend;
  let newBackend: NamedBackend;

  before(async () => {
    lb = await LocalHaproxy.start({ hardStopAfterSeconds: 20 });
    oldBackend = await startNamedBackend("old");
    newBackend = await startNamedBackend("new");
  });

  after(async () => {
    await lb?.stop();
    await oldBackend?.close();
    await newBackend?.close();
  });

  it("sends an instance's domains to the preliminary page, then to its appserver, whatever the Host's case or port", async () => {
    let result = await runApplyScript("apply", request("alpha", ["lms.alpha.test", "studio.alpha.test"], []), lb.env());
    assert.equal(result.status, 0, result.stderr);
    assert.equal((await httpGet(lb.url, "lms.alpha.test")).status, 503);

    result = await runApplyScript("apply", request("alpha", ["lms.alpha.test", "studio.alpha.test"], [server(oldBackend)]), lb.env());
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(await httpGet(lb.url, "lms.alpha.test"), { status: 200, body: "old" });
    assert.deepEqual(await httpGet(lb.url, "Studio.Alpha.TEST:80"), { status: 200, body: "old" });
    assert.equal((await httpGet(lb.url, "other.test")).status, 404, "a Host no instance claims goes to the default backend");
  });

  it("keeps each instance on its own backend", async () => {
    const result = await runApplyScript("apply", request("beta", ["lms.beta.test"], [server(newBackend)]), lb.env());
    assert.equal(result.status, 0, result.stderr);
    assert.equal((await httpGet(lb.url, "lms.beta.test")).body, "new");
    assert.equal((await httpGet(lb.url, "lms.alpha.test")).body, "old");
  });

  it("refuses a fragment haproxy -c rejects: exit 1, previous files restored, old configuration still serving", async () => {
    const before = snapshot(lb, "alpha");
    const fragment = renderHaproxyFragment({ instanceId: "alpha", domains: ["lms.alpha.test"], servers: [server(newBackend)], preliminaryBackend: PRELIMINARY });
    const broken = { ...fragment, config: fragment.config.replace("balance roundrobin", "balance sideways") };
    const result = await runApplyScript("apply", applyRequest("alpha", broken), lb.env());
    assert.equal(result.status, 1);
    assert.match(result.stderr, /haproxy -c rejected the configuration[\s\S]*balance only supports/);
    assert.deepEqual(snapshot(lb, "alpha"), before);
    assert.equal((await httpGet(lb.url, "lms.alpha.test")).body, "old");
  });

  it("refuses what haproxy -c would let through: a map to an undefined backend, another instance's domain, foreign sections", async () => {
    const before = snapshot(lb, "alpha");
    const fragment = renderHaproxyFragment({ instanceId: "alpha", domains: ["lms.alpha.test"], servers: [server(newBackend)], preliminaryBackend: PRELIMINARY });
    const cases: [string, string, RegExp][] = [
      [applyRequest("alpha", { ...fragment, map: "lms.alpha.test openedx-im-nowhere\n" }), "apply", /no configuration file defines/],
      [request("alpha", ["lms.alpha.test", "lms.beta.test"], [server(newBackend)]), "apply", /lms\.beta\.test is already routed to instance beta/],
      [applyRequest("alpha", { ...fragment, config: `${fragment.config}frontend sneaky\n    bind 127.0.0.1:1\n` }), "apply", /only backend sections/],
      [applyRequest("alpha", { ...fragment, config: fragment.config.replace("backend openedx-im-alpha", "backend openedx-im-beta") }), "apply", /must be named 'openedx-im-alpha'/],
      ['{"instanceId": "alpha", "config": ', "apply", /not one JSON object/],
      ['{"instanceId": "../etc", "config": "", "map": ""}', "apply", /instanceId/],
      ['{"instanceId": "alpha"}', "apply", /config must be a string/],
    ];
    for (const [stdin, subcommand, message] of cases) {
      const result = await runApplyScript(subcommand, stdin, lb.env());
      assert.equal(result.status, 1, `${stdin}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.deepEqual(snapshot(lb, "alpha"), before);
    }
    assert.equal((await httpGet(lb.url, "lms.alpha.test")).body, "old");
    assert.equal((await httpGet(lb.url, "lms.beta.test")).body, "new");
  });

  it("rolls back when the reload cannot happen (no master CLI): exit 3, files as before", async () => {
    const before = snapshot(lb, "alpha");
    const result = await runApplyScript(
      "apply",
      request("alpha", ["lms.alpha.test"], [server(newBackend)]),
      lb.env({ OPENEDX_IM_LB_MASTER_SOCKET: join(lb.paths.dir, "no-such.sock") }),
    );
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /cannot reach the master CLI/);
    assert.deepEqual(snapshot(lb, "alpha"), before);
  });

  it("returns only once the old worker finished the request it was serving with the old configuration", async () => {
    let slowAnsweredAt = 0;
    const slow = httpGet(`${lb.url}/slow?ms=1500`, "lms.alpha.test").then((answer) => ((slowAnsweredAt = Date.now()), answer));
    await new Promise((done) => setTimeout(done, 200));
    const result = await runApplyScript("apply", request("alpha", ["lms.alpha.test", "studio.alpha.test"], [server(newBackend)]), lb.env());
    const appliedAt = Date.now();
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(await slow, { status: 200, body: "old" }, "the request in flight completes on the old appserver");
    assert.ok(slowAnsweredAt > 0 && slowAnsweredAt <= appliedAt, "apply returned while the old worker still served a request");
    assert.equal((await httpGet(lb.url, "lms.alpha.test")).body, "new");
  });

  it("fails with exit 4 when old workers outlive the drain timeout (the new configuration is live)", async () => {
    const slow = httpGet(`${lb.url}/slow?ms=2500`, "lms.alpha.test");
    await new Promise((done) => setTimeout(done, 200));
    const result = await runApplyScript("apply", request("alpha", ["lms.alpha.test"], [server(newBackend)]), lb.env({ OPENEDX_IM_LB_DRAIN_TIMEOUT: "0.5" }));
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /old workers .* still serve connections/);
    assert.equal((await slow).status, 200);
  });

  it("serialises applies: one waits for the lock, both changes end up in the map", async () => {
    const holder = await holdLock(lb.paths.lockFile);
    const started = Date.now();
    const gamma = runApplyScript("apply", request("gamma", ["lms.gamma.test"], [server(oldBackend)]), lb.env());
    const delta = runApplyScript("apply", request("delta", ["lms.delta.test"], [server(newBackend)]), lb.env());
    await new Promise((done) => setTimeout(done, 800));
    assert.equal(snapshot(lb, "gamma")[join(lb.paths.mapDir, "gamma.map")], null, "nothing written while another holds the lock");
    release(holder);
    const results = await Promise.all([gamma, delta]);
    for (const result of results) assert.equal(result.status, 0, result.stderr);
    assert.ok(Date.now() - started >= 800);
    const map = readFileSync(lb.paths.mapFile, "utf8");
    assert.match(map, /^lms\.gamma\.test openedx-im-gamma$/m);
    assert.match(map, /^lms\.delta\.test openedx-im-delta$/m);
    assert.equal((await httpGet(lb.url, "lms.gamma.test")).body, "old");
    assert.equal((await httpGet(lb.url, "lms.delta.test")).body, "new");
  });

  it("gives up with exit 2 when the lock stays taken past the lock timeout, changing nothing", async () => {
    const holder = await holdLock(lb.paths.lockFile);
    try {
      const result = await runApplyScript("apply", request("epsilon", ["lms.epsilon.test"], []), lb.env({ OPENEDX_IM_LB_LOCK_TIMEOUT: "0.3" }));
      assert.equal(result.status, 2, result.stderr);
      assert.equal(snapshot(lb, "epsilon")[join(lb.paths.confDir, "openedx-im-epsilon.cfg")], null);
    } finally {
      release(holder);
    }
  });

  it("remove deletes the instance's files, reloads, and leaves the others alone", async () => {
    const result = await runApplyScript("remove", request("gamma", ["lms.gamma.test"], [server(oldBackend)]), lb.env());
    assert.equal(result.status, 0, result.stderr);
    const files = snapshot(lb, "gamma");
    assert.equal(files[join(lb.paths.confDir, "openedx-im-gamma.cfg")], null);
    assert.equal(files[join(lb.paths.mapDir, "gamma.map")], null);
    assert.doesNotMatch(readFileSync(lb.paths.mapFile, "utf8"), /gamma/);
    assert.equal((await httpGet(lb.url, "lms.gamma.test")).status, 404);
    assert.equal((await httpGet(lb.url, "lms.delta.test")).body, "new");
    const again = await runApplyScript("remove", '{"instanceId": "gamma"}', lb.env());
    assert.equal(again.status, 0, `removing twice is harmless: ${again.stderr}`);
  });
});
