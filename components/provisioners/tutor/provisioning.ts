/**
 * The Tutor provisioning run of one appserver VM: a `@pulumi/command` local command
 * that runs scripts/provision/tutor.ts on the machine running Pulumi. The command
 * string is a constant; non-secret settings arrive as environment values and the
 * request (config.yml with its secrets, the plugin data, the SSH key) as one secret
 * JSON document on standard input. See docs/tutor.md.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FROZEN_UPDATE_COMMAND, COMMAND_OUTPUT_INPUTS } from "../command";
import type { TutorAppServer } from "./config";

/** Run from the Pulumi project directory, where the command provider runs commands; `exec`, so a kill of the provider's sh reaches the wrapper. */
export const TUTOR_PROVISION_COMMAND = "exec node --import tsx scripts/provision/tutor.ts";

/** Installing Docker and Tutor, pulling the images, the first migrations of an empty database: about half an hour; an hour allowed. */
export const TUTOR_LAUNCH_SECONDS = 3600;
/**
 * Building the `openedx` image from a repository and ref on the VM (a fork, a pull
 * request's head commit, master): 30-60 minutes on 4-8 vCPUs (Python requirements,
 * npm, static assets); 90 minutes allowed, on top of the launch.
 */
export const TUTOR_IMAGE_BUILD_SECONDS = 5400;

export interface TutorProvisioningArgs {
  /** Names the run in logs: `<appserver id>-<vm index>`. */
  appServerId: string;
  host: pulumi.Input<string>;
  app: TutorAppServer<pulumi.Input<unknown>>;
  sshPrivateKey?: pulumi.Input<string>;
  /** The VM's SSH host public key, pinned for the run; absent: learnt on first contact. */
  hostKey?: pulumi.Input<string>;
  sshUser?: string;
  logDir?: string;
  /** As for Ansible: a production appserver keeps what it was built with. */
  frozen?: boolean;
  /** What the VM is built from (the provisioner's settingsDigest): a change runs the provisioning again. */
  settingsDigest: string;
}

/** The whole run's bound: the launch, plus the image build when there is one. */
export function tutorTotalTimeoutSeconds(app: Pick<TutorAppServer<unknown>, "image">): number {
  return TUTOR_LAUNCH_SECONDS + (app.image.build ? TUTOR_IMAGE_BUILD_SECONDS : 0);
}

export class TutorProvisioning extends pulumi.ComponentResource {
  readonly command: command.local.Command;

  constructor(name: string, args: TutorProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:appserver:TutorProvisioning", name, {}, opts);
    const total = tutorTotalTimeoutSeconds(args.app);
    const environment: Record<string, pulumi.Input<string>> = {
      OPENEDX_IM_HOST: args.host,
      OPENEDX_IM_APPSERVER_ID: args.appServerId,
      OPENEDX_IM_SSH_USER: args.sshUser ?? "ubuntu",
      OPENEDX_IM_TOTAL_TIMEOUT: String(total),
      ...(args.hostKey !== undefined ? { OPENEDX_IM_HOST_PUBLIC_KEY: args.hostKey } : {}),
      ...(args.logDir !== undefined ? { OPENEDX_IM_LOG_DIR: args.logDir } : {}),
    };
    const { app } = args;
    const request = pulumi
      .all([pulumi.output(app.config), pulumi.output(args.sshPrivateKey)])
      .apply(([config, sshPrivateKey]) =>
        JSON.stringify({
          tutor: { version: app.tutor.version, plugins: app.tutor.plugins },
          config,
          pluginData: app.pluginData,
          image: app.image,
          port: app.port,
          ...(sshPrivateKey ? { sshPrivateKey } : {}),
        }),
      );
    this.command = new command.local.Command(
      `${name}-run`,
      {
        create: TUTOR_PROVISION_COMMAND,
        ...(args.frozen ? { update: FROZEN_UPDATE_COMMAND } : {}),
        environment,
        stdin: pulumi.secret(request),
        triggers: args.frozen ? [args.appServerId, args.host] : [args.appServerId, args.host, args.settingsDigest],
        ...COMMAND_OUTPUT_INPUTS,
      },
      {
        parent: this,
        ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
        // Tutor and Docker print what they configure: never into state or the console.
        additionalSecretOutputs: ["stdout", "stderr"],
        customTimeouts: { create: `${total + 600}s`, update: `${total + 600}s` },
      },
    );
    this.registerOutputs({});
  }
}
