import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localMainConfig } from "../bench/local-haproxy";
import { renderHaproxyFragment, type HaproxyFragment, type HaproxyFragmentInput } from "../components/haproxy";

const PRELIMINARY = "openedx-im-preliminary";

function input(overrides: Partial<HaproxyFragmentInput> = {}): HaproxyFragmentInput {
  return {
    instanceId: "demo-sandbox",
    domains: ["demo.example.com", "studio.demo.example.com", "preview.demo.example.com", "apps.demo.example.com"],
    servers: [{ name: "appserver-1", address: "10.0.0.11", port: 80 }],
    preliminaryBackend: PRELIMINARY,
    ...overrides,
  };
}

/** Lines of a section, comments dropped, leading blanks trimmed. */
function directives(config: string): string[] {
  return config
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
}

/** The main example config plus the fragment as conf.d/<file> and the map: what `haproxy -c` says. */
function haproxyCheck(fragments: HaproxyFragment[]): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "openedx-im-haproxy-c-"));
  try {
    const confDir = join(dir, "conf.d");
    mkdirSync(confDir);
    const mapFile = join(dir, "openedx-im.map");
    writeFileSync(join(dir, "haproxy.cfg"), localMainConfig({ port: 1, mapFile }));
    fragments.forEach((fragment) => writeFileSync(join(confDir, `${fragment.backendName}.cfg`), fragment.config));
    writeFileSync(mapFile, fragments.map((fragment) => fragment.map).join(""));
    const result = spawnSync("haproxy", ["-c", "-f", join(dir, "haproxy.cfg"), "-f", confDir], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertAccepted(fragments: HaproxyFragment[]): void {
  const { status, output } = haproxyCheck(fragments);
  assert.equal(status, 0, `haproxy -c rejected the fragment:\n${output}`);
  assert.doesNotMatch(output, /\[WARNING\].*(openedx-im-demo|conf\.d)/, `haproxy -c warns about the fragment:\n${output}`);
}

describe("HAProxy fragment renderer", () => {
  it("routes every domain of an instance with one appserver to its backend, one unchecked server line with a stickiness cookie", () => {
    const fragment = renderHaproxyFragment(input());
    assert.equal(fragment.backendName, "openedx-im-demo-sandbox");
    assert.equal(
      fragment.map,
      [
        "demo.example.com openedx-im-demo-sandbox",
        "studio.demo.example.com openedx-im-demo-sandbox",
        "preview.demo.example.com openedx-im-demo-sandbox",
        "apps.demo.example.com openedx-im-demo-sandbox",
        "",
      ].join("\n"),
    );
    const lines = directives(fragment.config);
    assert.equal(lines[0], "backend openedx-im-demo-sandbox");
    assert.ok(lines.includes("cookie openedx-im-server insert postonly indirect"));
    assert.ok(lines.includes("option httpchk"));
    assert.ok(lines.includes("http-check send meth GET uri /heartbeat ver HTTP/1.1 hdr Host demo.example.com"));
    assert.deepEqual(lines.filter((line) => line.startsWith("server ")), ["server appserver-1 10.0.0.11:80 cookie appserver-1"]);
    assertAccepted([fragment]);
  });

  it("checks health of each appserver when several serve, in the given order", () => {
    const fragment = renderHaproxyFragment(
      input({
        servers: [
          { name: "appserver-2", address: "10.0.0.12", port: 80 },
          { name: "appserver-3", address: "2001:db8::13", port: 8080 },
          { name: "appserver-4", address: "vm-4.internal.example", port: 80 },
        ],
        healthCheckPath: "/heartbeat?extended",
      }),
    );
    assert.deepEqual(
      directives(fragment.config).filter((line) => line.startsWith("server ")),
      [
        "server appserver-2 10.0.0.12:80 cookie appserver-2 check",
        "server appserver-3 [2001:db8::13]:8080 cookie appserver-3 check",
        "server appserver-4 vm-4.internal.example:80 cookie appserver-4 check",
      ],
    );
    assert.match(fragment.config, /uri \/heartbeat\?extended ver/);
    // haproxy -c resolves host names at parse time: the test uses addresses only.
    const resolvable = renderHaproxyFragment(
      input({ servers: [{ name: "a", address: "10.0.0.12", port: 80 }, { name: "b", address: "::1", port: 80 }] }),
    );
    assertAccepted([resolvable]);
  });

  it("sends the domains to the preliminary backend while no appserver is active, and the fragment stays valid", () => {
    const fragment = renderHaproxyFragment(input({ servers: [] }));
    assert.deepEqual(
      fragment.map.trim().split("\n").map((line) => line.split(" ")[1]),
      [PRELIMINARY, PRELIMINARY, PRELIMINARY, PRELIMINARY],
    );
    assert.equal(directives(fragment.config).filter((line) => line.startsWith("server ")).length, 0);
    assertAccepted([fragment]);
  });

  it("accepts odd but valid domains, lower-cases them and drops duplicates", () => {
    const fragment = renderHaproxyFragment(
      input({
        domains: ["X--Y.Example.COM", "xn--bcher-kva.example", "1.2.3.example", "localhost", `${"a".repeat(63)}.example`, "x--y.example.com"],
      }),
    );
    assert.deepEqual(
      fragment.map.trim().split("\n").map((line) => line.split(" ")[0]),
      ["x--y.example.com", "xn--bcher-kva.example", "1.2.3.example", "localhost", `${"a".repeat(63)}.example`],
    );
    assertAccepted([fragment]);
  });

  it("renders byte-identical text for the same input", () => {
    const servers = [
      { name: "appserver-1", address: "10.0.0.11", port: 80 },
      { name: "appserver-2", address: "10.0.0.12", port: 80 },
    ];
    assert.deepEqual(renderHaproxyFragment(input({ servers })), renderHaproxyFragment(input({ servers: servers.map((s) => ({ ...s })) })));
  });

  it("lets several instances' fragments live side by side in one configuration", () => {
    const fragments = [
      renderHaproxyFragment(input({ instanceId: "a", domains: ["a.example"] })),
      renderHaproxyFragment(input({ instanceId: "b", domains: ["b.example"], servers: [] })),
      renderHaproxyFragment(input({ instanceId: "c", domains: ["c.example"], serverTimeoutSeconds: 900, healthCheckIntervalSeconds: 2 })),
    ];
    assert.match(fragments[2].config, /timeout server 900s/);
    assertAccepted(fragments);
  });

  it("is told apart from a broken fragment by haproxy -c (the check is not a rubber stamp)", () => {
    const fragment = renderHaproxyFragment(input());
    const { status } = haproxyCheck([{ ...fragment, config: fragment.config.replace("option httpchk", "option httpcheck") }]);
    assert.notEqual(status, 0);
  });

  describe("rejects bad input with an error naming the field", () => {
    for (const instanceId of ["", "Demo", "demo_1", "-demo", "demo-", "demo.sandbox", "a".repeat(64), "demo sandbox", "demo\nbackend x"]) {
      it(`instanceId ${JSON.stringify(instanceId)}`, () => {
        assert.throws(() => renderHaproxyFragment(input({ instanceId })), /instanceId .*DNS-safe slug/);
      });
    }
    const cases: [string, Partial<HaproxyFragmentInput>, RegExp][] = [
      ["no domain", { domains: [] }, /domains is empty/],
      ["a domain with a space", { domains: ["demo.example.com other"] }, /domains\[0\] .* is not a host name/],
      ["a domain with a trailing dot", { domains: ["ok.example", "demo.example.com."] }, /domains\[1\]/],
      ["a domain with a port", { domains: ["demo.example.com:443"] }, /domains\[0\]/],
      ["a wildcard domain", { domains: ["*.example.com"] }, /domains\[0\]/],
      ["a label over 63 characters", { domains: [`${"a".repeat(64)}.example`] }, /domains\[0\]/],
      ["a preliminary backend with a space", { preliminaryBackend: "prelim page" }, /preliminaryBackend/],
      ["a server name with a newline", { servers: [{ name: "a\nb", address: "10.0.0.1", port: 80 }] }, /servers\[0\]\.name/],
      ["a server address with a port", { servers: [{ name: "a", address: "10.0.0.1:80", port: 80 }] }, /servers\[0\]\.address/],
      ["a port out of range", { servers: [{ name: "a", address: "10.0.0.1", port: 70000 }] }, /servers\[0\]\.port/],
      [
        "two servers with one name",
        { servers: [{ name: "a", address: "10.0.0.1", port: 80 }, { name: "a", address: "10.0.0.2", port: 80 }] },
        /two entries named "a"/,
      ],
      ["a health check path with a space", { healthCheckPath: "/heart beat" }, /healthCheckPath/],
      ["a relative health check path", { healthCheckPath: "heartbeat" }, /healthCheckPath/],
      ["a domain that carries a second map line", { domains: ["demo.example.com\nlms.other.example openedx-im-other"] }, /domains\[0\]/],
      ["a health check path with a quote (HAProxy would join words)", { healthCheckPath: "/heart'beat" }, /healthCheckPath/],
      ["a health check path with a comment sign", { healthCheckPath: "/heart#beat" }, /healthCheckPath/],
      ["a server address that is a socket", { servers: [{ name: "a", address: "unix@/run/haproxy/admin.sock", port: 80 }] }, /servers\[0\]\.address/],
    ];
    for (const [what, overrides, message] of cases) {
      it(what, () => {
        assert.throws(() => renderHaproxyFragment(input(overrides)), message);
      });
    }
  });
});
