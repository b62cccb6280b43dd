/**
 * How an appserver reaches the instance's long-lived services: what the instance
 * made (names, hosts, passwords as secret Outputs), provisioner-neutral. Each
 * provisioner maps it onto its own settings (Ansible variables, Tutor config keys).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { RabbitRole } from "../config/names";

export interface MysqlConnection {
  host: string;
  port: number;
  /** Database names by key, for the databases the instance has. */
  databases: Partial<Record<string, pulumi.Input<string>>>;
  /** User name and password by role; a name resolves only once the user's grants exist. */
  users: Partial<Record<string, { name: pulumi.Input<string>; password: pulumi.Input<string> }>>;
}

export interface MongoConnection {
  hosts: string[];
  port: number;
  replicaSet?: string;
  databases: { main: string; forum: string };
  user: pulumi.Input<string>;
  password: pulumi.Input<string>;
  useTls: boolean;
  authDatabase?: string;
}

export interface BrokerConnection {
  host: string;
  port: number;
  useTls: boolean;
  vhost: pulumi.Input<string>;
  users: Record<RabbitRole, { name: pulumi.Input<string>; password: pulumi.Input<string> }>;
}

/** Everything an appserver connects to; users resolve only once their grants exist. */
export interface InstanceConnections {
  databases: "ephemeral" | "persistent";
  mysql: MysqlConnection;
  mongo: MongoConnection;
  /** Only while an appserver needs the RabbitMQ vhost (Ansible-built ones). */
  broker?: BrokerConnection;
}
