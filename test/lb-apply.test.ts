import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  APPLY_SCRIPT,
  freePort,
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

/** What `haproxy -c` says of the main configuration plus one fragment file (exit status and output). */
function haproxyCheck(lb: LocalHaproxy, fragment: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "openedx-im-fragment-"));
  try {
    writeFileSync(join(dir, "fragment.cfg"), fragment);
    const result = spawnSync("haproxy", ["-c", "-f", lb.paths.mainConfig, "-f", join(dir, "fragment.cfg")], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), done(true)));
    socket.once("error", () => done(false));
  });
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
    // A line of the renderer's shape with a value HAProxy refuses: only haproxy -c can tell.
    const broken = { ...fragment, config: fragment.config.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:99999") };
    const result = await runApplyScript("apply", applyRequest("alpha", broken), lb.env());
    assert.equal(result.status, 1);
    assert.match(result.stderr, /haproxy -c rejected the configuration[\s\S]*invalid port '99999'/);
    assert.deepEqual(snapshot(lb, "alpha"), before);
    assert.equal((await httpGet(lb.url, "lms.alpha.test")).body, "old");
  });

  it("refuses what haproxy -c would let through: a map to another or an undefined backend, another instance's domain, foreign sections", async () => {
    const before = snapshot(lb, "alpha");
    const fragment = renderHaproxyFragment({ instanceId: "alpha", domains: ["lms.alpha.test"], servers: [server(newBackend)], preliminaryBackend: PRELIMINARY });
    const cases: [string, string, RegExp][] = [
      [applyRequest("alpha", { ...fragment, map: "lms.alpha.test openedx-im-nowhere\n" }), "apply", /goes to 'openedx-im-nowhere'; an instance's domains go to its own backend/],
      [applyRequest("alpha", { ...fragment, map: "lms.alpha.test openedx-im-beta\n" }), "apply", /goes to 'openedx-im-beta'/],
      [request("alpha", ["lms.alpha.test", "lms.beta.test"], [server(newBackend)]), "apply", /lms\.beta\.test is already routed to instance beta/],
      [applyRequest("alpha", { ...fragment, config: `${fragment.config}frontend sneaky\n    bind 127.0.0.1:1\n` }), "apply", /reads this as a 'frontend' section/],
      [applyRequest("alpha", { ...fragment, config: fragment.config.replace("backend openedx-im-alpha", "backend openedx-im-beta") }), "apply", /reads this as a 'backend' section.*'backend openedx-im-alpha'/],
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

  describe("a fragment holds the instance's backend and nothing else, read as HAProxy reads it", () => {
    const valid = () =>
      renderHaproxyFragment({ instanceId: "alpha", domains: ["lms.alpha.test"], servers: [server(newBackend)], preliminaryBackend: PRELIMINARY });
    const PROBE = "    zz-probe\n";
    const IN_BACKEND = /unknown keyword 'zz-probe' in 'backend' section/;
    // Each opens a section (or is a directive) for HAProxy 2.6 although it does not start the line.
    const sections: [string, string][] = [
      ["indented frontend", "  frontend sneaky\n"],
      ["tab-indented program", "\tprogram sneaky\n"],
      ["indented global", "    global\n"],
      ["indented defaults", "  defaults\n"],
      ["indented listen", "  listen sneaky\n"],
      ["indented peers", "  peers sneaky\n"],
      ["indented userlist", "  userlist sneaky\n"],
      ["indented resolvers", "  resolvers sneaky\n"],
      ["indented ring", "  ring sneaky\n"],
      ["indented cache", "  cache sneaky\n"],
      ["indented mailers", "  mailers sneaky\n"],
      ["indented http-errors", "  http-errors sneaky\n"],
      ["indented log-forward", "  log-forward sneaky\n"],
      ["indented fcgi-app", "  fcgi-app sneaky\n"],
      ["a quoted keyword", '  "frontend" sneaky\n'],
      [".if hides the rest from HAProxy", ".if 0\n"],
    ];
    for (const [what, hostile] of sections)
      it(`${what}: HAProxy leaves the backend section, the script refuses it (exit 1, nothing changed)`, async () => {
        const fragment = valid();
        const check = haproxyCheck(lb, fragment.config + hostile + PROBE + (hostile.startsWith(".if") ? ".endif\n" : ""));
        assert.doesNotMatch(check.output, IN_BACKEND, `haproxy still reads the probe inside the backend after ${JSON.stringify(hostile)}:\n${check.output}`);
        const before = snapshot(lb, "alpha");
        const result = await runApplyScript("apply", applyRequest("alpha", { ...fragment, config: fragment.config + hostile }), lb.env());
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, /refused: config line \d+/);
        assert.deepEqual(snapshot(lb, "alpha"), before);
      });

    it("an indented frontend haproxy -c accepts would listen: refused, and the port stays closed", async () => {
      const port = await freePort();
      const fragment = valid();
      const config = `${fragment.config}  frontend sneaky\n    bind 127.0.0.1:${port}\n    default_backend openedx-im-preliminary\n`;
      assert.equal(haproxyCheck(lb, config).status, 0, "haproxy -c alone lets it through");
      const result = await runApplyScript("apply", applyRequest("alpha", { ...fragment, config }), lb.env());
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /reads this as a 'frontend' section/);
      assert.equal(await listening(port), false);
    });

    it("refuses every line the renderer does not write, and text HAProxy would split differently", async () => {
      const fragment = valid();
      const before = snapshot(lb, "alpha");
      const serving = (await httpGet(lb.url, "lms.alpha.test")).body;
      const lines = [
        "    http-request redirect location https://lms.beta.test/",
        "    acl beta hdr(host) -i lms.beta.test",
        "    use-server new if TRUE",
        "    external-check command /bin/sh",
        "    option external-check",
        "    server evil unix@/run/haproxy/admin.sock",
        "    server evil 127.0.0.1:1 cookie evil check # comment",
        "    mode http \\",
        '    cookie "x" insert postonly indirect',
        "backend openedx-im-alpha-extra",
        "backend openedx-im-alpha",
        "    mode http\r  frontend sneaky",
        "\tmode http",
        "    mode http\u0085",
        "",
      ];
      for (const line of lines) {
        const result = await runApplyScript("apply", applyRequest("alpha", { ...fragment, config: `${fragment.config}${line}\n` }), lb.env());
        assert.equal(result.status, 1, `${JSON.stringify(line)} was accepted: ${result.stderr}`);
        assert.match(result.stderr, /refused: config/);
      }
      const maps = [
        "lms.alpha.test openedx-im-alpha extra",
        "lms.alpha.test  openedx-im-alpha",
        "lms.alpha.test\topenedx-im-alpha",
        "lms.alpha.test openedx-im-alpha\rlms.beta.test openedx-im-alpha",
        "LMS.alpha.test openedx-im-alpha",
        "# a comment",
        "lms.alpha.test openedx-im-gamma",
      ];
      for (const map of maps) {
        const result = await runApplyScript("apply", applyRequest("alpha", { ...fragment, map: `${map}\n` }), lb.env());
        assert.equal(result.status, 1, `${JSON.stringify(map)} was accepted: ${result.stderr}`);
        assert.match(result.stderr, /refused: map/);
      }
      assert.deepEqual(snapshot(lb, "alpha"), before);
      assert.equal((await httpGet(lb.url, "lms.alpha.test")).body, serving);
    });

    it("accepts whatever the renderer writes: several servers, IPv6, a host name, a server timeout, every path character", async () => {
      const inputs = [
        { servers: [server(newBackend)] },
        { servers: [server(newBackend), { name: "x1-0", address: "::1", port: 9 }, { name: "x1-1", address: "localhost", port: 9 }] },
        { servers: [server(newBackend)], serverTimeoutSeconds: 900, healthCheckPath: "/heart.beat/~!$&()*+,;=:@%?-_", cookieName: "my_cookie-1" },
      ];
      for (const input of inputs) {
        const fragment = renderHaproxyFragment({ instanceId: "alpha", domains: ["lms.alpha.test"], preliminaryBackend: PRELIMINARY, ...input });
        const result = await runApplyScript("apply", applyRequest("alpha", fragment), lb.env());
        assert.equal(result.status, 0, `${JSON.stringify(input)}: ${result.stderr}`);
      }
      assert.equal((await httpGet(lb.url, "lms.alpha.test")).body, "new");
      const back = await runApplyScript("apply", request("alpha", ["lms.alpha.test", "studio.alpha.test"], [server(oldBackend)]), lb.env());
      assert.equal(back.status, 0, back.stderr);
    });

    it("refuses an instance whose backend name is a section of the main configuration (stack 'preliminary', 'unknown-host')", async () => {
      for (const instanceId of ["preliminary", "unknown-host", "http"]) {
        const result = await runApplyScript("apply", request(instanceId, [`lms.${instanceId}.test`], []), lb.env());
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, new RegExp(`instance id '${instanceId}' gives the backend name 'openedx-im-${instanceId}', which .* already uses .*rename the stack`));
        assert.equal(snapshot(lb, instanceId)[join(lb.paths.confDir, `openedx-im-${instanceId}.cfg`)], null);
      }
    });
  });

  it("an unexpected OS error exits 5 with one line, not 1 and not a traceback", async () => {
    const notADirectory = join(lb.paths.dir, "a-file");
    writeFileSync(notADirectory, "");
    const result = await runApplyScript("apply", request("zeta", ["lms.zeta.test"], []), lb.env({ OPENEDX_IM_LB_MAP_DIR: join(notADirectory, "maps.d") }));
    assert.equal(result.status, 5, result.stderr);
    assert.doesNotMatch(result.stderr, /Traceback/);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /failed unexpectedly \((FileExistsError|NotADirectoryError)\)/);
    assert.equal(snapshot(lb, "zeta")[join(lb.paths.confDir, "openedx-im-zeta.cfg")], null);
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

describe("openedx-im-lb-apply's line shapes and the renderer", () => {
  /** For each line, the indexes of the apply script's BACKEND_BODY shapes it matches; "comment" and "header" for those. */
  function shapesOf(lines: string[]): { shapes: number; matches: (number | "comment" | "header")[][] } {
    const program = [
      "import importlib.machinery, importlib.util, json, sys",
      "sys.dont_write_bytecode = True",
      "loader = importlib.machinery.SourceFileLoader('apply', sys.argv[1])",
      "m = importlib.util.module_from_spec(importlib.util.spec_from_loader('apply', loader))",
      "loader.exec_module(m)",
      "lines = json.load(sys.stdin)",
      "out = [[i for i, s in enumerate(m.BACKEND_BODY) if s.match(l)] + (['comment'] if m.COMMENT.match(l) else [])",
      "       + (['header'] if m.first_word(l) == 'backend' else []) for l in lines]",
      "print(json.dumps({'shapes': len(m.BACKEND_BODY), 'matches': out}))",
    ].join("\n");
    const result = spawnSync("python3", ["-c", program, APPLY_SCRIPT], { input: JSON.stringify(lines), encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as { shapes: number; matches: (number | "comment" | "header")[][] };
  }

  it("the script's hand-written shapes are exactly the lines the renderer writes: each rendered line matches one, each shape is written", () => {
    const base = { domains: ["lms.alpha.test", "studio.alpha.test"], preliminaryBackend: PRELIMINARY };
    const vm = (name: string, address = "10.0.0.1"): HaproxyServer => ({ name, address, port: 80 });
    const fragments = [
      renderHaproxyFragment({ instanceId: "alpha", ...base, servers: [] }),
      renderHaproxyFragment({ instanceId: "alpha", ...base, servers: [vm("a1-0")], hsts: "max-age=300" }),
      renderHaproxyFragment({
        instanceId: "alpha",
        ...base,
        servers: [vm("a1-0"), vm("a1-1", "fd00::1")],
        serverTimeoutSeconds: 900,
        hsts: "max-age=31536000;includeSubDomains;preload",
        candidates: [{ id: "a2", servers: [vm("a2-0"), vm("a2-1", "appserver.internal")] }],
        candidateSite: { lmsDomain: "lms.alpha.test", cookieDomain: "alpha.test" },
      }),
    ];
    const lines = fragments.flatMap((fragment) => fragment.config.trimEnd().split("\n"));
    const { shapes, matches } = shapesOf(lines);
    lines.forEach((line, index) => assert.equal(matches[index].length, 1, `${JSON.stringify(line)} matches ${JSON.stringify(matches[index])} (exactly one shape expected)`));
    const written = new Set(matches.flat());
    const unwritten = Array.from({ length: shapes }, (_, index) => index).filter((index) => !written.has(index));
    assert.deepEqual(unwritten, [], "BACKEND_BODY shapes the renderer never writes: remove them from the apply script (or render them here)");
  });
});
