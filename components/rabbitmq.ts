/**
 * The instance's RabbitMQ vhost and its two users (provider: edxapp, which
 * publishes and runs the Celery workers; consumer: the other services'
 * workers), each permitted on this vhost only. The vhost holds queued work,
 * so it is data (retained in production); the users are access, which an
 * archive removes.
 *
 * An adopted vhost or user (config/adopt.ts) is imported, or only referenced:
 * then the stack holds no resource for it and uses its name.
 */
import * as pulumi from "@pulumi/pulumi";
import * as rabbitmq from "@pulumi/rabbitmq";
import { type AdoptionPlan, adoptionOptions, planAdoption } from "../config/adopt";
import type { RabbitmqConfig } from "../config/schema";
import type { DataRetention } from "./mysql";
import { RABBIT_ROLES, type RabbitRole } from "../config/names";

/** Regexes over resource names inside the vhost: everything in it. The vhost itself bounds the reach. */
export const RABBIT_PERMISSIONS = { configure: ".*", write: ".*", read: ".*" } as const;

export interface RabbitVhostArgs {
  instanceId: string;
  rabbitmq: RabbitmqConfig;
  /** The management API admin (secret values). */
  admin: { username: pulumi.Input<string>; password: pulumi.Input<string> };
  /**
   * The vhost, users and permissions (config/adopt.ts planAdoption's
   * `rabbitmq`): all created under derived names when absent.
   */
  adoption?: AdoptionPlan["rabbitmq"];
  /** Each user's password (secret): generated, or the existing one of an adopted user. */
  passwords: Record<RabbitRole, pulumi.Input<string>>;
  retention: DataRetention;
}

export class RabbitVhost extends pulumi.ComponentResource {
  public readonly provider: rabbitmq.Provider;
  /** Undefined when the vhost is referenced. */
  public readonly vhost?: rabbitmq.VHost;
  public readonly vhostName: pulumi.Output<string>;
  /** The users the stack holds; referenced ones are not resources. */
  public readonly users: Partial<Record<RabbitRole, rabbitmq.User>> = {};
  public readonly permissions: rabbitmq.Permissions[] = [];
  public readonly permissionsByRole: Partial<Record<RabbitRole, rabbitmq.Permissions>> = {};
  private readonly userNames = {} as Record<RabbitRole, pulumi.Output<string>>;

  constructor(name: string, args: RabbitVhostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:RabbitVhost", name, {}, opts);
    const adoption = args.adoption ?? planAdoption(args.instanceId, {}, undefined).rabbitmq;

    this.provider = new rabbitmq.Provider(
      `${name}-provider`,
      { endpoint: args.rabbitmq.managementUrl, username: pulumi.secret(args.admin.username), password: pulumi.secret(args.admin.password) },
      { parent: this },
    );
    if (adoption.vhost.action === "reference") {
      this.vhostName = pulumi.output(adoption.vhost.name);
    } else {
      this.vhost = new rabbitmq.VHost(
        `${name}-vhost`,
        { name: adoption.vhost.name },
        {
          parent: this,
          provider: this.provider,
          retainOnDelete: args.retention.retainOnDelete,
          protect: args.retention.protect,
          ...adoptionOptions(adoption.vhost),
        },
      );
      this.vhostName = this.vhost.name;
    }

    for (const role of RABBIT_ROLES) {
      const userDecision = adoption.users[role];
      if (userDecision.action === "reference") {
        this.userNames[role] = pulumi.output(userDecision.name);
      } else {
        const user = new rabbitmq.User(
          `${name}-user-${role}`,
          { name: userDecision.name, password: pulumi.secret(args.passwords[role]), tags: [] },
          // Same name on replacement: the old user must go first.
          { parent: this, provider: this.provider, deleteBeforeReplace: true, ...adoptionOptions(userDecision) },
        );
        this.users[role] = user;
        this.userNames[role] = user.name;
      }
      const permissionsDecision = adoption.permissions[role];
      if (permissionsDecision.action === "reference") continue;
      const permissions = new rabbitmq.Permissions(
        `${name}-permissions-${role}`,
        // `vhost` defaults to "/" (the broker's shared default vhost): always name ours.
        { user: this.userNames[role], vhost: this.vhostName, permissions: { ...RABBIT_PERMISSIONS } },
        // Deleting the old permissions (same user@vhost) after creating the new would clear them.
        { parent: this, provider: this.provider, deleteBeforeReplace: true, ...adoptionOptions(permissionsDecision) },
      );
      this.permissionsByRole[role] = permissions;
      this.permissions.push(permissions);
    }
    this.registerOutputs({ vhostName: this.vhostName });
  }

  userName(role: RabbitRole): pulumi.Output<string> {
    return this.userNames[role];
  }
}
