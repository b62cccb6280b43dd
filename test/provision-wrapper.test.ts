/**
 * The provisioning wrapper, run for real: node + tsx + ansible-core against
 * localhost over the local connection, with a small probe playbook in
 * test/fixtures/provision/playbooks/probe.yml standing in for openedx_native.yml.
 */
import { strict as assert } from "node:assert";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join, resolve } from "node:path";

import { PROVISION_COMMAND } from "../components/provisioners/ansible/provisioning";
import { childEnvironment, pipEnvironment } from "../scripts/provision/environment";
import { parseGuardLine } from "../scripts/provision/guard";
import { knownHostsLine, parseHostPublicKey } from "../scripts/provision/host-key";
import { AnsibleProgress, MAX_PROGRESS_LINE, formatElapsed, printable } from "../scripts/provision/progress";
import { isRepositoryLocation, mask, parseRequest, readSettings, secretsToMask } from "../scripts/provision/provision";
import { markUntrusted, variableProblems } from "../scripts/provision/variables";

const ROOT = resolve(__dirname, "..");
const WRAPPER = join(ROOT, "scripts", "provision", "provision.ts");
const FIXTURE = join(ROOT, "test", "fixtures", "provision");

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function inheritedEnv(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith("OPENEDX_IM_")) base[key] = value;
  return base;
}

function startWrapper(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", WRAPPER], { cwd: ROOT, env: { ...inheritedEnv(), ...env } });
}

function runWrapper(env: Record<string, string>, stdin: string): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = startWrapper(env);
    if (!child.stdout || !child.stderr || !child.stdin) return reject(new Error("no pipes"));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolvePromise({ status, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
    child.stdin.end(stdin);
  });
}

describe("provisioning wrapper: pure parts", () => {
  it("marks every string unsafe at any depth and in lists, except at or under a trusted path", () => {
    const variables = {
      NAME: "{{ x }}",
      COUNT: 3,
      FLAG: false,
      NONE: null,
      LIST: ["a", { b: "c" }, ["d"]],
      FEATURES: { TRUSTED: "{{ t }}", OTHER: "o", DEEP: { X: "x" } },
      WHOLE: { a: "1", b: ["2"] },
      ["__proto__"]: "data",
    };
    const marked = markUntrusted(variables, [["FEATURES", "TRUSTED"], ["FEATURES", "DEEP"], ["WHOLE"], ["LIST", "b"]]);
    const u = (text: string) => ({ __ansible_unsafe: text });
    assert.deepEqual(JSON.parse(JSON.stringify(marked)), {
      NAME: u("{{ x }}"),
      COUNT: 3,
      FLAG: false,
      NONE: null,
      LIST: [u("a"), { b: u("c") }, [u("d")]],
      FEATURES: { TRUSTED: "{{ t }}", OTHER: u("o"), DEEP: { X: "x" } },
      WHOLE: { a: "1", b: ["2"] },
      ["__proto__"]: u("data"),
    });
    assert.deepEqual(markUntrusted({ A: "a" }), { A: u("a") }, "no trusted paths: nothing is trusted");
  });

  it("refuses ansible_* in any case, Ansible's special variables, Jinja and decoder markers in keys; accepts ordinary data", () => {
    assert.deepEqual(variableProblems({ EDXAPP_PLATFORM_NAME: "{{ x }}; |", NESTED: { "a;b": [{ "c|d": 1 }] }, my_ansible_var: 1 }), []);
    const problems = variableProblems({
      ansible_host: 1,
      Ansible_Connection: 1,
      hostvars: 1,
      "1abc": 1,
      X: { "{% if %}": 1, y: [{ "{#": 2 }, { __ansible_vault: "v" }] },
    }).join("\n");
    for (const expected of [/ansible_host is refused/, /Ansible_Connection is refused/, /hostvars is refused/, /"1abc" is not an Ansible variable name/, /"X" → "\{% if %\}" is refused/, /"X" → "y" → "0" → "\{#" is refused/, /__ansible_vault/])
      assert.match(problems, expected);
  });

  it("parses the request: trustedPaths optional and checked, bad variables refused without echoing values", () => {
    assert.deepEqual(parseRequest('{"variables": {"A": "x"}}'), { variables: { A: "x" }, trustedPaths: [] });
    assert.deepEqual(parseRequest('{"variables": {"A": {"B": "x"}}, "trustedPaths": [["A", "B"]]}').trustedPaths, [["A", "B"]]);
    for (const bad of ['"A"', "[[]]", '[["A", 1]]', '{"A": 1}'])
      assert.throws(() => parseRequest(`{"variables": {}, "trustedPaths": ${bad}}`), /"trustedPaths" must be a list of non-empty lists of keys/);
    assert.throws(
      () => parseRequest('{"variables": {"ansible_connection": "hunter2-secret"}}'),
      (error: Error) => /ansible_connection is refused/.test(error.message) && !error.message.includes("hunter2"),
    );
  });

  it("passes only allowlisted environment variables to children, the operator's agent only without a key", () => {
    const env = {
      PATH: "/bin", HOME: "/h", LANG: "C", LC_TIME: "C", TZ: "UTC", TMPDIR: "/t", https_proxy: "http://p", NO_PROXY: "x", SSH_AUTH_SOCK: "/s",
      OS_PASSWORD: "x", AWS_SECRET_ACCESS_KEY: "x", GANDI_KEY: "x", PULUMI_ACCESS_TOKEN: "x", GITHUB_TOKEN: "x", MONGODB_ATLAS_PRIVATE_KEY: "x",
      MYSQL_PWD: "x", ANSIBLE_CONFIG: "x", PYTHONPATH: "x", PIP_INDEX_URL: "https://mirror", OPENEDX_IM_HOST: "x",
    };
    assert.deepEqual(childEnvironment(env, { operatorSshAgent: false }), {
      PATH: "/bin", HOME: "/h", LANG: "C", LC_TIME: "C", TZ: "UTC", TMPDIR: "/t", https_proxy: "http://p", NO_PROXY: "x",
      LC_ALL: "C.UTF-8", GIT_TERMINAL_PROMPT: "0",
    });
    assert.equal(childEnvironment(env, { operatorSshAgent: true }).SSH_AUTH_SOCK, "/s");
    assert.deepEqual(pipEnvironment(env), { PIP_INDEX_URL: "https://mirror" });
  });

  it("pins an OpenSSH host public key, refusing anything else", () => {
    const key = parseHostPublicKey(HOST_KEY_EXAMPLE);
    assert.ok(key);
    assert.equal(knownHostsLine("203.0.113.7", 22, key), `203.0.113.7 ${HOST_KEY_EXAMPLE.split(" ").slice(0, 2).join(" ")}\n`);
    assert.match(knownHostsLine("203.0.113.7", 2222, key), /^\[203\.0\.113\.7\]:2222 ssh-ed25519 /);
    for (const bad of ["", "ssh-ed25519", "ssh-rsa " + HOST_KEY_EXAMPLE.split(" ")[1], "ssh-ed25519 AAAA\n203.0.113.8 ssh-ed25519 AAAA", "@cert-authority * ssh-ed25519 AAAA"])
      assert.equal(parseHostPublicKey(bad), undefined, bad);
    assert.throws(() => readSettings({ OPENEDX_IM_HOST: "h", OPENEDX_IM_APPSERVER_ID: "a", OPENEDX_IM_CONFIGURATION_DIR: "/c" }), /OPENEDX_IM_HOST_PUBLIC_KEY: required with the ssh connection/);
    assert.throws(
      () => readSettings({ OPENEDX_IM_HOST: "h", OPENEDX_IM_APPSERVER_ID: "a", OPENEDX_IM_CONFIGURATION_DIR: "/c", OPENEDX_IM_HOST_PUBLIC_KEY: "nope" }),
      /OPENEDX_IM_HOST_PUBLIC_KEY: not an OpenSSH public key line/,
    );
  });

  it("accepts https, ssh and absolute-path repositories only", () => {
    for (const good of ["https://github.com/openedx/configuration.git", "ssh://git@github.com/openedx/configuration.git", "git@github.com:openedx/configuration.git", "/srv/git/configuration.git"])
      assert.equal(isRepositoryLocation(good), true, good);
    for (const bad of ["ext::sh -c touch% /tmp/x", "-uhttps://x/y", "file:///etc", "http://plain.example.org/x.git", "relative/path", "https://x/y z", "git://example.org/x"])
      assert.equal(isRepositoryLocation(bad), false, bad);
  });

  it("follows Ansible's output: tasks started, each finished task counted once by its worst result", () => {
    const progress = new AnsibleProgress();
    const events = [
      "PLAY [Provision] ****",
      "TASK [common : Install packages] ****",
      "ok: [10.0.0.1] => (item=git)",
      "changed: [10.0.0.1] => (item=curl)",
      "RUNNING HANDLER [nginx : restart nginx] ****",
      "changed: [10.0.0.1]",
      "TASK [Skipped] ****",
      "skipping: [10.0.0.1]",
      "TASK [Ignored failure] ****",
      "fatal: [10.0.0.1]: FAILED! => {\"msg\": \"x\"}",
      "...ignoring",
      "TASK [Really failing] ****",
      "fatal: [10.0.0.1]: FAILED! => {\"msg\": \"y\"}",
      "PLAY RECAP ****",
      "10.0.0.1 : ok=3 changed=2 unreachable=0 failed=1",
    ].map((line) => progress.read(line, 0));
    assert.deepEqual(events, ["play", "task", undefined, undefined, "task", undefined, "task", undefined, "task", undefined, undefined, "task", undefined, "recap", undefined]);
    assert.deepEqual(progress.counts, { started: 5, ok: 1, changed: 2, failed: 1, skipped: 1 });
    assert.equal(formatElapsed(3_723_000), "1:02:03");
    assert.equal(formatElapsed(59_999), "0:59");
  });

  it("prints a line only masked first, then cleaned of control characters and bounded, so a cut never exposes a value", () => {
    const secret = "x".repeat(30) + "SECRET-TAIL";
    const secrets = secretsToMask({ variables: { A: secret }, trustedPaths: [] });
    const line = `TASK [${"n".repeat(MAX_PROGRESS_LINE - 20)} ${secret}]\u001b[2J\r`;
    const out = printable(line, (text) => mask(text, secrets));
    assert.ok(out.length <= MAX_PROGRESS_LINE, String(out.length));
    assert.equal(out.includes("xxxxxxxxxx"), false, "no part of the value survives the cut");
    assert.equal(/[\u0000-\u001f]/.test(out), false, "no terminal escape");
    // Short values are masked too when their key names a secret.
    const short = secretsToMask({ variables: { DB: { EDXAPP_MYSQL_PASSWORD: "hun2", NAME: "hun3" }, API_TOKEN: ["t0k3"] }, trustedPaths: [] });
    assert.deepEqual(short.sort(), ["hun2", "t0k3"]);
  });

  it("reads only well-formed guard lines", () => {
    assert.deepEqual(parseGuardLine("group 1234"), { kind: "group", pid: 1234 });
    assert.deepEqual(parseGuardLine("path /tmp/x"), { kind: "path", path: "/tmp/x" });
    for (const bad of ["group 1", "group -5", "path relative", "kill 12", "group 12x"]) assert.equal(parseGuardLine(bad), undefined, bad);
  });
});

describe("provisioning wrapper (real ansible-playbook, local connection)", function () {
  this.timeout(120_000);
  let scratch: string;
  let tmp: string;
  let home: string;
  let logs: string;
  let output: string;

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), "openedx-im-wrapper-test-"));
    tmp = join(scratch, "tmp");
    home = join(scratch, "home");
    logs = join(scratch, "logs");
    output = join(scratch, "received.json");
    for (const dir of [tmp, home]) mkdirSync(dir);
    // If anything ever ran "rm -rf ~", this is what it would take.
    writeFileSync(join(home, "canary"), "still here\n");
  });

  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  const localEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    TMPDIR: tmp,
    HOME: home,
    OPENEDX_IM_CONNECTION: "local",
    OPENEDX_IM_HOST: "localhost",
    OPENEDX_IM_APPSERVER_ID: "a20261122",
    OPENEDX_IM_CONFIGURATION_DIR: FIXTURE,
    OPENEDX_IM_PLAYBOOK: "probe.yml",
    OPENEDX_IM_SKIP_REQUIREMENTS: "1",
    OPENEDX_IM_LOG_DIR: logs,
    OPENEDX_IM_KILL_GRACE: "1",
    ...extra,
  });

  const request = (variables: Record<string, unknown>) => JSON.stringify({ variables: { probe_output: output, ...variables } });
  const received = () => JSON.parse(readFileSync(output, "utf8")) as { probe: unknown; inventory_hostname: string };
  const latestLog = () => readFileSync(join(logs, "a20261122", "latest.log"), "utf8");
  /** What the wrapper left in its temporary directory (tsx keeps its own cache there). */
  const leftovers = () => readdirSync(tmp).filter((name) => name.startsWith("openedx-im-"));

  it("delivers the variables intact, through a private 0600 named pipe (never a file on disk) that is gone afterwards", async () => {
    const probe = {
      text: "Open edX: ünïcode ✓",
      number: 42,
      flag: true,
      nothing: null,
      list: [1, "two", { three: 3 }],
      nested: { EDXAPP_FEATURES: { ENABLE_DISCUSSION_SERVICE: true } },
    };
    const result = await runWrapper(localEnv(), request({ probe }));
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(received().probe, probe);
    const [[path, mode, regular]] = JSON.parse(readFileSync(`${output}.files`, "utf8")) as [string, string, boolean][];
    assert.ok(path.startsWith(tmp), path);
    assert.equal(mode, "0600");
    assert.equal(regular, false, "a named pipe, not a regular file");
    assert.equal(existsSync(path), false, "the pipe is removed");
    assert.deepEqual(leftovers(), []);
  });

  it("passes shell metacharacters, quotes and newlines as plain data and runs none of them", async () => {
    const marker = (n: number) => join(scratch, `injected-${n}`);
    const probe = {
      dollar: `$(touch ${marker(1)})`,
      backticks: `\`touch ${marker(2)}\``,
      semicolon: `; touch ${marker(3)}; rm -rf ~`,
      quotes: `it's "quoted" \\ and 'single'`,
      newlines: `line one\nline two\n; touch ${marker(4)}\n`,
      id: "`id`",
    };
    const result = await runWrapper(localEnv({ OPENEDX_IM_APPSERVER_ID: "a20261122" }), request({ probe }));
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(received().probe, probe);
    for (let n = 1; n <= 4; n++) assert.equal(existsSync(marker(n)), false, `${marker(n)} was created`);
    assert.equal(readFileSync(join(home, "canary"), "utf8"), "still here\n");
  });

  it("exits non-zero when a task fails and keeps the full log", async () => {
    const result = await runWrapper(localEnv(), request({ probe: {}, probe_fail: true }));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /ansible-playbook failed \(exit \d+\) at TASK \[Fail when asked\]/);
    const log = latestLog();
    assert.match(log, /asked to fail/);
    assert.match(log, /PLAY RECAP/);
    assert.ok(result.stderr.includes(join(logs, "a20261122")), "the failure message says where the log is");
    assert.deepEqual(leftovers(), []);
  });

  it("never prints a secret value, even when the playbook prints it and then fails with it", async () => {
    const secret = "s3cret-Pa55word-0f-the-day";
    const result = await runWrapper(localEnv(), request({ probe: {}, probe_secret: secret, probe_fail: true }));
    assert.notEqual(result.status, 0);
    // The log outlives the run (and a hard kill): it keeps what Ansible printed, with every value masked.
    assert.equal(latestLog().includes(secret), false, "the log holds the secret");
    assert.ok(latestLog().includes("[masked]"), "the log keeps the line that printed it");
    assert.equal(result.stdout.includes(secret), false, "stdout");
    assert.equal(result.stderr.includes(secret), false, "stderr");
  });

  it("never prints the SSH private key, and keeps it off the disk", async () => {
    const key = newSshKey(scratch);
    const body = key.split("\n")[1];
    const result = await runWrapper(localEnv(), JSON.stringify({ variables: { probe_output: output, probe: {} }, sshPrivateKey: key }));
    assert.equal(result.status, 0, result.stderr);
    assert.equal(`${result.stdout}${result.stderr}`.includes(body), false);
    assert.equal(latestLog().includes(body), false, "the log");
    assert.match(latestLog(), /\$ ssh-add -q -t \d+ -\n/, "the key went into an agent over a pipe");
    assert.deepEqual(leftovers(), []);
  });

  it("kills a task that prints nothing for longer than the line timeout", async () => {
    const sleepFor = "47.25"; // distinctive, to look for a survivor afterwards
    const result = await runWrapper(localEnv({ OPENEDX_IM_LINE_TIMEOUT: "3" }), request({ probe: {}, probe_sleep: sleepFor }));
    assert.equal(result.status, 124, result.stderr);
    assert.ok(result.seconds < 30, `took ${result.seconds} s`);
    assert.match(result.stderr, /no output for 3 s \(the line timeout\)/);
    assert.match(latestLog(), /the line timeout/);
    assert.equal(processesRunning(`sleep ${sleepFor}`), 0, "the sleeping task was killed with its process group");
    assert.deepEqual(leftovers(), []);
  });

  it("stops a run that keeps printing but outlasts the total timeout", async () => {
    const result = await runWrapper(
      localEnv({ OPENEDX_IM_LINE_TIMEOUT: "20", OPENEDX_IM_TOTAL_TIMEOUT: "5" }),
      request({ probe: {}, probe_steps: 30 }),
    );
    assert.equal(result.status, 124, result.stderr);
    assert.ok(result.seconds < 30, `took ${result.seconds} s`);
    assert.match(result.stderr, /the total timeout passed/);
  });

  it("refuses bad settings with the variable's name and exits 64 before running anything", async () => {
    const result = await runWrapper(
      localEnv({ OPENEDX_IM_HOST: "-oProxyCommand=touch x", OPENEDX_IM_LINE_TIMEOUT: "soon", OPENEDX_IM_PLAYBOOK: "../../etc/x.yml" }),
      request({ probe: {} }),
    );
    assert.equal(result.status, 64);
    assert.match(result.stderr, /OPENEDX_IM_HOST: .* is not an IP address or a host name/);
    assert.match(result.stderr, /OPENEDX_IM_LINE_TIMEOUT: "soon" is not a positive number of seconds/);
    assert.match(result.stderr, /OPENEDX_IM_PLAYBOOK: .* must be a path inside the configuration repository/);
    assert.equal(existsSync(logs), false);
  });

  it("refuses input that is not a JSON request without echoing it", async () => {
    const result = await runWrapper(localEnv(), "password=hunter2-is-secret");
    assert.equal(result.status, 64);
    assert.match(result.stderr, /standard input: not JSON/);
    assert.equal(result.stderr.includes("hunter2"), false);
  });

  it("gives up waiting for SSH after the bounded wait, with a clear message", async () => {
    const result = await runWrapper(
      localEnv({
        OPENEDX_IM_CONNECTION: "ssh",
        OPENEDX_IM_HOST: "127.0.0.1",
        OPENEDX_IM_SSH_PORT: "1", // nothing listens there
        OPENEDX_IM_HOST_PUBLIC_KEY: HOST_KEY_EXAMPLE,
        OPENEDX_IM_SSH_WAIT_TIMEOUT: "3",
        OPENEDX_IM_SSH_RETRY_INTERVAL: "1",
      }),
      request({ probe: {} }),
    );
    assert.equal(result.status, 69, result.stderr);
    assert.ok(result.seconds < 30, `took ${result.seconds} s`);
    assert.match(result.stderr, /SSH on 127\.0\.0\.1:1 did not answer within 3 s/);
    assert.equal(existsSync(output), false, "the playbook did not run");
  });

  it("builds the requirements in a private virtualenv and says so when they bring no ansible-playbook", async () => {
    // No package index here: an empty requirements file exercises the virtualenv step offline.
    const configuration = join(scratch, "configuration");
    cpSync(FIXTURE, configuration, { recursive: true });
    writeFileSync(join(configuration, "requirements.txt"), "");
    const venvs = join(scratch, "venvs");
    const env = localEnv({ OPENEDX_IM_CONFIGURATION_DIR: configuration, OPENEDX_IM_VENV_CACHE: venvs });
    delete (env as Partial<Record<string, string>>).OPENEDX_IM_SKIP_REQUIREMENTS;
    const result = await runWrapper(env, request({ probe: {} }));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /installing the configuration requirements into/);
    assert.match(result.stderr, /installed no ansible-playbook/);
    assert.match(latestLog(), /-m venv/);
    assert.deepEqual(readdirSync(venvs), [], "a half-built virtualenv is not kept for the next run");
    assert.equal(existsSync(output), false);
  });

  const renderEnv = () => localEnv({ OPENEDX_IM_PLAYBOOK: "render-all.yml" });
  const renderRequest = (variables: Record<string, unknown> = {}, trustedPaths?: string[][]) =>
    JSON.stringify({ variables: { probe_output: output, ...variables }, ...(trustedPaths ? { trustedPaths } : {}) });

  describe("values reach Ansible as data (render-all.yml templates every variable)", () => {
    const marker = (n: number) => join(scratch, `executed-${n}`);
    const hostile = () => ({
      HOSTILE_TEXT: `Arts; Sciences | Engineering && more {{ lookup('pipe', 'touch ${marker(1)}') }}`,
      HOSTILE_LIST: [
        `{% if true %}{{ lookup('pipe', 'touch ${marker(2)}') }}{% endif %}`,
        "{# a comment #}{{ 7 * 7 }}",
        `#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ lookup('pipe', 'touch ${marker(3)}') ]]`,
        "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.example.org; img-src * data:",
        '<footer class="site">© 2026 <a href="https://example.org/?a=1&b=2">Ünïversité</a>\n</footer>',
        'it\'s "quoted" \\ back\\slashes \\{{ x }} tab\t and a line break\n',
        "^/api/v[0-9]+/(courses|users)/?$",
        "✓ 日本語 🎓 {{ undefined_variable }} {{ omit }}",
      ],
      HOSTILE_NESTED: {
        level1: { list: [`{{ lookup('pipe', 'touch ${marker(4)}') }}`, { deeper: "{% raw %}unbalanced" }], number: 7, flag: true, nothing: null },
        "a key; with | punctuation": `$(touch ${marker(5)}) \`id\``,
      },
      TRUSTED_TEMPLATE: "{{ 6 * 7 }}",
      TRUSTED_TREE: { inner: "{{ 'a' ~ 'b' }}", other: "{{ 1 + 1 }}" },
    });

    it("runs nothing and renders every untrusted value byte for byte; trusted paths stay templates", async () => {
      const variables = hostile();
      const result = await runWrapper(renderEnv(), renderRequest(variables, [["TRUSTED_TEMPLATE"], ["TRUSTED_TREE", "inner"]]));
      assert.equal(result.status, 0, `${result.stderr}\n${latestLog()}`);
      for (let n = 1; n <= 5; n++) assert.equal(existsSync(marker(n)), false, `${marker(n)} was created: a value was executed`);
      const rendered = JSON.parse(readFileSync(output, "utf8")) as Record<string, unknown>;
      assert.deepEqual(rendered.HOSTILE_TEXT, variables.HOSTILE_TEXT);
      assert.deepEqual(rendered.HOSTILE_LIST, variables.HOSTILE_LIST);
      assert.deepEqual(rendered.HOSTILE_NESTED, variables.HOSTILE_NESTED);
      assert.equal(rendered.probe_copied, variables.HOSTILE_TEXT, "a value copied by set_fact stays data when used again");
      assert.equal(rendered.probe_first_nested, variables.HOSTILE_NESTED.level1.list[0]);
      assert.equal(rendered.TRUSTED_TEMPLATE, "42", "the operator's own template is still evaluated");
      assert.deepEqual(rendered.TRUSTED_TREE, { inner: "ab", other: "{{ 1 + 1 }}" }, "only the trusted path, not its sibling");
      const file = readFileSync(`${output}.rendered`, "utf8");
      assert.ok(file.startsWith(`text=${variables.HOSTILE_TEXT}\ncopied=${variables.HOSTILE_TEXT}\n`), file);
      for (const item of variables.HOSTILE_LIST) assert.ok(file.includes(`item=${item}\n`), item);
      assert.ok(file.includes(`a key; with | punctuation=${JSON.stringify(variables.HOSTILE_NESTED["a key; with | punctuation"])}`));
    });

    it("evaluates the same values when every path is trusted: the test would see an injection", async () => {
      // The control: proves the playbook really templates these variables, so the test above can fail.
      const result = await runWrapper(renderEnv(), renderRequest(hostile(), [["HOSTILE_TEXT"], ["TRUSTED_TEMPLATE"], ["TRUSTED_TREE"]]));
      assert.equal(result.status, 0, `${result.stderr}\n${latestLog()}`);
      assert.equal(existsSync(marker(1)), true, "the trusted value's lookup ran");
    });

    const refusals: [string, Record<string, unknown>, RegExp][] = [
      ["ansible_connection", { ansible_connection: "local" }, /variables: ansible_connection is refused/],
      ["ANSIBLE_HOST in capitals", { ANSIBLE_HOST: "127.0.0.1" }, /variables: ANSIBLE_HOST is refused/],
      ["ansible_ssh_common_args (a ProxyCommand)", { ansible_ssh_common_args: `-o ProxyCommand="touch ${join("/tmp", "x")}"` }, /ansible_ssh_common_args is refused/],
      ["inventory_hostname", { inventory_hostname: "127.0.0.1" }, /inventory_hostname is refused/],
      ["a key carrying Jinja", { NESTED: { ok: { "{{ lookup('pipe', 'id') }}": 1 } } }, /the key "NESTED" → "ok" → "\{\{ lookup\('pipe', 'id'\) \}\}" is refused/],
      ["a decoder marker as a key", { NESTED: [{ __ansible_unsafe: "x" }] }, /__ansible_unsafe is refused|reads __ansible_unsafe as a marker/],
      ["a variable name that is no identifier", { "X; id": 1 }, /"X; id" is not an Ansible variable name/],
    ];
    for (const [what, variables, message] of refusals)
      it(`refuses ${what} with exit 64 before running anything`, async () => {
        const result = await runWrapper(renderEnv(), renderRequest(variables));
        assert.equal(result.status, 64, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(existsSync(logs), false, "nothing ran");
      });
  });

  it("runs git, python and ansible-playbook without the deploy credentials", async () => {
    const credentials: Record<string, string> = {
      OS_PASSWORD: "fake-openstack-password-1",
      AWS_SECRET_ACCESS_KEY: "fake-aws-secret-2",
      GANDI_PERSONAL_ACCESS_TOKEN: "fake-gandi-token-3",
      PULUMI_CONFIG_PASSPHRASE: "fake-pulumi-passphrase-4",
      GITHUB_TOKEN: "fake-github-token-5",
      MONGODB_ATLAS_PRIVATE_KEY: "fake-atlas-key-6",
      MYSQL_PWD: "fake-mysql-password-7",
      SOME_OTHER_SETTING: "fake-unlisted-value-8",
      ANSIBLE_CONFIG: join(scratch, "operator-ansible.cfg"),
      PYTHONPATH: join(scratch, "injected-python"),
    };
    // Shims first on PATH record the environment git and python are started with, then run the real program.
    const shims = join(scratch, "shims");
    mkdirSync(shims);
    for (const program of ["git", "python3"]) {
      const real = execFileSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).trim();
      writeFileSync(join(shims, program), `#!/bin/sh\nenv > "${join(scratch, `${program}.env`)}"\nexec "${real}" "$@"\n`);
      chmodSync(join(shims, program), 0o755);
    }
    const bare = join(scratch, "configuration.git");
    const work = join(scratch, "configuration-work");
    cpSync(FIXTURE, work, { recursive: true });
    writeFileSync(join(work, "requirements.txt"), "");
    const gitEnv = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" };
    execFileSync("git", ["init", "-q", "-b", "main"], { cwd: work, env: gitEnv });
    execFileSync("git", ["add", "."], { cwd: work, env: gitEnv });
    execFileSync("git", ["commit", "-q", "-m", "c"], { cwd: work, env: gitEnv });
    execFileSync("git", ["init", "-q", "--bare", bare], { env: gitEnv });
    execFileSync("git", ["push", "-q", bare, "main"], { cwd: work, env: gitEnv });

    const names = Object.keys(credentials);
    const env = localEnv({
      ...credentials,
      PATH: `${shims}:${process.env.PATH ?? ""}`,
      OPENEDX_IM_PLAYBOOK: "render-all.yml",
      OPENEDX_IM_CONFIGURATION_REPOSITORY: bare,
      OPENEDX_IM_CONFIGURATION_REF: "main",
      OPENEDX_IM_VENV_CACHE: join(scratch, "venvs"),
      OPENEDX_IM_PYTHON: join(shims, "python3"),
    });
    delete (env as Partial<Record<string, string>>).OPENEDX_IM_CONFIGURATION_DIR;
    // The requirements step runs (python -m venv) and stops there: no package index here.
    const withVenv = await runWrapper({ ...env, OPENEDX_IM_SKIP_REQUIREMENTS: "" }, renderRequest());
    assert.equal(withVenv.status, 1, withVenv.stderr);
    assert.match(withVenv.stderr, /installed no ansible-playbook/);
    const plainValues = { HOSTILE_TEXT: "x", HOSTILE_LIST: [], HOSTILE_NESTED: { level1: { list: ["y"] } }, TRUSTED_TEMPLATE: "", TRUSTED_TREE: {} };
    const result = await runWrapper(env, renderRequest({ ...plainValues, probe_env_names: names }));
    assert.equal(result.status, 0, `${result.stderr}\n${latestLog()}`);

    const seen = {
      git: readFileSync(join(scratch, "git.env"), "utf8"),
      python: readFileSync(join(scratch, "python3.env"), "utf8"),
      lookup: readFileSync(`${output}.lookup-env`, "utf8"),
      task: readFileSync(`${output}.task-env`, "utf8"),
      facts: readFileSync(`${output}.facts-env`, "utf8"),
    };
    assert.match(seen.task, /^PATH=/m, "the task's environment was recorded");
    assert.match(seen.facts, /"HOME"/, "the facts' environment was recorded");
    for (const [where, text] of Object.entries(seen))
      for (const [name, value] of Object.entries(credentials)) {
        assert.equal(text.includes(value), false, `${name}'s value is visible to ${where}`);
        assert.equal(new RegExp(`^${name}=`, "m").test(text), false, `${name} is set for ${where}`);
      }
    assert.deepEqual(JSON.parse(seen.lookup), Object.fromEntries(names.map((name) => [name, ""])));
  });

  it("prints each task as it starts, with counts, elapsed time and the log's path, and never a value from a task name or a result", async () => {
    const secret = "pr0gress-Secret-in-a-task-name";
    const password = "hun2"; // short: masked because its key names a secret
    const wrapper = startWrapper(localEnv({ OPENEDX_IM_PLAYBOOK: "progress.yml", OPENEDX_IM_PROGRESS_INTERVAL: "1" }));
    let stderr = "";
    let stdout = "";
    wrapper.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    wrapper.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const closed = new Promise<number | null>((r) => wrapper.on("close", r));
    wrapper.stdin?.end(JSON.stringify({ variables: { progress_secret: secret, progress_db_password: password, progress_sleep: "4.25" } }));
    // While the slow task runs, the console already names it: progress is live, not printed at the end.
    const started = Date.now();
    while (processesRunning("sleep 4.25") === 0) {
      assert.ok(Date.now() - started < 60_000, `the slow task never started:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(processesRunning("sleep 4.25"), 1, "the slow task still runs");
    const whileRunning = stderr;
    assert.match(whileRunning, /task 5 started: TASK \[Wait a little\] · 5 started, 2 ok, 1 changed, 0 failed, 1 skipped · log \S+\.log\n/);
    assert.match(whileRunning, /still at task 5 \(for 0:0[1-9]\): TASK \[Wait a little\]/, "a line while the task runs");
    assert.equal(await closed, 0, stderr);

    const lines = stderr.trimEnd().split("\n");
    for (const line of lines) assert.match(line, /^provision \[\d+:\d\d\]: /, line);
    assert.match(stderr, /task 1 started: TASK \[Create the account \[masked\]\]/);
    assert.match(stderr, /task 2 started: TASK \[Log in with \[masked\]\]/);
    assert.match(stderr, /PLAY RECAP · 6 started, 3 ok, 2 changed, 0 failed, 1 skipped/);
    assert.ok(stderr.includes(join(logs, "a20261122")) || stderr.includes("/a20261122/"), "the log's path");
    for (const value of [secret, password]) {
      assert.equal(stderr.includes(value), false, `${value} reached stderr`);
      assert.equal(stdout.includes(value), false, `${value} reached stdout`);
    }
    assert.ok(latestLog().includes("the account is [masked]"), "the full log keeps the results, masked");
    for (const value of [secret, password]) assert.equal(latestLog().includes(value), false, `${value} reached the log`);
  });

  it("is stopped, playbook and all, when the command provider SIGKILLs the shell it started (sh -c PROVISION_COMMAND)", async () => {
    const sleepFor = "57.5";
    // As @pulumi/command runs it: /bin/sh -c <command>, from the project directory; a cancel kills that pid.
    const shell = spawn("/bin/sh", ["-c", PROVISION_COMMAND], { cwd: ROOT, env: { ...inheritedEnv(), ...localEnv({ OPENEDX_IM_KILL_GRACE: "1" }) } });
    shell.stdin?.end(request({ probe: {}, probe_sleep: sleepFor }));
    const started = Date.now();
    while (processesRunning(`sleep ${sleepFor}`) === 0) {
      assert.ok(Date.now() - started < 60_000, "the slow task never started");
      await new Promise((r) => setTimeout(r, 200));
    }
    shell.kill("SIGKILL");
    const killed = Date.now();
    while (processesRunning(`sleep ${sleepFor}`) > 0 && Date.now() - killed < 15_000) await new Promise((r) => setTimeout(r, 200));
    assert.equal(processesRunning(`sleep ${sleepFor}`), 0, "the playbook survived the kill of the shell");
    assert.ok((Date.now() - killed) / 1000 < 10);
    assert.equal(pids(WRAPPER).some((pid) => environOf(pid).includes(tmp)), false, "the wrapper survived the kill of the shell");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(leftovers(), [], "the private directory is gone");
  });

  it("after a SIGKILL of the wrapper, stops the playbook and the ssh-agent within seconds and leaves no secret on disk", async () => {
    const secret = "kill-nine-Secret-0f-the-run";
    const key = newSshKey(scratch);
    const keyBody = key.split("\n")[1];
    const sleepFor = "53.75"; // distinctive, to find the task's process
    const wrapper = startWrapper(localEnv({ OPENEDX_IM_KILL_GRACE: "2" }));
    wrapper.stdin?.end(
      JSON.stringify({ variables: { probe_output: output, probe: {}, probe_secret: secret, probe_sleep: sleepFor }, sshPrivateKey: key }),
    );
    // Wait until the slow task runs, with the secret among its arguments.
    const started = Date.now();
    while (processesRunning(`sleep ${sleepFor}`) === 0) {
      assert.ok(Date.now() - started < 60_000, "the slow task never started");
      await new Promise((r) => setTimeout(r, 200));
    }
    const agents = pids("ssh-agent -D -a " + tmp);
    assert.equal(agents.length, 1, "the wrapper's own ssh-agent runs");
    // While the task runs, Ansible's module file holds its arguments (the secret among them) in the private directory.
    assert.ok(filesContaining(tmp, secret).length > 0, "the check below could not see a secret file");
    wrapper.kill("SIGKILL");
    const killed = Date.now();
    while (
      (processesRunning(`sleep ${sleepFor}`) > 0 || pids("ansible-playbook").some((pid) => environOf(pid).includes(tmp)) || agents.some(alive)) &&
      Date.now() - killed < 15_000
    )
      await new Promise((r) => setTimeout(r, 200));
    const seconds = (Date.now() - killed) / 1000;
    assert.equal(processesRunning(`sleep ${sleepFor}`), 0, "the playbook's task still runs");
    assert.equal(agents.some(alive), false, "the ssh-agent still runs");
    assert.ok(seconds < 10, `took ${seconds} s`);
    await new Promise((r) => setTimeout(r, 500));
    for (const dir of [tmp, home])
      for (const needle of [secret, keyBody]) assert.deepEqual(filesContaining(dir, needle), [], `a file under ${dir} holds a secret`);
    assert.deepEqual(leftovers(), [], "the private directory is gone");
  });

  it("when a shell that did not hand over is killed, the orphaned wrapper stops the playbook within seconds", async () => {
    // The second line of defence behind `exec`: started without it, the wrapper is the child of a shell
    // (dash does not exec by itself); when that shell is SIGKILLed, the wrapper must not run on as an orphan.
    const sleepFor = "47.25";
    const base: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith("OPENEDX_IM_")) base[name] = value;
    const withoutExec = PROVISION_COMMAND.replace(/^exec /, "");
    assert.notEqual(withoutExec, PROVISION_COMMAND, "the command hands over with exec");
    const shell = spawn("/bin/sh", ["-c", withoutExec], { cwd: ROOT, env: { ...base, ...localEnv() }, stdio: ["pipe", "ignore", "ignore"] });
    shell.stdin?.end(JSON.stringify({ variables: { probe_output: output, probe: {}, probe_sleep: sleepFor } }));
    const started = Date.now();
    while (processesRunning(`sleep ${sleepFor}`) === 0) {
      assert.ok(Date.now() - started < 60_000, "the slow task never started");
      await new Promise((r) => setTimeout(r, 200));
    }
    shell.kill("SIGKILL");
    const killed = Date.now();
    while (processesRunning(`sleep ${sleepFor}`) > 0 && Date.now() - killed < 15_000) await new Promise((r) => setTimeout(r, 200));
    assert.equal(processesRunning(`sleep ${sleepFor}`), 0, "the playbook's task still runs after the shell was killed");
    assert.ok((Date.now() - killed) / 1000 < 10, "took too long");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(leftovers(), [], "the private directory is gone");
  });

  describe("over SSH to a local sshd, the VM's host key pinned", () => {
    let sshd: ChildProcess | undefined;
    let port: number;
    let hostPublicKey: string;
    let clientKey: string;

    beforeEach(async function () {
      const dir = join(scratch, "sshd");
      mkdirSync(dir);
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vm", "-f", join(dir, "host_key")]);
      hostPublicKey = readFileSync(join(dir, "host_key.pub"), "utf8").trim();
      clientKey = newSshKey(scratch);
      writeFileSync(join(scratch, "client"), clientKey, { mode: 0o600 });
      writeFileSync(join(dir, "authorized_keys"), execFileSync("ssh-keygen", ["-y", "-f", join(scratch, "client")], { encoding: "utf8" }));
      rmSync(join(scratch, "client"));
      port = 20000 + Math.floor(Math.random() * 20000);
      writeFileSync(
        join(dir, "sshd_config"),
        [
          `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${join(dir, "host_key")}`, `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
          `PidFile ${join(dir, "sshd.pid")}`, "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
          "PermitRootLogin prohibit-password", "",
        ].join("\n"),
      );
      mkdirSync("/run/sshd", { recursive: true });
      sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: "ignore" });
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        try {
          execFileSync("ssh-keyscan", ["-p", String(port), "-T", "1", "127.0.0.1"], { stdio: "pipe" });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    });

    afterEach(() => {
      if (sshd?.pid !== undefined) process.kill(sshd.pid, "SIGTERM");
    });

    const sshEnv = (pin: string) =>
      localEnv({
        OPENEDX_IM_CONNECTION: "ssh",
        OPENEDX_IM_HOST: "127.0.0.1",
        OPENEDX_IM_SSH_PORT: String(port),
        OPENEDX_IM_SSH_USER: userInfo().username,
        OPENEDX_IM_HOST_PUBLIC_KEY: pin,
        OPENEDX_IM_SSH_WAIT_TIMEOUT: "4",
        OPENEDX_IM_SSH_RETRY_INTERVAL: "1",
      });

    it("connects with the key from the request through its own agent and runs the playbook when the host key matches", async () => {
      const result = await runWrapper(sshEnv(hostPublicKey), JSON.stringify({ variables: { probe_output: output, probe: { over: "ssh" } }, sshPrivateKey: clientKey }));
      assert.equal(result.status, 0, `${result.stderr}\n${latestLog()}`);
      assert.deepEqual(received(), { probe: { over: "ssh" }, inventory_hostname: "127.0.0.1" });
      assert.deepEqual(leftovers(), []);
    });

    it("refuses a host whose key is not the pinned one, before anything runs (exit 69)", async () => {
      const result = await runWrapper(sshEnv(HOST_KEY_EXAMPLE), JSON.stringify({ variables: { probe_output: output, probe: {} }, sshPrivateKey: clientKey }));
      assert.equal(result.status, 69, result.stderr);
      assert.match(result.stderr, /not with the pinned host key \(OPENEDX_IM_HOST_PUBLIC_KEY\)/);
      assert.match(latestLog(), /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
      assert.equal(existsSync(output), false, "the playbook did not run");
    });
  });

  describe("checking out the configuration repository with git", () => {
    let bare: string;

    beforeEach(() => {
      // A configuration repository in miniature: the probe playbook under playbooks/, on a branch.
      const work = join(scratch, "configuration-work");
      bare = join(scratch, "configuration.git");
      cpSync(FIXTURE, work, { recursive: true });
      writeFileSync(join(work, "requirements.txt"), "");
      const git = (args: string[], cwd: string) =>
        execFileSync("git", args, {
          cwd,
          env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" },
          stdio: "pipe",
        });
      git(["init", "-q", "-b", "open-release/test.master"], work);
      git(["add", "."], work);
      git(["commit", "-q", "-m", "probe"], work);
      git(["init", "-q", "--bare", bare], scratch);
      git(["push", "-q", bare, "open-release/test.master"], work);
    });

    const gitEnv = (ref: string) => {
      const env = localEnv({ OPENEDX_IM_CONFIGURATION_REPOSITORY: bare, OPENEDX_IM_CONFIGURATION_REF: ref });
      delete (env as Partial<Record<string, string>>).OPENEDX_IM_CONFIGURATION_DIR;
      return env;
    };

    it("clones the ref into a work directory, runs its playbook, and removes the clone", async () => {
      const result = await runWrapper(gitEnv("open-release/test.master"), request({ probe: { from: "git" } }));
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(received().probe, { from: "git" });
      assert.match(result.stderr, /checking out the configuration repository at open-release\/test\.master/);
      assert.deepEqual(leftovers(), [], "the clone and the private files are removed");
    });

    for (const ref of ["$(touch INJECTED)", "`touch INJECTED`", "main; touch INJECTED", "it's \"quoted\"", "main\ntouch INJECTED"])
      it(`treats the ref ${JSON.stringify(ref)} as a name, runs nothing, and fails`, async () => {
        const result = await runWrapper(gitEnv(ref.replace(/INJECTED/g, join(scratch, "injected"))), request({ probe: {} }));
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /OPENEDX_IM_CONFIGURATION_REF/);
        assert.equal(existsSync(join(scratch, "injected")), false);
        assert.equal(existsSync(join(ROOT, "INJECTED")), false);
        assert.equal(existsSync(output), false, "no playbook ran");
        assert.deepEqual(leftovers(), []);
      });

    // GitHub serves every pull request's head as refs/pull/<N>/head of the allowed repository, and
    // git fetch resolves "pull/7/head" there; a leading + (force) hid it from the generator's check.
    for (const ref of ["+pull/7/head", "+refs/pull/7/head", "^main", "pull/7/head:refs/heads/x"])
      it(`refuses the refspec ${JSON.stringify(ref)} before git runs (a pull request's head would run on the deploy machine)`, async () => {
        const work = join(scratch, "configuration-work");
        const evil = join(scratch, "evil-ran");
        execFileSync("git", ["-C", work, "checkout", "-q", "-b", "attacker"]);
        writeFileSync(
          join(work, "playbooks", "probe.yml"),
          `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.file: { path: "${evil}", state: touch }\n`,
        );
        execFileSync("git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-am", "attacker"]);
        execFileSync("git", ["-C", work, "push", "-q", bare, "attacker:refs/pull/7/head"]);
        const result = await runWrapper(gitEnv(ref), request({ probe: {} }));
        assert.equal(result.status, 64, result.stderr);
        assert.match(result.stderr, /OPENEDX_IM_CONFIGURATION_REF: .* is not a git ref/);
        assert.equal(existsSync(evil), false, "the pull request's playbook did not run");
        assert.equal(existsSync(output), false, "no playbook ran");
      });
  });
});

/** A valid ED25519 public key line (the pin's format); nothing answers with its private half. */
const HOST_KEY_EXAMPLE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1AG7OGIW6eQBQUpI1w7/QmM6Q/oAK/N9EYr3bzuslo example";

/** A fresh ED25519 private key in OpenSSH format (ssh-keygen), for the agent to hold. */
function newSshKey(dir: string): string {
  const path = join(dir, `key-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", path]);
  const key = readFileSync(path, "utf8");
  rmSync(path);
  rmSync(`${path}.pub`);
  return key;
}

/** Files under `dir` whose content includes `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    let stat;
    try {
      stat = statSync(path, { throwIfNoEntry: false });
    } catch {
      return;
    }
    if (!stat) return;
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else if (stat.isFile() && readFileSync(path).includes(needle)) found.push(path);
  };
  visit(dir);
  return found;
}

function pids(pattern: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", "--", pattern], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function environOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return "";
  }
}

function processesRunning(commandLine: string): number {
  try {
    return execFileSync("pgrep", ["-f", "-x", commandLine], { encoding: "utf8" }).trim().split("\n").filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}
