/**
 * The instance's connections and secrets as the configuration repository's
 * Ansible variables (the Ansible provisioner's input; the instance itself knows
 * nothing of Ansible): pure mapping from what the instance components made (names,
 * hosts, passwords as secret Outputs) to variable names, each checked against
 * the roles' defaults by test/instance.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ServiceFlags } from "../../../config/names";
import type { BrokerConnection, InstanceConnections, MongoConnection, MysqlConnection } from "../../connections";
import { type Secrets, secretKeyNames } from "../../secrets";

export type ServiceVars = Record<string, pulumi.Input<unknown>>;

/** The Django user the LMS authenticates to XQueue as. */
const XQUEUE_LMS_USER = "lms";


function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function mysqlServiceVars(connection: MysqlConnection, services: ServiceFlags): ServiceVars {
  const { host, port } = connection;
  const user = (role: string) => {
    const found = connection.users[role];
    if (!found) throw new Error(`OpenEdxInstance: no MySQL user for role "${role}"`);
    return found;
  };
  const database = (key: string) => {
    const found = connection.databases[key];
    if (found === undefined) throw new Error(`OpenEdxInstance: no MySQL database "${key}"`);
    return found;
  };
  const vars: ServiceVars = {
    EDXAPP_MYSQL_HOST: host,
    EDXAPP_MYSQL_PORT: port,
    EDXAPP_MYSQL_DB_NAME: database("edxapp"),
    EDXAPP_MYSQL_USER: user("edxapp").name,
    EDXAPP_MYSQL_PASSWORD: user("edxapp").password,
    EDXAPP_MYSQL_CSMH_HOST: host,
    EDXAPP_MYSQL_CSMH_PORT: port,
    EDXAPP_MYSQL_CSMH_DB_NAME: database("edxapp_csmh"),
    EDXAPP_MYSQL_CSMH_USER: user("edxapp").name,
    EDXAPP_MYSQL_CSMH_PASSWORD: user("edxapp").password,
    COMMON_MYSQL_MIGRATE_USER: user("migrate").name,
    COMMON_MYSQL_MIGRATE_PASS: user("migrate").password,
  };
  if (connection.users.read_only) {
    vars.COMMON_MYSQL_READ_ONLY_USER = user("read_only").name;
    vars.COMMON_MYSQL_READ_ONLY_PASS = user("read_only").password;
  }
  if (connection.users.admin) {
    vars.COMMON_MYSQL_ADMIN_USER = user("admin").name;
    vars.COMMON_MYSQL_ADMIN_PASS = user("admin").password;
  }
  if (services.xqueue)
    Object.assign(vars, {
      XQUEUE_MYSQL_HOST: host,
      XQUEUE_MYSQL_PORT: port,
      XQUEUE_MYSQL_DB_NAME: database("xqueue"),
      XQUEUE_MYSQL_USER: user("xqueue").name,
      XQUEUE_MYSQL_PASSWORD: user("xqueue").password,
    });
  if (services.notes)
    Object.assign(vars, {
      EDX_NOTES_API_MYSQL_HOST: host,
      EDX_NOTES_API_MYSQL_PORT: port,
      EDX_NOTES_API_MYSQL_DB_NAME: database("notes"),
      EDX_NOTES_API_MYSQL_DB_USER: user("notes").name,
      EDX_NOTES_API_MYSQL_DB_PASS: user("notes").password,
    });
  // The ecommerce and discovery roles have no port variable: they assume 3306.
  if (services.ecommerce)
    Object.assign(vars, {
      ECOMMERCE_DATABASE_HOST: host,
      ECOMMERCE_DATABASE_NAME: database("ecommerce"),
      ECOMMERCE_DATABASE_USER: user("ecommerce").name,
      ECOMMERCE_DATABASE_PASSWORD: user("ecommerce").password,
    });
  if (services.discovery)
    Object.assign(vars, {
      DISCOVERY_MYSQL: host,
      DISCOVERY_DEFAULT_DB_NAME: database("discovery"),
      DISCOVERY_MYSQL_USER: user("discovery").name,
      DISCOVERY_MYSQL_PASSWORD: user("discovery").password,
    });
  return vars;
}

export function mongoServiceVars(connection: MongoConnection): ServiceVars {
  const shared = { hosts: connection.hosts, port: connection.port, user: connection.user, password: connection.password, useTls: connection.useTls };
  return {
    EDXAPP_MONGO_HOSTS: shared.hosts,
    EDXAPP_MONGO_PORT: shared.port,
    EDXAPP_MONGO_DB_NAME: connection.databases.main,
    EDXAPP_MONGO_USER: shared.user,
    EDXAPP_MONGO_PASSWORD: shared.password,
    EDXAPP_MONGO_USE_SSL: shared.useTls,
    ...(connection.authDatabase !== undefined ? { EDXAPP_MONGO_AUTH_DB: connection.authDatabase } : {}),
    ...(connection.replicaSet !== undefined ? { EDXAPP_MONGO_REPLICA_SET: connection.replicaSet } : {}),
    FORUM_MONGO_HOSTS: shared.hosts,
    FORUM_MONGO_PORT: shared.port,
    FORUM_MONGO_DATABASE: connection.databases.forum,
    FORUM_MONGO_USER: shared.user,
    FORUM_MONGO_PASSWORD: shared.password,
    FORUM_MONGO_USE_SSL: shared.useTls,
    ...(connection.authDatabase !== undefined ? { FORUM_MONGO_AUTH_DB: connection.authDatabase } : {}),
  };
}

export function brokerServiceVars(connection: BrokerConnection, services: ServiceFlags): ServiceVars {
  const provider = connection.users.provider;
  const vars: ServiceVars = {
    EDXAPP_CELERY_BROKER_TRANSPORT: "amqp",
    EDXAPP_CELERY_BROKER_HOSTNAME: hostPort(connection.host, connection.port),
    EDXAPP_CELERY_BROKER_VHOST: connection.vhost,
    EDXAPP_CELERY_BROKER_USE_SSL: connection.useTls,
    EDXAPP_CELERY_USER: provider.name,
    EDXAPP_CELERY_PASSWORD: provider.password,
  };
  if (services.ecommerce) {
    const consumer = connection.users.consumer;
    // The ecommerce roles build their default URL without a vhost, which would land on "/"; give the whole URL.
    const url = pulumi.secret(
      pulumi
        .all([consumer.name, consumer.password, connection.vhost])
        .apply(
          ([user, password, vhost]) =>
            `${connection.useTls ? "amqps" : "amqp"}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${hostPort(connection.host, connection.port)}/${encodeURIComponent(vhost)}`,
        ),
    );
    Object.assign(vars, { ECOMMERCE_BROKER_URL: url, ECOMMERCE_WORKER_BROKER_URL: url });
  }
  return vars;
}

export function secretServiceVars(secrets: Secrets, services: ServiceFlags): ServiceVars {
  const vars: ServiceVars = {};
  for (const name of secretKeyNames(services)) vars[name] = secrets.secretKey(name);
  // Shared keys: both ends of one conversation must hold the same value.
  vars.COMMON_JWT_SECRET_KEY = secrets.secretKey("EDXAPP_JWT_SECRET_KEY");
  vars.EDXAPP_COMMENTS_SERVICE_KEY = secrets.secretKey("FORUM_API_KEY");
  if (services.ecommerce) vars.ECOMMERCE_EDX_API_KEY = secrets.secretKey("EDXAPP_EDX_API_KEY");
  // Without these three the LMS cannot sign or check its JWTs: logins broke on the Redwood upgrade when they were missing.
  vars.EDXAPP_JWT_PRIVATE_SIGNING_JWK = secrets.jwt.privateJwk;
  vars.EDXAPP_JWT_PUBLIC_SIGNING_JWK_SET = secrets.jwt.publicJwkSet;
  vars.COMMON_JWT_PUBLIC_SIGNING_JWK_SET = secrets.jwt.publicJwkSet;
  vars.EDXAPP_JWT_SIGNING_ALGORITHM = secrets.jwt.algorithm;
  if (services.xqueue) {
    const password = secrets.password("xqueue-lms");
    vars.COMMON_XQUEUE_LMS_PASSWORD = password;
    vars.XQUEUE_DJANGO_USERS = pulumi.secret(password.apply((value) => ({ [XQUEUE_LMS_USER]: value })));
    vars.EDXAPP_XQUEUE_DJANGO_AUTH = pulumi.secret(password.apply((value) => ({ username: XQUEUE_LMS_USER, password: value })));
  }
  return vars;
}

/** Every connection and secret of the instance as Ansible variables; each secret value is its own secret Output. */
export function ansibleServiceVars(instance: {
  connections: InstanceConnections;
  secrets: Secrets;
  services: ServiceFlags;
}): ServiceVars {
  const { connections, secrets, services } = instance;
  return {
    ...mysqlServiceVars(connections.mysql, services),
    ...mongoServiceVars(connections.mongo),
    ...(connections.broker ? brokerServiceVars(connections.broker, services) : {}),
    ...secretServiceVars(secrets, services),
  };
}
