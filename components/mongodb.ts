/**
 * The instance's MongoDB Atlas database user (persistent databases only):
 * `readWrite` on the instance's main and forum databases and nothing else,
 * valid on the configured cluster only. The databases themselves appear on
 * first write; Atlas has no resource for them.
 *
 * An adopted user (config/adopt.ts) is imported, keeping its password (and,
 * until the migration restricts it, its roles), or only referenced: then the
 * stack holds no resource for it and uses its name.
 */
import * as mongodbatlas from "@pulumi/mongodbatlas";
import * as pulumi from "@pulumi/pulumi";
import { type AdoptionPlan, adoptionOptions, planAdoption } from "../config/adopt";
import type { MongodbConfig } from "../config/schema";
import type { DataRetention } from "./mysql";

export interface MongoRole {
  roleName: "readWrite";
  databaseName: string;
}

/** The user's roles: readWrite on each of the instance's two databases, never a role on `admin`. */
export function mongoRoles(databases: { main: string; forum: string }): MongoRole[] {
  return [
    { roleName: "readWrite", databaseName: databases.main },
    { roleName: "readWrite", databaseName: databases.forum },
  ];
}

export interface MongoUsersArgs {
  instanceId: string;
  mongodb: MongodbConfig;
  /**
   * The databases and the user (config/adopt.ts planAdoption's `mongodb`):
   * derived names and a created user when absent.
   */
  adoption?: AdoptionPlan["mongodb"];
  /** Secret: generated for a created user, the existing one for an adopted user. */
  password: pulumi.Input<string>;
  retention: DataRetention;
}

export class MongoUsers extends pulumi.ComponentResource {
  /** Undefined when the user is referenced: it stays outside the stack. */
  public readonly user?: mongodbatlas.DatabaseUser;
  public readonly userName: pulumi.Output<string>;
  public readonly authDatabase: string;
  public readonly databases: { main: string; forum: string };

  constructor(name: string, args: MongoUsersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:MongoUsers", name, {}, opts);
    const adoption = args.adoption ?? planAdoption(args.instanceId, {}, undefined, { mongodbProjectId: args.mongodb.projectId }).mongodb;
    const decision = adoption.user;
    this.databases = adoption.databases;
    this.authDatabase = decision.authDatabase;
    if (decision.action === "reference") {
      this.userName = pulumi.output(decision.name);
    } else {
      this.user = new mongodbatlas.DatabaseUser(
        `${name}-user`,
        {
          projectId: args.mongodb.projectId,
          username: decision.name,
          password: pulumi.secret(args.password),
          authDatabaseName: decision.authDatabase,
          roles: mongoRoles(this.databases),
          // Without scopes the user exists on every cluster of the Atlas project.
          scopes: [{ name: args.mongodb.clusterName, type: "CLUSTER" }],
          description: `openedx-im instance ${args.instanceId}`,
        },
        {
          parent: this,
          // Adopted (imported) like created: the user is data, retained and protected alike.
          retainOnDelete: args.retention.retainOnDelete,
          protect: args.retention.protect,
          // A replacement has the same user name, which Atlas refuses while the old user exists.
          deleteBeforeReplace: true,
          ...adoptionOptions(decision),
        },
      );
      this.userName = this.user.username;
    }
    this.registerOutputs({ userName: this.userName });
  }
}
