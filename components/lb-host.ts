/**
 * What the load-balancer components share: the SSH connection to the host and the
 * installation of a script from scripts/lb into the SSH user's ~/.openedx-im.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface LoadBalancerConnection {
  host: pulumi.Input<string>;
  /** Default 22. */
  port?: pulumi.Input<number>;
  /** Root, or a user in group haproxy that may write conf.d and /etc/haproxy/openedx-im (docs/load-balancer.md). */
  user: pulumi.Input<string>;
  /** PEM private key; stored as a secret whatever the caller passes. Absent only in offline plans. */
  privateKey?: pulumi.Input<string>;
}

export type LbScript = "openedx-im-lb-apply" | "openedx-im-certs";

export function lbScriptSource(script: LbScript): string {
  return join(__dirname, "..", "scripts", "lb", script);
}

/** Where a script lives on the load-balancer host: the SSH user's own directory, so any deploy user can install it. */
export function remoteScript(script: LbScript): string {
  return `"$HOME/.openedx-im/${script}"`;
}

/** Installs the script read on stdin atomically; a concurrent `up` or renewal sees the old or the new file, never half of one. */
export function installScriptCommand(script: LbScript): string {
  return [
    "set -eu",
    "umask 022",
    'mkdir -p "$HOME/.openedx-im"',
    `tmp=$(mktemp "$HOME/.openedx-im/.${script}.XXXXXX")`,
    'cat >"$tmp"',
    'chmod 0755 "$tmp"',
    `mv -f "$tmp" ${remoteScript(script)}`,
  ].join("\n");
}

export function sshConnection(connection: LoadBalancerConnection): command.types.input.remote.ConnectionArgs {
  return {
    host: connection.host,
    port: connection.port ?? 22,
    user: connection.user,
    ...(connection.privateKey === undefined ? {} : { privateKey: pulumi.secret(connection.privateKey) }),
  };
}

/**
 * The remote command that installs one script. Shared by every instance on the host (and the
 * renewal timer), so it has no delete: removing one instance must not take the script from the others.
 */
export function installScript(
  name: string,
  script: LbScript,
  connection: command.types.input.remote.ConnectionArgs,
  parent: pulumi.Resource,
): command.remote.Command {
  return new command.remote.Command(
    name,
    {
      connection,
      create: installScriptCommand(script),
      update: installScriptCommand(script),
      stdin: readFileSync(lbScriptSource(script), "utf8"),
      logging: command.types.enums.remote.Logging.Stderr,
      addPreviousOutputInEnv: false,
    },
    { parent, additionalSecretOutputs: ["stdout", "stderr"] },
  );
}
