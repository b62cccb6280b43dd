/**
 * The instance's RabbitMQ vhost and its two users (provider: edxapp, which
 * publishes and runs the Celery workers; consumer: the other services'
 * workers), each permitted on this vhost only. The vhost holds queued work,
 * so it is data (retained in production); the users are access, which an
 * archive removes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as rabbitmq from "@pulumi/rabbitmq";
import type { RabbitmqConfig } from "../config/schema";
import type { DataRetention } from "./mysql";
import { RABBIT_ROLES, type RabbitRole, rabbitUserName, rabbitVhostName } from "./names";

/** Regexes over resource names inside the vhost: everything in it. The vhost itself bounds the reach. */
export const RABBIT_PERMISSIONS = { configure: ".*", write: ".*", read: ".*" } as const;

export interface RabbitVhostArgs {
  instanceId: string;
  rabbitmq: RabbitmqConfig;
  /** The management API admin (secret values). */
  admin: { username: pulumi.Input<string>; password: pulumi.Input<string> };
  /** Each user's password (secret). */
  passwords: Record<RabbitRole, pulumi.Input<string>>;
  retention: DataRetention;
}

export class RabbitVhost extends pulumi.ComponentResource {
  public readonly provider: rabbitmq.Provider;
  public readonly vhost: rabbitmq.VHost;
  public readonly vhostName: pulumi.Output<string>;
  public readonly users: Record<RabbitRole, rabbitmq.User>;
  public readonly permissions: rabbitmq.Permissions[];
  public readonly permissionsByRole: Record<RabbitRole, rabbitmq.Permissions>;

  constructor(name: string, args: RabbitVhostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:RabbitVhost", name, {}, opts);

    this.provider = new rabbitmq.Provider(
      `${name}-provider`,
      { endpoint: args.rabbitmq.managementUrl, username: pulumi.secret(args.admin.username), password: pulumi.secret(args.admin.password) },
      { parent: this },
    );
    this.vhost = new rabbitmq.VHost(
      `${name}-vhost`,
      { name: rabbitVhostName(args.instanceId) },
      { parent: this, provider: this.provider, retainOnDelete: args.retention.retainOnDelete, protect: args.retention.protect },
    );
    this.vhostName = this.vhost.name;

    const users = {} as Record<RabbitRole, rabbitmq.User>;
    const permissions = {} as Record<RabbitRole, rabbitmq.Permissions>;
    for (const role of RABBIT_ROLES) {
      users[role] = new rabbitmq.User(
        `${name}-user-${role}`,
        { name: rabbitUserName(args.instanceId, role), password: pulumi.secret(args.passwords[role]), tags: [] },
        // Same name on replacement: the old user must go first.
        { parent: this, provider: this.provider, deleteBeforeReplace: true },
      );
      permissions[role] = new rabbitmq.Permissions(
          `${name}-permissions-${role}`,
          // `vhost` defaults to "/" (the broker's shared default vhost): always name ours.
          { user: users[role].name, vhost: this.vhost.name, permissions: { ...RABBIT_PERMISSIONS } },
          // Deleting the old permissions (same user@vhost) after creating the new would clear them.
          { parent: this, provider: this.provider, deleteBeforeReplace: true },
        );
    }
    this.users = users;
    this.permissionsByRole = permissions;
    this.permissions = RABBIT_ROLES.map((role) => permissions[role]);
    this.registerOutputs({ vhostName: this.vhostName });
  }

  userName(role: RabbitRole): pulumi.Output<string> {
    return this.users[role].name;
  }
}
