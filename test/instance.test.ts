import { strict as assert } from "node:assert";
import { ansibleServiceVars } from "../components/provisioners/ansible/service-vars";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/stack-config";
import { type Registration, isSecretValue, plain, settle, setUpRecordingMocks, unwrap } from "./support/pulumi-mocks";

/**
 * OpenEdxInstance under Pulumi mocks: every registration the SDK sends is
 * recorded with its inputs (secrets still marked) and options, as the engine
 * would receive it. Only the cloud's answers are mocked.
 */

let registrations: Registration[] = [];
const rsaPem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs1" }).toString();

type InstanceModule = typeof import("../components/instance");
type NamesModule = typeof import("../config/names");
type ConfigModule = typeof import("../config/stack-config");
let instanceModule: InstanceModule;
let names: NamesModule;
let configModule: ConfigModule;

const fleet = {
  "openedx-im:openstack": {
    region: "RegionOne",
    network: "appservers",
    defaultImage: "ubuntu-20.04",
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0Q3HLbJ5nGrW3kVdfNKAXozrVHAm+f7dFqyYv0Ic9Z test",
  },
  "openedx-im:loadBalancer": { sshHost: "lb1.example.net", sshUser: "deploy", publicHostname: "lb1.example.net" },
  "openedx-im:mysqlServers": [
    { name: "mysql-a", host: "mysql-a.example.net", port: 3306, username: "admin" },
    { name: "mysql-b", host: "mysql-b.example.net", port: 3307, username: "admin" },
  ],
  "openedx-im:mongodb": {
    projectId: "5f1d0c3b9e2a4b6c8d0e1f2a",
    clusterName: "shared-cluster",
    hosts: ["shard-00.example.net:27017", "shard-01.example.net:27017"],
    replicaSet: "rs0",
  },
  "openedx-im:rabbitmq": { managementUrl: "https://rabbit.example.net:15671", host: "rabbit.example.net", port: 5671, useTls: true },
};

/**
 * A production stack pins its MySQL server; these tests pin it where the hash puts
 * `instanceId` (the component's choice for an unpinned instance, kept for sandboxes).
 */
function stackConfig(instance: Record<string, unknown>, extra: Record<string, unknown> = {}, instanceId?: string): StackConfig {
  const pin =
    instance.lifecycle === "production" && instance.mysqlServer === undefined && instanceId !== undefined
      ? { mysqlServer: names.chooseMysqlServer(instanceId, fleet["openedx-im:mysqlServers"].map((s) => s.name)) }
      : {};
  const result = configModule.validateStackConfig({ ...fleet, ...extra, "openedx-im:instance": { ...instance, ...pin } });
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return result.config;
}

const production = {
  name: "Production site",
  subDomain: "courses",
  baseDomain: "example.org",
  lifecycle: "production",
  databases: "persistent",
  dnsTtl: 3600,
  services: { ecommerce: true, discovery: true },
  securityGroup: {
    sshSources: ["198.51.100.0/24", "2001:db8:100::/48"],
    extraRules: [{ direction: "ingress", protocol: "tcp", portRangeMin: 8080, remoteIpPrefix: "203.0.113.0/24" }],
  },
  appServers: [{ id: "a1", release: "redwood" }],
  activeAppServer: "a1",
};
const sandbox = { name: "Sandbox", subDomain: "pr42", baseDomain: "sandbox.example.org", lifecycle: "sandbox", databases: "persistent" };
const ephemeral = { name: "Ephemeral", subDomain: "dev", baseDomain: "sandbox.example.org", lifecycle: "sandbox", databases: "ephemeral" };

type Instance = InstanceType<InstanceModule["OpenEdxInstance"]>;
const built: Record<string, { instance: Instance; config: StackConfig }> = {};

/** The registrations of one scenario: every resource the component named `prefix` made. */
function resourcesOf(prefix: string): Registration[] {
  return registrations.filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`));
}
function ofType(prefix: string, type: string): Registration[] {
  return resourcesOf(prefix).filter((r) => r.type === type);
}

describe("OpenEdxInstance", () => {
  before(async () => {
    registrations = await setUpRecordingMocks({ stack: "test", state: (args) => {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "tls:index/privateKey:PrivateKey") state.privateKeyPem = rsaPem;
        if (args.type === "random:index/randomPassword:RandomPassword") state.result = `pw-${args.name}`.slice(0, 60);
        return state;
      } });
    // Resources register on construction: import the components only once the mocks are in place.
    configModule = await import("../config/stack-config.js");
    instanceModule = await import("../components/instance.js");
    names = await import("../config/names.js");

    for (const [id, settings] of Object.entries({ prod: production, pr42: sandbox, dev: ephemeral })) {
      const config = stackConfig(settings, {}, id);
      built[id] = { config, instance: new instanceModule.OpenEdxInstance(id, { instanceId: id, config }) };
    }
    built.prod.instance.dnsRecordFor("a1", 0, "192.0.2.10", { parent: built.prod.instance });
    built.prod.instance.dnsRecordFor("a1", 1, "2001:db8::10", { parent: built.prod.instance });
    await unwrap(pulumi.all(Object.values(built).map(({ instance }) => pulumi.all(ansibleServiceVars(instance)))));
    await settle();
  });

  describe("MySQL", () => {
    it("never grants on * or on a wildcard database", () => {
      const grants = ofType("prod", "mysql:index/grant:Grant");
      assert.ok(grants.length > 0);
      for (const grant of grants) {
        const database = String(plain(grant.inputs.database));
        assert.ok(!database.includes("*") && !database.includes("%"), `grant ${grant.name} names database ${database}`);
        assert.ok(grant.inputs.table === undefined || grant.inputs.table === "*", `grant ${grant.name} table`);
      }
    });

    it("grants only on this instance's databases, each service user only on its own", () => {
      const databases = ofType("prod", "mysql:index/database:Database").map((d) => String(d.inputs.name));
      const escaped = new Set(databases.map(names.mysqlGrantDatabasePattern));
      const grants = ofType("prod", "mysql:index/grant:Grant");
      for (const grant of grants) assert.ok(escaped.has(String(grant.inputs.database)), `${grant.name} on ${grant.inputs.database}`);

      const onDatabases = (user: string) =>
        grants.filter((g) => g.inputs.user === user).map((g) => String(g.inputs.database)).sort();
      const pattern = (key: Parameters<NamesModule["mysqlDatabaseName"]>[1]) => names.mysqlGrantDatabasePattern(names.mysqlDatabaseName("prod", key));
      assert.deepEqual(onDatabases(names.mysqlUserName("prod", "edxapp")), [pattern("edxapp"), pattern("edxapp_csmh")].sort());
      assert.deepEqual(onDatabases(names.mysqlUserName("prod", "ecommerce")), [pattern("ecommerce")]);
      assert.deepEqual(onDatabases(names.mysqlUserName("prod", "migrate")), [...escaped].sort());
      for (const grant of grants) assert.equal(grant.inputs.host, "%");
    });

    it("makes a read-only user that may only SELECT, on every database of the instance, and hands it to Ansible", async () => {
      const readOnly = names.mysqlUserName("prod", "read_only");
      assert.ok(ofType("prod", "mysql:index/user:User").some((user) => user.inputs.user === readOnly));
      const databases = ofType("prod", "mysql:index/database:Database").map((d) => names.mysqlGrantDatabasePattern(String(d.inputs.name)));
      const grants = ofType("prod", "mysql:index/grant:Grant").filter((grant) => grant.inputs.user === readOnly);
      assert.deepEqual(grants.map((grant) => String(grant.inputs.database)).sort(), databases.sort());
      for (const grant of grants) assert.deepEqual(grant.inputs.privileges, ["SELECT"]);
      const vars = ansibleServiceVars(built.prod.instance);
      assert.equal(await unwrap(vars.COMMON_MYSQL_READ_ONLY_USER), readOnly);
      assert.ok(await pulumi.isSecret(pulumi.output(vars.COMMON_MYSQL_READ_ONLY_PASS)));
      assert.equal(await unwrap(vars.COMMON_MYSQL_READ_ONLY_PASS), "pw-prod-secrets-password-mysql-read_only");
    });

    it("creates utf8mb4 databases through a provider bound to the chosen server only", () => {
      const providers = ofType("prod", "pulumi:providers:mysql");
      assert.equal(providers.length, 1);
      const chosen = names.chooseMysqlServer("prod", ["mysql-a", "mysql-b"]);
      const server = fleet["openedx-im:mysqlServers"].find((s) => s.name === chosen)!;
      assert.equal(providers[0].inputs.endpoint, `${server.host}:${server.port}`);
      for (const database of ofType("prod", "mysql:index/database:Database")) {
        assert.equal(database.inputs.defaultCharacterSet, "utf8mb4");
        assert.match(String(database.inputs.defaultCollation), /^utf8mb4_/);
      }
      assert.equal(ansibleServiceVars(built.prod.instance).EDXAPP_MYSQL_HOST, server.host);
    });

    it("gives the MySQL and RabbitMQ providers the admin credentials from config, as secrets", async () => {
      const config = { ...stackConfig({ ...production, subDomain: "creds" }, {}, "creds"), credentialKeys: ["mysql", "rabbitmqPassword", "rabbitmqUsername"] };
      const chosen = names.chooseMysqlServer("creds", ["mysql-a", "mysql-b"]);
      const credentials = pulumi.secret({ mysql: { [chosen]: "mysql-admin-secret" }, rabbitmqUsername: "rabbit-admin", rabbitmqPassword: "rabbit-secret" });
      const instance = new instanceModule.OpenEdxInstance("creds", { instanceId: "creds", config, credentials });
      await unwrap(pulumi.all(ansibleServiceVars(instance)));
      await settle();
      const [mysqlProvider] = ofType("creds", "pulumi:providers:mysql");
      assert.ok(isSecretValue(mysqlProvider.inputs.password));
      assert.equal(plain(mysqlProvider.inputs.password), "mysql-admin-secret");
      const [rabbitProvider] = ofType("creds", "pulumi:providers:rabbitmq");
      assert.ok(isSecretValue(rabbitProvider.inputs.password));
      assert.equal(plain(rabbitProvider.inputs.password), "rabbit-secret");
      assert.equal(plain(rabbitProvider.inputs.username), "rabbit-admin");
    });

    it("uses the pinned mysqlServer over the hashed choice", async () => {
      const hashed = names.chooseMysqlServer("pinned", ["mysql-a", "mysql-b"]);
      const other = hashed === "mysql-a" ? "mysql-b" : "mysql-a";
      const config = stackConfig({ ...production, subDomain: "pinned", mysqlServer: other });
      new instanceModule.OpenEdxInstance("pinned", { instanceId: "pinned", config });
      await settle();
      const server = fleet["openedx-im:mysqlServers"].find((s) => s.name === other)!;
      assert.deepEqual(ofType("pinned", "pulumi:providers:mysql").map((p) => p.inputs.endpoint), [`${server.host}:${server.port}`]);
    });

    it("leaves the MySQL password to MYSQL_PASSWORD when no credentials are configured", () => {
      const [provider] = ofType("prod", "pulumi:providers:mysql");
      assert.equal(provider.inputs.password, undefined);
      assert.equal(provider.inputs.username, "admin");
    });

    it("sets users' passwords as secret plaintextPassword and deleteBeforeReplace on grants and users", () => {
      for (const user of ofType("prod", "mysql:index/user:User")) {
        assert.ok(isSecretValue(user.inputs.plaintextPassword), `${user.name} password must be secret`);
        assert.equal(user.inputs.password, undefined);
        assert.equal(user.deleteBeforeReplace, true);
      }
      for (const grant of ofType("prod", "mysql:index/grant:Grant")) assert.equal(grant.deleteBeforeReplace, true);
    });
  });

  it("gives the Mongo user readWrite on the main and forum databases only, on the one cluster", () => {
    const [user] = ofType("prod", "mongodbatlas:index/databaseUser:DatabaseUser");
    const { main, forum } = names.mongoDatabaseNames("prod");
    assert.deepEqual(
      (user.inputs.roles as { roleName: string; databaseName: string }[]).map((r) => `${r.roleName}@${r.databaseName}`).sort(),
      [`readWrite@${forum}`, `readWrite@${main}`].sort(),
    );
    assert.equal(user.inputs.authDatabaseName, "admin");
    assert.deepEqual(user.inputs.scopes, [{ name: "shared-cluster", type: "CLUSTER" }]);
    assert.ok(isSecretValue(user.inputs.password));
    assert.equal(user.deleteBeforeReplace, true);
  });

  it("names the instance vhost in every RabbitMQ permission", () => {
    const vhost = names.rabbitVhostName("prod");
    const [vhostResource] = ofType("prod", "rabbitmq:index/vHost:VHost");
    assert.equal(vhostResource.inputs.name, vhost);
    const permissions = ofType("prod", "rabbitmq:index/permissions:Permissions");
    assert.deepEqual(permissions.map((p) => p.inputs.user).sort(), [names.rabbitUserName("prod", "consumer"), names.rabbitUserName("prod", "provider")].sort());
    for (const permission of permissions) {
      assert.equal(permission.inputs.vhost, vhost);
      assert.equal(permission.deleteBeforeReplace, true);
    }
    assert.equal(ansibleServiceVars(built.prod.instance).EDXAPP_CELERY_BROKER_HOSTNAME, "rabbit.example.net:5671");
    assert.equal(ansibleServiceVars(built.prod.instance).EDXAPP_CELERY_BROKER_USE_SSL, true);
  });

  describe("archive semantics", () => {
    const DATA_TYPES = [
      "mysql:index/database:Database",
      "mysql:index/user:User",
      "mysql:index/grant:Grant",
      "mongodbatlas:index/databaseUser:DatabaseUser",
      "rabbitmq:index/vHost:VHost",
    ];

    it("retains and protects exactly the data resources in production", () => {
      const resources = resourcesOf("prod");
      for (const type of DATA_TYPES) assert.ok(resources.some((r) => r.type === type), `production has a ${type}`);
      for (const resource of resources) {
        const data = DATA_TYPES.includes(resource.type);
        assert.equal(resource.retainOnDelete, data, `${resource.type} ${resource.name} retainOnDelete`);
        assert.equal(resource.protect, data, `${resource.type} ${resource.name} protect`);
      }
    });

    it("retains and protects nothing in a sandbox, even with persistent databases", () => {
      const resources = resourcesOf("pr42");
      assert.ok(resources.some((r) => r.type === "mysql:index/database:Database"));
      for (const resource of resources) {
        assert.equal(resource.retainOnDelete, false, `${resource.type} ${resource.name}`);
        assert.equal(resource.protect, false, `${resource.type} ${resource.name}`);
      }
    });

    it("lifts retention when the config says data: {retainOnDelete: false, protect: false}", async () => {
      const config = stackConfig({ ...production, subDomain: "lifted", data: { retainOnDelete: false, protect: false } }, {}, "lifted");
      const instance = new instanceModule.OpenEdxInstance("lifted", { instanceId: "lifted", config });
      await unwrap(pulumi.all(ansibleServiceVars(instance)));
      await settle();
      const resources = resourcesOf("lifted");
      assert.ok(resources.some((r) => r.type === "mysql:index/database:Database"));
      for (const resource of resources) assert.ok(!resource.retainOnDelete && !resource.protect, `${resource.type} ${resource.name}`);
    });
  });

  describe("ephemeral databases", () => {
    it("creates no MySQL or MongoDB resources", () => {
      const types = resourcesOf("dev").map((r) => r.type);
      assert.ok(types.length > 0);
      assert.deepEqual(types.filter((t) => t.startsWith("mysql:") || t.startsWith("pulumi:providers:mysql") || t.startsWith("mongodbatlas:")), []);
    });

    it("points the appserver at databases on the VM itself, with generated passwords", async () => {
      const vars = ansibleServiceVars(built.dev.instance);
      assert.equal(vars.EDXAPP_MYSQL_HOST, "localhost");
      assert.deepEqual(vars.EDXAPP_MONGO_HOSTS, ["localhost"]);
      assert.deepEqual(vars.FORUM_MONGO_HOSTS, ["localhost"]);
      assert.ok(await pulumi.isSecret(pulumi.output(vars.EDXAPP_MYSQL_PASSWORD)));
      assert.ok(String(await unwrap(vars.EDXAPP_MYSQL_PASSWORD)).length > 0);
    });
  });

  describe("secrets", () => {
    const SECRET_NAME = /PASSWORD|_PASS$|SECRET|_KEY$|JWK|HASH_SEED|DJANGO_(AUTH|USERS)|BROKER_URL/;

    it("hands every password, key and JWK to Ansible as a secret Output", async () => {
      for (const id of ["prod", "dev"]) {
        const vars = ansibleServiceVars(built[id].instance);
        const secretNames = Object.keys(vars).filter((name) => SECRET_NAME.test(name));
        assert.ok(secretNames.includes("EDXAPP_JWT_PRIVATE_SIGNING_JWK"));
        for (const name of secretNames) assert.ok(await pulumi.isSecret(pulumi.output(vars[name])), `${id}: ${name} must be secret`);
      }
    });

    it("hands non-secret connection facts over in the clear", async () => {
      const vars = ansibleServiceVars(built.prod.instance);
      for (const name of ["EDXAPP_MYSQL_HOST", "EDXAPP_MYSQL_DB_NAME", "EDXAPP_MYSQL_USER", "EDXAPP_CELERY_BROKER_VHOST", "EDXAPP_JWT_SIGNING_ALGORITHM"])
        assert.equal(await pulumi.isSecret(pulumi.output(vars[name])), false, name);
    });

    it("generates a JWT key pair whose public set matches the private key", async () => {
      const vars = ansibleServiceVars(built.prod.instance);
      const privateJwk = JSON.parse(String(await unwrap(vars.EDXAPP_JWT_PRIVATE_SIGNING_JWK)));
      const publicSet = JSON.parse(String(await unwrap(vars.EDXAPP_JWT_PUBLIC_SIGNING_JWK_SET)));
      assert.equal(privateJwk.kty, "RSA");
      assert.ok(privateJwk.d);
      assert.deepEqual(publicSet.keys, [{ kid: privateJwk.kid, kty: "RSA", e: privateJwk.e, n: privateJwk.n }]);
      assert.equal(vars.EDXAPP_JWT_SIGNING_ALGORITHM, "RS512");
      const [key] = ofType("prod", "tls:index/privateKey:PrivateKey");
      assert.equal(key.inputs.algorithm, "RSA");
    });

    it("generates passwords with URL- and YAML-safe specials only", () => {
      for (const password of ofType("prod", "random:index/randomPassword:RandomPassword")) {
        assert.equal(password.inputs.special, true);
        assert.equal(password.inputs.overrideSpecial, "-_");
      }
    });

    it("uses only variable names the configuration repository's roles define", () => {
      const tsv = join(__dirname, "..", "..", "shared", "fixtures", "edx-configuration", "role-defaults.tsv");
      const known = new Set(readFileSync(tsv, "utf8").split("\n").map((line) => line.split("\t")[0]));
      for (const id of ["prod", "dev"])
        for (const name of Object.keys(ansibleServiceVars(built[id].instance))) assert.ok(known.has(name), `${name} is not a configuration variable`);
    });
  });

  describe("DNS", () => {
    it("points every managed domain at the load balancer with a trailing-dot CNAME and the configured TTL", () => {
      const records = ofType("prod", "gandi:livedns/record:Record").filter((r) => !String(r.inputs.name).startsWith("vm"));
      const expected = built.prod.instance.domains.map((d) => d.recordName).sort();
      assert.deepEqual(records.map((r) => r.inputs.name).sort(), expected);
      for (const record of records) {
        assert.equal(record.inputs.zone, "example.org");
        assert.equal(record.inputs.type, "CNAME");
        assert.deepEqual(record.inputs.values, ["lb1.example.net."]);
        assert.equal(record.inputs.ttl, 3600);
        assert.equal(record.deleteBeforeReplace, true);
      }
    });

    it("makes one vm<N> record per appserver VM, A or AAAA by address", () => {
      const records = ofType("prod", "gandi:livedns/record:Record").filter((r) => String(r.inputs.name).startsWith("vm"));
      assert.deepEqual(
        records.map((r) => `${r.inputs.name} ${r.inputs.type} ${(r.inputs.values as string[])[0]} ${r.inputs.ttl}`).sort(),
        ["vm0-a1.courses A 192.0.2.10 3600", "vm1-a1.courses AAAA 2001:db8::10 3600"],
      );
    });

    it("uses the default TTL of 1200 when dnsTtl is unset", () => {
      for (const record of ofType("dev", "gandi:livedns/record:Record")) assert.equal(record.inputs.ttl, 1200);
    });

    it("does not manage external custom domains", async () => {
      const config = stackConfig({ ...ephemeral, subDomain: "ext", domains: { external: { lms: "learn.customer.example", mfe: "apps.learn.customer.example", studio: "studio.ext.sandbox.example.org" } } });
      new instanceModule.OpenEdxInstance("ext", { instanceId: "ext", config });
      await settle();
      const recordNames = ofType("ext", "gandi:livedns/record:Record").map((r) => r.inputs.name).sort();
      assert.deepEqual(recordNames, ["preview.ext", "studio.ext"]);
    });

    it("uses A and AAAA records when the load balancer is given as addresses", async () => {
      const config = stackConfig(
        { ...ephemeral, subDomain: "addr" },
        { "openedx-im:loadBalancer": { sshHost: "lb1.example.net", sshUser: "deploy", publicIpv4: ["192.0.2.1"], publicIpv6: ["2001:db8::1"] } },
      );
      new instanceModule.OpenEdxInstance("addr", { instanceId: "addr", config });
      await settle();
      const lms = ofType("addr", "gandi:livedns/record:Record").filter((r) => r.inputs.name === "addr");
      assert.deepEqual(lms.map((r) => `${r.inputs.type} ${(r.inputs.values as string[]).join(",")}`).sort(), ["A 192.0.2.1", "AAAA 2001:db8::1"]);
    });
  });

  describe("security group", () => {
    it("is named for the instance and deletes Neutron's default rules", () => {
      const [group] = ofType("prod", "openstack:networking/secGroup:SecGroup");
      assert.equal(group.inputs.name, names.securityGroupName("prod"));
      assert.equal(group.inputs.deleteDefaultRules, true);
      assert.equal(group.inputs.region, "RegionOne");
    });

    it("opens SSH to the configured sources, HTTP(S) and ICMP to all, egress for both IPv4 and IPv6", () => {
      const rules = ofType("prod", "openstack:networking/secGroupRule:SecGroupRule").map((r) => {
        const { direction, ethertype, protocol, portRangeMin, remoteIpPrefix } = r.inputs;
        return `${direction} ${ethertype} ${protocol ?? "any"} ${portRangeMin ?? ""} ${remoteIpPrefix}`;
      });
      assert.deepEqual(rules.sort(), [
        "egress IPv4 any  0.0.0.0/0",
        "egress IPv6 any  ::/0",
        "ingress IPv4 icmp  0.0.0.0/0",
        "ingress IPv4 tcp 22 198.51.100.0/24",
        "ingress IPv4 tcp 443 0.0.0.0/0",
        "ingress IPv4 tcp 80 0.0.0.0/0",
        "ingress IPv4 tcp 8080 203.0.113.0/24",
        "ingress IPv6 ipv6-icmp  ::/0",
        "ingress IPv6 tcp 22 2001:db8:100::/48",
        "ingress IPv6 tcp 443 ::/0",
        "ingress IPv6 tcp 80 ::/0",
      ]);
    });

    it("makes each rule its own resource, replaced delete-first", () => {
      for (const rule of ofType("prod", "openstack:networking/secGroupRule:SecGroupRule")) {
        assert.equal(rule.deleteBeforeReplace, true);
        assert.ok(!rule.name.includes("::"), `${rule.name} must not contain the URN separator`);
      }
    });
  });

  it("parents every resource to the instance's component tree", () => {
    const componentTypes = new Set(resourcesOf("prod").filter((r) => r.type.startsWith("openedx-im:")).map((r) => r.type));
    assert.ok(componentTypes.has("openedx-im:instance:OpenEdxInstance"));
    for (const type of ["SecurityGroup", "Dns", "MysqlDatabases", "MongoUsers", "RabbitVhost", "Secrets"])
      assert.ok(componentTypes.has(`openedx-im:instance:${type}`), type);
    for (const resource of resourcesOf("prod").filter((r) => r.type !== "openedx-im:instance:OpenEdxInstance"))
      assert.ok(resource.parent.includes("openedx-im:instance:OpenEdxInstance"), `${resource.type} ${resource.name} parent ${resource.parent}`);
  });

  it("outputs URLs and names but no password", async () => {
    const outputs = (await unwrap(pulumi.output(built.prod.instance.outputs))) as Record<string, unknown>;
    assert.equal(outputs.lmsUrl, "https://courses.example.org");
    assert.equal(outputs.studioUrl, "https://studio.courses.example.org");
    assert.equal(outputs.previewUrl, "https://preview.courses.example.org");
    const mysql = outputs.mysql as { server: string; users: Record<string, string> };
    assert.equal(mysql.server, names.chooseMysqlServer("prod", ["mysql-a", "mysql-b"]));
    assert.equal(mysql.users.edxapp, names.mysqlUserName("prod", "edxapp"));
    const text = JSON.stringify(outputs);
    assert.ok(!text.includes("pw-"), "a generated password reached the outputs");
    assert.equal(await pulumi.isSecret(pulumi.output(built.prod.instance.outputs)), false);
  });
});
