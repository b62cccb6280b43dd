/**
 * The instance's MongoDB Atlas database user (persistent databases only):
 * `readWrite` on the instance's main and forum databases and nothing else,
 * valid on the configured cluster only. The databases themselves appear on
 * first write; Atlas has no resource for them.
 */
import * as mongodbatlas from "@pulumi/mongodbatlas";
import * as pulumi from "@pulumi/pulumi";
import type { MongodbConfig } from "../config/schema";
import type { DataRetention } from "./mysql";
import { mongoDatabaseNames, mongoUserName } from "./names";

/** Password users live in `admin`; that says where they authenticate, not what they reach (the roles do). */
export const MONGO_AUTH_DATABASE = "admin";

export interface MongoRole {
  roleName: "readWrite";
  databaseName: string;
}

/** The user's roles: readWrite on each of the instance's two databases, never a role on `admin`. */
export function mongoRoles(instanceId: string): MongoRole[] {
  const { main, forum } = mongoDatabaseNames(instanceId);
  return [
    { roleName: "readWrite", databaseName: main },
    { roleName: "readWrite", databaseName: forum },
  ];
}

export interface MongoUsersArgs {
  instanceId: string;
  mongodb: MongodbConfig;
  /** Secret. */
  password: pulumi.Input<string>;
  retention: DataRetention;
}

export class MongoUsers extends pulumi.ComponentResource {
  public readonly user: mongodbatlas.DatabaseUser;
  public readonly userName: pulumi.Output<string>;
  public readonly databases: { main: string; forum: string };

  constructor(name: string, args: MongoUsersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:MongoUsers", name, {}, opts);
    this.databases = mongoDatabaseNames(args.instanceId);
    this.user = new mongodbatlas.DatabaseUser(
      `${name}-user`,
      {
        projectId: args.mongodb.projectId,
        username: mongoUserName(args.instanceId),
        password: pulumi.secret(args.password),
        authDatabaseName: MONGO_AUTH_DATABASE,
        roles: mongoRoles(args.instanceId),
        // Without scopes the user exists on every cluster of the Atlas project.
        scopes: [{ name: args.mongodb.clusterName, type: "CLUSTER" }],
        description: `openedx-im instance ${args.instanceId}`,
      },
      {
        parent: this,
        retainOnDelete: args.retention.retainOnDelete,
        protect: args.retention.protect,
        // A replacement has the same user name, which Atlas refuses while the old user exists.
        deleteBeforeReplace: true,
      },
    );
    this.userName = this.user.username;
    this.registerOutputs({ userName: this.userName });
  }
}
