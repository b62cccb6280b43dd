/**
 * The provisioning run of one appserver VM: a `@pulumi/command` local command
 * that runs the wrapper shipped in scripts/provision/ on the machine running
 * Pulumi (an operator's or CI's). See docs/provisioning.md.
 *
 * The command string is a constant. Every value reaches the wrapper as an
 * environment value (non-secret settings, the VM's pinned host public key) or
 * on standard input (the Ansible variables, the trusted paths and the SSH
 * private key, as one secret JSON document), so nothing from config or a pull
 * request is ever parsed by a shell, and only the operator's own settings are
 * ever templated by Ansible.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FROZEN_UPDATE_COMMAND, COMMAND_OUTPUT_INPUTS, buildDigest } from "../command";

/**
 * Run from the Pulumi project directory (where Pulumi.yaml is), which is where the command provider runs commands.
 * The provider runs it with `/bin/sh -c` and, when it cancels, SIGKILLs that process only: `exec` makes the
 * wrapper that process, so the kill reaches it and its guard cleans up (Debian's dash does not exec by itself).
 */
export const PROVISION_COMMAND = "exec node --import tsx scripts/provision/provision.ts";

export const DEFAULT_LINE_TIMEOUT_SECONDS = 7200;
export const DEFAULT_TOTAL_TIMEOUT_SECONDS = 9000;

export interface ProvisioningArgs {
  /** Names the run in logs: `<appserver id>-<vm index>`. */
  appServerId: string;
  /** The VM's address. */
  host: pulumi.Input<string>;
  /** The configuration repository, ref and playbook of the release. */
  configuration: { repository: string; ref: string; playbook: string };
  /** The rendered Ansible variables (`renderAnsibleVars`); secret values as secret Outputs. */
  ansibleVars: Record<string, pulumi.Input<unknown>>;
  /**
   * Paths into `ansibleVars` the operator wrote (the appserver's own
   * `extraSettings`, never a pull request's): values at or under them stay Jinja
   * templates. Every other string reaches Ansible marked unsafe, i.e. as data.
   */
  trustedVariablePaths?: string[][];
  /** The private key Ansible logs in with; sent on standard input only. */
  sshPrivateKey?: pulumi.Input<string>;
  /** The VM's SSH host public key (`ssh-ed25519 AAAA...`), pinned for the run. Not a secret. */
  hostPublicKey?: pulumi.Input<string>;
  /** The VM image's login user; default `ubuntu`. */
  sshUser?: string;
  /** Where the wrapper keeps the log of each run; default `~/.local/state/openedx-im/provision`. */
  logDir?: string;
  lineTimeoutSeconds?: number;
  totalTimeoutSeconds?: number;
  /**
   * A production appserver keeps what it was built with: a later change of its
   * variables is recorded but not run (the update is a no-op); only a new VM is
   * provisioned again. Default false: a change runs the playbook again from the start.
   */
  frozen?: boolean;
}

/** The provisioning run of one VM. `command` is the local command resource; depend on this component. */
export class Provisioning extends pulumi.ComponentResource {
  readonly command: command.local.Command;

  constructor(name: string, args: ProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:appserver:Provisioning", name, {}, opts);
    const environment: Record<string, pulumi.Input<string>> = {
      OPENEDX_IM_HOST: args.host,
      OPENEDX_IM_APPSERVER_ID: args.appServerId,
      OPENEDX_IM_SSH_USER: args.sshUser ?? "ubuntu",
      OPENEDX_IM_CONFIGURATION_REPOSITORY: args.configuration.repository,
      OPENEDX_IM_CONFIGURATION_REF: args.configuration.ref,
      OPENEDX_IM_PLAYBOOK: args.configuration.playbook,
      OPENEDX_IM_LINE_TIMEOUT: String(args.lineTimeoutSeconds ?? DEFAULT_LINE_TIMEOUT_SECONDS),
      OPENEDX_IM_TOTAL_TIMEOUT: String(args.totalTimeoutSeconds ?? DEFAULT_TOTAL_TIMEOUT_SECONDS),
      ...(args.logDir !== undefined ? { OPENEDX_IM_LOG_DIR: args.logDir } : {}),
      ...(args.hostPublicKey !== undefined ? { OPENEDX_IM_HOST_PUBLIC_KEY: args.hostPublicKey } : {}),
    };
    const trustedPaths = args.trustedVariablePaths ?? [];
    const request = pulumi
      .all([pulumi.output(args.ansibleVars), pulumi.output(args.sshPrivateKey)])
      .apply(([variables, sshPrivateKey]) =>
        JSON.stringify({ variables, ...(trustedPaths.length > 0 ? { trustedPaths } : {}), ...(sshPrivateKey ? { sshPrivateKey } : {}) }),
      );

    this.command = new command.local.Command(
      `${name}-run`,
      {
        create: PROVISION_COMMAND,
        ...(args.frozen ? { update: FROZEN_UPDATE_COMMAND } : {}),
        environment,
        stdin: pulumi.secret(request),
        triggers: args.frozen ? [args.appServerId, args.host] : [args.appServerId, args.host, buildDigest(args)],
        ...COMMAND_OUTPUT_INPUTS,
      },
      {
        parent: this,
        // Children do not inherit the component's dependsOn: the run must wait for
        // what the appserver was handed (the VM, database users, grants), in plans as in the engine.
        ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
        // Masked as they are, the outputs stay secret in state: defence in depth behind the wrapper's masking.
        additionalSecretOutputs: ["stdout", "stderr"],
        // A run is a long step with an end; Pulumi's own default timeouts would cut it short.
        customTimeouts: {
          create: `${(args.totalTimeoutSeconds ?? DEFAULT_TOTAL_TIMEOUT_SECONDS) + 600}s`,
          update: `${(args.totalTimeoutSeconds ?? DEFAULT_TOTAL_TIMEOUT_SECONDS) + 600}s`,
        },
      },
    );
    this.registerOutputs({});
  }
}
