import { strict as assert } from "node:assert";
import { ansibleServiceVars } from "../components/provisioners/ansible/service-vars";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/stack-config";
import { mockResourceState } from "../stacks/plan/mocks";
import { type Registration, isSecretValue, plain, settle, setUpRecordingMocks, unwrap } from "./support/pulumi-mocks";

/**
 * Adoption (config/adopt.ts) as the components carry it out, under Pulumi mocks:
 * what is imported carries the import id and ignoreChanges, what is referenced
 * is no resource at all, adopted users keep their passwords from credentials,
 * and grants still name only the instance's own (adopted) databases. Then the
 * example stack Pulumi.legacy.yaml through the offline plan.
 */

let registrations: Registration[] = [];

/** An Output's settled value or its error: the SDK keeps the promise on the Output (not in its public types). */
function settled(value: pulumi.Output<unknown>): Promise<unknown> {
  return (value as unknown as { promise(): Promise<unknown> }).promise();
}

type InstanceModule = typeof import("../components/instance");
type NamesModule = typeof import("../config/names");
type ConfigModule = typeof import("../config/stack-config");
let instanceModule: InstanceModule;
let names: NamesModule;
let configModule: ConfigModule;

const PROJECT_ID = "5f1d0c3b9e2a4b6c8d0e1f2a";
const fleet = {
  "openedx-im:mysqlServers": [{ name: "mysql-a", host: "mysql-a.example.net", port: 3306, username: "admin" }],
  "openedx-im:mongodb": { projectId: PROJECT_ID, clusterName: "shared-cluster", hosts: ["shard-00.example.net:27017"] },
  "openedx-im:rabbitmq": { managementUrl: "https://rabbit.example.net:15671", host: "rabbit.example.net", port: 5671, useTls: true },
};

const production = {
  name: "Legacy site",
  subDomain: "legacy",
  baseDomain: "example.org",
  lifecycle: "production",
  databases: "persistent",
  mysqlServer: "mysql-a",
  services: { xqueue: true, notes: false, ecommerce: false, discovery: false },
  appServers: [{ id: "a1", release: "redwood" }],
};

const adoptAll = {
  mysql: {
    databases: { edxapp: "old_edxapp", edxapp_csmh: "old_csmh" },
    users: { edxapp: "old_app", migrate: "old_app", xqueue: { name: "old_xq", host: "10.0.%" } },
  },
  mongodb: { databases: { main: "old_edxapp", forum: "old_forum" }, user: "old_mongo" },
  rabbitmq: { vhost: "old_vhost", users: { provider: "old_celery" } },
};

const PASSWORDS = {
  "mysql.edxapp": "existing-app-password",
  "mysql.xqueue": "existing-xq-password",
  mongodb: "existing-mongo-password",
  "rabbitmq.provider": "existing-celery-password",
};

function stackConfig(instance: Record<string, unknown>, credentialKeys: string[] = []): StackConfig {
  const result = configModule.validateStackConfig({ ...fleet, "openedx-im:instance": instance });
  if (!result.ok) throw new Error(result.problems.join("\n"));
  // The credentials are handed to the component directly: what validation saw of them (none) does not apply.
  const { credentialPaths: _seenByValidation, ...config } = result.config;
  return { ...config, credentialKeys };
}

function resourcesOf(prefix: string): Registration[] {
  return registrations.filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`));
}
function ofType(prefix: string, type: string): Registration[] {
  return resourcesOf(prefix).filter((r) => r.type === type);
}
function named(prefix: string, type: string, key: string, value: string): Registration | undefined {
  return ofType(prefix, type).find((r) => plain(r.inputs[key]) === value);
}

const DATABASE = "mysql:index/database:Database";
const MYSQL_USER = "mysql:index/user:User";
const GRANT = "mysql:index/grant:Grant";
const MONGO_USER = "mongodbatlas:index/databaseUser:DatabaseUser";
const VHOST = "rabbitmq:index/vHost:VHost";
const RABBIT_USER = "rabbitmq:index/user:User";
const PERMISSIONS = "rabbitmq:index/permissions:Permissions";
const PASSWORD = "random:index/randomPassword:RandomPassword";

type Instance = InstanceType<InstanceModule["OpenEdxInstance"]>;
let adopted: Instance;
let referenced: Instance;

describe("adoption", () => {
  before(async () => {
    registrations = await setUpRecordingMocks({ stack: "adoption", state: (args) => mockResourceState(args.type, args.name, args.inputs) });
    configModule = await import("../config/stack-config.js");
    instanceModule = await import("../components/instance.js");
    names = await import("../config/names.js");

    adopted = new instanceModule.OpenEdxInstance("adopted", {
      instanceId: "adopted",
      config: stackConfig({ ...production, adopt: adoptAll }, ["adoptedPasswords"]),
      credentials: pulumi.secret({ adoptedPasswords: PASSWORDS }),
    });
    const referenceAll = {
      mysql: { ...adoptAll.mysql, mode: "reference" },
      mongodb: { ...adoptAll.mongodb, mode: "reference" },
      rabbitmq: { ...adoptAll.rabbitmq, mode: "reference" },
    };
    referenced = new instanceModule.OpenEdxInstance("referenced", {
      instanceId: "referenced",
      config: stackConfig({ ...production, subDomain: "referenced", adopt: referenceAll }, ["adoptedPasswords"]),
      credentials: pulumi.secret({ adoptedPasswords: PASSWORDS }),
    });
    await unwrap(pulumi.all([pulumi.all(ansibleServiceVars(adopted)), pulumi.all(ansibleServiceVars(referenced))]));
    await settle();
  });

  describe("import", () => {
    it("imports each adopted resource with the provider's import id and leaves alone what it must not change", () => {
      const imports = Object.fromEntries(
        resourcesOf("adopted")
          .filter((r) => r.importId !== "")
          .map((r) => [`${r.type} ${r.importId}`, [...r.ignoreChanges].sort()]),
      );
      assert.deepEqual(imports, {
        [`${DATABASE} old_edxapp`]: ["defaultCharacterSet", "defaultCollation"],
        [`${DATABASE} old_csmh`]: ["defaultCharacterSet", "defaultCollation"],
        [`${MYSQL_USER} old_app@%`]: ["password", "plaintextPassword"],
        [`${MYSQL_USER} old_xq@10.0.%`]: ["password", "plaintextPassword"],
        [`${MONGO_USER} ${PROJECT_ID}/old_mongo/admin`]: ["description", "password", "roles", "scopes"],
        [`${VHOST} old_vhost`]: [],
        [`${RABBIT_USER} old_celery`]: ["password", "tags"],
        [`${PERMISSIONS} old_celery@old_vhost`]: ["permissions"],
      });
    });

    it("declares imported resources under their existing names, and creates the rest under derived ones", () => {
      assert.ok(named("adopted", DATABASE, "name", "old_edxapp"));
      assert.equal(named("adopted", DATABASE, "name", names.mysqlDatabaseName("adopted", "xqueue"))?.importId, "", "xqueue's database is new");
      assert.equal(named("adopted", MYSQL_USER, "user", "old_xq")?.inputs.host, "10.0.%");
      assert.equal(named("adopted", MYSQL_USER, "user", names.mysqlUserName("adopted", "read_only"))?.importId, "", "the read-only user is new");
      assert.equal(named("adopted", RABBIT_USER, "name", names.rabbitUserName("adopted", "consumer"))?.importId, "");
      const [mongoUser] = ofType("adopted", MONGO_USER);
      assert.equal(mongoUser.inputs.username, "old_mongo");
      assert.deepEqual(
        (mongoUser.inputs.roles as Array<{ roleName: string; databaseName: string }>).map((role) => `${role.roleName}@${role.databaseName}`),
        ["readWrite@old_edxapp", "readWrite@old_forum"],
      );
    });

    it("makes one resource for one old user serving two roles", () => {
      const users = ofType("adopted", MYSQL_USER).map((user) => String(user.inputs.user));
      assert.deepEqual(users.filter((user) => user === "old_app"), ["old_app"]);
      assert.equal(resourcesOf("adopted").some((r) => r.name === "adopted-mysql-user-migrate"), false);
      assert.equal(adopted.mysql?.users.migrate, adopted.mysql?.users.edxapp);
    });

    it("never imports a grant, and grants only on the instance's own (adopted) databases, one grant per account and database", () => {
      const grants = ofType("adopted", GRANT);
      assert.ok(grants.length > 0);
      for (const grant of grants) assert.equal(grant.importId, "", grant.name);
      const own = ["old_edxapp", "old_csmh", names.mysqlDatabaseName("adopted", "xqueue")].map(names.mysqlGrantDatabasePattern);
      for (const grant of grants) assert.ok(own.includes(String(grant.inputs.database)), `${grant.name} grants on ${grant.inputs.database}`);
      const accounts = grants.map((grant) => `${grant.inputs.user}@${grant.inputs.host} ${grant.inputs.database}`);
      assert.equal(new Set(accounts).size, accounts.length, "two grants for one account on one database would revoke each other");
      const shared = grants.find((grant) => grant.inputs.user === "old_app" && grant.inputs.database === names.mysqlGrantDatabasePattern("old_edxapp"));
      assert.ok((shared?.inputs.privileges as string[]).includes("ALTER"), "the shared user gets migrate's privileges too");
      assert.deepEqual(
        grants.filter((grant) => grant.inputs.user === "old_xq").map((grant) => `${grant.inputs.host} ${grant.inputs.database}`),
        [`10.0.% ${names.mysqlGrantDatabasePattern(names.mysqlDatabaseName("adopted", "xqueue"))}`],
      );
    });

    it("retains and protects imported data resources in production as it does created ones", () => {
      for (const type of [DATABASE, MYSQL_USER, GRANT, MONGO_USER, VHOST])
        for (const resource of ofType("adopted", type)) assert.ok(resource.retainOnDelete && resource.protect, `${type} ${resource.name}`);
    });
  });

  describe("passwords", () => {
    it("gives adopted users their existing passwords from credentials, as secrets, and generates none for them", async () => {
      const app = named("adopted", MYSQL_USER, "user", "old_app")!;
      assert.ok(isSecretValue(app.inputs.plaintextPassword));
      assert.equal(plain(app.inputs.plaintextPassword), PASSWORDS["mysql.edxapp"]);
      const [mongoUser] = ofType("adopted", MONGO_USER);
      assert.ok(isSecretValue(mongoUser.inputs.password));
      assert.equal(plain(mongoUser.inputs.password), PASSWORDS.mongodb);
      const generated = ofType("adopted", PASSWORD)
        .filter((password) => password.name.startsWith("adopted-secrets-password-"))
        .map((password) => password.name.replace("adopted-secrets-password-", ""))
        .sort();
      assert.deepEqual(generated, ["mysql-read_only", "rabbit-consumer", "xqueue-lms"]);
    });

    it("hands the adopted names and passwords to Ansible, passwords as secrets", async () => {
      const vars = ansibleServiceVars(adopted);
      const expected: Record<string, string> = {
        EDXAPP_MYSQL_DB_NAME: "old_edxapp",
        EDXAPP_MYSQL_CSMH_DB_NAME: "old_csmh",
        EDXAPP_MYSQL_USER: "old_app",
        COMMON_MYSQL_MIGRATE_USER: "old_app",
        XQUEUE_MYSQL_USER: "old_xq",
        EDXAPP_MONGO_DB_NAME: "old_edxapp",
        FORUM_MONGO_DATABASE: "old_forum",
        EDXAPP_MONGO_USER: "old_mongo",
        EDXAPP_CELERY_BROKER_VHOST: "old_vhost",
        EDXAPP_CELERY_USER: "old_celery",
      };
      for (const [name, value] of Object.entries(expected)) assert.equal(await unwrap(vars[name]), value, name);
      const passwords: Record<string, string> = {
        EDXAPP_MYSQL_PASSWORD: PASSWORDS["mysql.edxapp"],
        COMMON_MYSQL_MIGRATE_PASS: PASSWORDS["mysql.edxapp"],
        XQUEUE_MYSQL_PASSWORD: PASSWORDS["mysql.xqueue"],
        EDXAPP_MONGO_PASSWORD: PASSWORDS.mongodb,
        FORUM_MONGO_PASSWORD: PASSWORDS.mongodb,
        EDXAPP_CELERY_PASSWORD: PASSWORDS["rabbitmq.provider"],
      };
      for (const [name, value] of Object.entries(passwords)) {
        assert.ok(await pulumi.isSecret(pulumi.output(vars[name])), `${name} must be secret`);
        assert.equal(await unwrap(vars[name]), value, name);
      }
      assert.notEqual(await unwrap(vars.COMMON_MYSQL_READ_ONLY_PASS), PASSWORDS["mysql.edxapp"], "the new read-only user has its own generated password");
    });

    it("refuses to run without a needed password, naming every key and the command that sets it", async () => {
      assert.throws(
        () => new instanceModule.OpenEdxInstance("nopw", { instanceId: "nopw", config: stackConfig({ ...production, subDomain: "nopw", adopt: adoptAll }) }),
        (error: Error) =>
          /openedx-im:credentials\.adoptedPasswords\.mysql\.edxapp: set it with: pulumi config set --secret --path 'openedx-im:credentials\.adoptedPasswords\["mysql\.edxapp"\]' <password>/.test(
            error.message,
          ) && ["mysql.xqueue", "mongodb", "rabbitmq.provider"].every((key) => error.message.includes(`adoptedPasswords.${key}:`)),
      );
      await settle();
      assert.deepEqual(resourcesOf("nopw").map((r) => r.type), ["openedx-im:instance:OpenEdxInstance"], "nothing is declared before the check");
    });

    it("reports a password missing from credentials when its value is read, without printing the others", async () => {
      const credentials = pulumi.secret({ adoptedPasswords: { "mysql.edxapp": "present-secret" } });
      const passwords = instanceModule.adoptedPasswords(["mysql.edxapp", "mongodb"], ["adoptedPasswords"], credentials);
      await assert.rejects(settled(passwords.mongodb), (error: Error) => {
        assert.match(error.message, /adoptedPasswords\.mongodb: set it with: pulumi config set --secret --path/);
        assert.ok(!error.message.includes("present-secret"));
        return true;
      });
    });

    it("reads a password stored nested by --path ...adoptedPasswords.mysql.edxapp as well", async () => {
      const credentials = pulumi.secret({ adoptedPasswords: { mysql: { edxapp: "nested-secret" } } as unknown as Record<string, string> });
      const passwords = instanceModule.adoptedPasswords(["mysql.edxapp"], ["adoptedPasswords"], credentials);
      assert.equal(await unwrap(passwords["mysql.edxapp"]), "nested-secret");
      assert.ok(await pulumi.isSecret(passwords["mysql.edxapp"]));
    });
  });

  describe("reference", () => {
    it("declares no resource for what is referenced, and no grants for referenced users", () => {
      const types = (type: string) => ofType("referenced", type);
      assert.deepEqual(types(DATABASE).map((d) => d.inputs.name), [names.mysqlDatabaseName("referenced", "xqueue")], "only the new database");
      assert.deepEqual(types(MYSQL_USER).map((u) => u.inputs.user), [names.mysqlUserName("referenced", "read_only")], "only the new user");
      assert.deepEqual([...new Set(types(GRANT).map((g) => g.inputs.user))], [names.mysqlUserName("referenced", "read_only")]);
      assert.deepEqual(types(MONGO_USER), []);
      assert.deepEqual(types(VHOST), []);
      assert.deepEqual(types(RABBIT_USER).map((u) => u.inputs.name), [names.rabbitUserName("referenced", "consumer")]);
      for (const resource of resourcesOf("referenced")) assert.equal(resource.importId, "", `${resource.type} ${resource.name}`);
    });

    it("grants the new read-only user on the referenced databases by name, and permits the new broker user on the referenced vhost", () => {
      const grants = ofType("referenced", GRANT).map((grant) => String(grant.inputs.database)).sort();
      assert.deepEqual(grants, ["old_edxapp", "old_csmh", names.mysqlDatabaseName("referenced", "xqueue")].map(names.mysqlGrantDatabasePattern).sort());
      const permissions = ofType("referenced", PERMISSIONS);
      assert.deepEqual(permissions.map((p) => `${p.inputs.user}@${p.inputs.vhost}`), [`${names.rabbitUserName("referenced", "consumer")}@old_vhost`]);
    });

    it("still hands the referenced names and existing passwords to Ansible", async () => {
      const vars = ansibleServiceVars(referenced);
      assert.equal(await unwrap(vars.EDXAPP_MYSQL_USER), "old_app");
      assert.equal(await unwrap(vars.EDXAPP_MONGO_USER), "old_mongo");
      assert.equal(await unwrap(vars.EDXAPP_CELERY_BROKER_VHOST), "old_vhost");
      assert.ok(await pulumi.isSecret(pulumi.output(vars.EDXAPP_MYSQL_PASSWORD)));
      assert.equal(await unwrap(vars.EDXAPP_MYSQL_PASSWORD), PASSWORDS["mysql.edxapp"]);
      assert.equal(await unwrap(vars.EDXAPP_MONGO_PASSWORD), PASSWORDS.mongodb);
    });
  });
});

describe("an adopting production stack, like Pulumi.legacy.yaml (offline plan)", function () {
  this.timeout(120_000);
  type Plan = Awaited<ReturnType<typeof import("../stacks/plan/stack")["renderStack"]>>;
  let plan: Plan;

  before(async () => {
    const { renderStack } = await import("../stacks/plan/stack.js");
    const { FIXTURE_STACKS } = await import("./support/stacks.js");
    plan = await renderStack("legacy", FIXTURE_STACKS);
  });

  it("imports the existing data resources instead of creating them, and imports nothing else", () => {
    const imported = plan.resources.filter((r) => r.importId !== undefined).map((r) => `${r.type} ${r.importId}`).sort();
    assert.deepEqual(imported, [
      `${MONGO_USER} 5f1d0c3b9e2a4b6c8d0e1f2a/launchpad/admin`,
      `${DATABASE} launchpad_edxapp`,
      `${DATABASE} launchpad_edxapp_csmh`,
      `${DATABASE} launchpad_xqueue`,
      `${MYSQL_USER} launchpad@%`,
      `${MYSQL_USER} launchpad_xqueue@10.0.%`,
      `${PERMISSIONS} launchpad_celery@launchpad`,
      `${PERMISSIONS} launchpad_worker@launchpad`,
      `${RABBIT_USER} launchpad_celery`,
      `${RABBIT_USER} launchpad_worker`,
      `${VHOST} launchpad`,
    ]);
  });

  it("creates only what the old site did not have: the read-only user, the grants, the generated secrets", () => {
    const created = plan.resources.filter((r) => r.importId === undefined && /^(mysql|mongodbatlas|rabbitmq):/.test(r.type));
    assert.deepEqual([...new Set(created.map((r) => r.type))].sort(), [GRANT, MYSQL_USER]);
    assert.deepEqual(created.filter((r) => r.type === MYSQL_USER).map((r) => r.inputs.user), [names.mysqlUserName("legacy", "read_only")]);
    const own = new Set(["launchpad_edxapp", "launchpad_edxapp_csmh", "launchpad_xqueue"].map(names.mysqlGrantDatabasePattern));
    for (const grant of created.filter((r) => r.type === GRANT)) assert.ok(own.has(String(grant.inputs.database)), `${grant.name} on ${grant.inputs.database}`);
    const passwords = plan.resources.filter((r) => r.type === PASSWORD).map((r) => r.name);
    assert.deepEqual(passwords.filter((name) => /mysql-(edxapp|migrate|xqueue)$|mongo$|rabbit-/.test(name)), [], "no password generated for an adopted user");
  });

  it("shows the adopted users' passwords only as [secret], and keeps the data retained and protected", () => {
    for (const r of plan.resources.filter((resource) => resource.type === MYSQL_USER)) assert.equal(r.inputs.plaintextPassword, "[secret]", r.name);
    const ansibleVars = (plan.artifacts.appservers as Record<string, { ansibleVars: Record<string, unknown> }>).a20261201.ansibleVars;
    assert.equal(ansibleVars.EDXAPP_MYSQL_USER, "launchpad");
    assert.equal(ansibleVars.EDXAPP_MYSQL_PASSWORD, "[secret]");
    assert.equal(ansibleVars.EDXAPP_MONGO_PASSWORD, "[secret]");
    for (const r of plan.resources.filter((resource) => [DATABASE, MYSQL_USER, GRANT, MONGO_USER, VHOST].includes(resource.type)))
      assert.ok(r.retainOnDelete && r.protect, `${r.type} ${r.name}`);
  });
});

describe("adopting the domain records at the cut-over (offline plan)", function () {
  this.timeout(120_000);
  type Plan = Awaited<ReturnType<typeof import("../stacks/plan/stack")["renderStack"]>>;
  const RECORD = "gandi:livedns/record:Record";
  let root: string;

  /** Pulumi.legacy.yaml with `adopt.dns` set to `mode` (or removed), rendered from a scratch root. */
  async function renderWithDns(mode: "keep" | "import" | undefined): Promise<Plan> {
    const { renderStack } = await import("../stacks/plan/stack.js");
    const text = readFileSync(join(__dirname, "fixtures", "stacks", "Pulumi.legacy.yaml"), "utf8");
    const edited = mode === undefined ? text.replace(/^ {6}dns: keep\n/m, "") : text.replace(/^( {6}dns: )keep$/m, `$1${mode}`);
    assert.notEqual(edited === text, mode !== "keep", "the fixture stack's adopt.dns line moved");
    writeFileSync(join(root, "Pulumi.legacy.yaml"), edited);
    return renderStack("legacy", root);
  }
  // The instance's names; not the VMs' names, nor the candidates' entry names (new in a migration too, never imported).
  const domainRecordsOf = (plan: Plan) => plan.resources.filter((r) => r.type === RECORD && !/-vm\d+-|-candidates-/.test(r.name));

  before(() => {
    root = mkdtempSync(join(tmpdir(), "openedx-im-dns-adopt-"));
    writeFileSync(join(root, "Pulumi.yaml"), readFileSync(join(__dirname, "fixtures", "stacks", "Pulumi.yaml")));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("keep: declares no record for the instance's names (the old site keeps them), only the new VMs' names", async () => {
    const plan = await renderWithDns("keep");
    assert.deepEqual(domainRecordsOf(plan).map((r) => r.name), []);
    assert.ok(plan.resources.some((r) => r.type === RECORD && /-vm0-a20261201$/.test(r.name)));
  });

  it("import: takes each existing record over by zone/name/type without changing it", async () => {
    const plan = await renderWithDns("import");
    const records = domainRecordsOf(plan);
    assert.equal(records.length, 4);
    for (const r of records) {
      assert.equal(r.importId, `${r.inputs.zone}/${r.inputs.name}/${r.inputs.type}`);
      assert.deepEqual(r.ignoreChanges, ["ttl", "values"]);
    }
  });

  it("afterwards: the records are managed and point at the load balancer", async () => {
    const plan = await renderWithDns(undefined);
    const records = domainRecordsOf(plan);
    assert.equal(records.length, 4);
    for (const r of records) {
      assert.equal(r.importId, undefined);
      assert.deepEqual(r.inputs.values, ["lb1.opencraft.example."]);
    }
  });
});

