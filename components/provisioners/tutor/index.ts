/** The Tutor provisioner: config.yml and the openedx_im plugin rendered here, applied by scripts/provision/tutor.ts. */
import { createHmac } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { buildDigest } from "../command";
import type { AppServerProvisioner, ProvisionerContext } from "../index";
import { type TutorDatabases, type TutorSecrets, renderTutorAppServer } from "./config";
import { TutorProvisioning } from "./provisioning";

export function tutorProvisioner(context: ProvisionerContext): AppServerProvisioner {
  const { appServer, connections } = context;
  const app = renderTutorAppServer<pulumi.Input<unknown>>({
    instance: context.instance,
    lifecycle: context.lifecycle,
    appServerId: appServer.id,
    release: appServer.release,
    databases: tutorDatabases(connections),
    secrets: tutorSecrets(context.secrets),
    // A pull request's settings sit above the operator's, as for Ansible; both were checked against Tutor's keys.
    extraSettings: { ...appServer.extraSettings, ...(appServer.pullRequestSettings ?? {}) },
    ...(appServer.djangoSettings ? { djangoSettings: appServer.djangoSettings } : {}),
  });
  const settingsDigest = buildDigest({
    appServerId: appServer.id,
    configuration: { repository: "tutor", ref: app.tutor.version, playbook: JSON.stringify(app.tutor.plugins) },
    ansibleVars: { ...app.config, "openedx_im.json": app.pluginData, image: app.image },
  });
  return {
    kind: "tutor",
    artifact: {
      provisioner: "tutor",
      tutor: {
        version: app.tutor.version,
        plugins: app.plugins,
        config: app.config,
        image: app.image,
        ...(appServer.djangoSettings ? { djangoSettings: appServer.djangoSettings } : {}),
      },
    },
    settingsDigest,
    port: app.port,
    provision: (name, vm, opts) =>
      new TutorProvisioning(
        name,
        { appServerId: vm.runId, host: vm.host, hostKey: vm.hostPublicKey, app, frozen: vm.frozen, settingsDigest, ...(vm.sshPrivateKey ? { sshPrivateKey: vm.sshPrivateKey } : {}) },
        opts,
      ),
  };
}

/**
 * Tutor migrates and serves with one MySQL user: the instance's `migrate` user,
 * whose grants (components/mysql-grants.ts) already cover schema changes on the
 * instance's own databases and nothing else — no grant changes, and the grant
 * audit agrees as it is. Tutor's Open edX uses the edxapp database only.
 */
function tutorDatabases(connections: ProvisionerContext["connections"]): TutorDatabases<pulumi.Input<unknown>> {
  const { mysql, mongo } = connections;
  const user = (role: string) => {
    const found = mysql.users[role];
    if (!found) throw new Error(`Tutor provisioner: the instance has no MySQL user "${role}"`);
    return found;
  };
  const database = mysql.databases.edxapp;
  if (database === undefined) throw new Error("Tutor provisioner: the instance has no edxapp database");
  if (connections.databases === "ephemeral")
    return { kind: "ephemeral", mysqlPassword: user("migrate").password, mysqlRootPassword: user("admin").password };
  return {
    kind: "persistent",
    mysql: { host: mysql.host, port: mysql.port, database, user: user("migrate").name, password: user("migrate").password },
    mongo: {
      hosts: mongo.hosts,
      port: mongo.port,
      database: mongo.databases.main,
      forumDatabase: mongo.databases.forum,
      user: mongo.user,
      password: mongo.password,
      useTls: mongo.useTls,
      ...(mongo.authDatabase !== undefined ? { authSource: mongo.authDatabase } : {}),
      ...(mongo.replicaSet !== undefined ? { replicaSet: mongo.replicaSet } : {}),
    },
  };
}

/** The instance's secrets, and Tutor's own few derived from its Django secret key (HMAC-SHA256 per name). */
function tutorSecrets(secrets: ProvisionerContext["secrets"]): TutorSecrets<pulumi.Input<unknown>> {
  const secretKey = secrets.secretKey("EDXAPP_EDXAPP_SECRET_KEY");
  return {
    secretKey,
    jwtPrivateKeyPem: secrets.jwt.privateKeyPem,
    jwtSecretKey: secrets.secretKey("EDXAPP_JWT_SECRET_KEY"),
    derive: (name, shape) => pulumi.secret(secretKey.apply((key) => deriveSecret(key, name, shape))),
  };
}

/** A stable secret for `name` from `key`: 32 hex digits, or a version-4-shaped UUID. */
export function deriveSecret(key: string, name: string, shape: "token" | "uuid"): string {
  const hex = createHmac("sha256", key).update(`openedx-im:tutor:${name}`).digest("hex");
  if (shape === "token") return hex.slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${"89ab"[parseInt(hex[16], 16) % 4]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
