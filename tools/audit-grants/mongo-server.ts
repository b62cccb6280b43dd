/**
 * The grant audit's only contact with MongoDB: list the instance users with
 * `usersInfo` and replace a user's roles with `updateUser` (one command per
 * user, atomic on the server). MongoDB Atlas refuses user-management commands
 * from drivers: there, restrict users through the stack (mongodbatlas.DatabaseUser).
 */
import type { Db } from "mongodb";
import type { MongoRole, MongoUserDocument, MongoUserRef } from "./mongo-audit";

interface UsersInfoReply {
  users?: Array<{ user?: unknown; db?: unknown; roles?: Array<{ role?: unknown; db?: unknown }> }>;
}

/** usersInfo's reply, reduced to the fields the audit reads. */
export function parseUsersInfo(reply: UsersInfoReply): MongoUserDocument[] {
  return (reply.users ?? []).map((entry) => ({
    user: String(entry.user),
    db: String(entry.db),
    roles: (entry.roles ?? []).map((role) => ({ role: String(role.role), db: String(role.db) })),
  }));
}

/** Users with one of these names, in any database. */
export async function readMongoUsers(admin: Db, userNames: string[]): Promise<MongoUserDocument[]> {
  const reply = (await admin.command({ usersInfo: { forAllDBs: true } })) as UsersInfoReply;
  const wanted = new Set(userNames);
  return parseUsersInfo(reply).filter((document) => wanted.has(document.user));
}

export async function setMongoRoles(userDatabase: Db, user: string, roles: MongoRole[]): Promise<void> {
  await userDatabase.command({ updateUser: user, roles });
}

interface ConnectionStatusReply {
  authInfo?: { authenticatedUsers?: Array<{ user?: unknown; db?: unknown }> };
}

/** connectionStatus's authenticated users: who the audit is, as the server sees it. */
export function parseConnectionStatus(reply: ConnectionStatusReply): MongoUserRef[] {
  return (reply.authInfo?.authenticatedUsers ?? []).map((entry) => ({ user: String(entry.user), db: String(entry.db) }));
}

export async function readMongoConnectedAs(admin: Db): Promise<MongoUserRef[]> {
  return parseConnectionStatus((await admin.command({ connectionStatus: 1 })) as ConnectionStatusReply);
}
