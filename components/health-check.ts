/**
 * The gate between a provisioned appserver VM and traffic: a local command that
 * waits (bounded) until the VM answers `GET /heartbeat` with 200 for the LMS
 * name, and fails the update otherwise. The load-balancer fragment depends on it.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { COMMAND_OUTPUT_INPUTS } from "./provisioners/command";

/** Run from the Pulumi project directory; every value arrives through the environment; `exec`: see PROVISION_COMMAND. */
export const HEALTH_CHECK_COMMAND = "exec node --import tsx scripts/provision/health-check.ts";

export const DEFAULT_HEALTH_TIMEOUT_SECONDS = 900;

export interface HealthCheckArgs {
  /** The VM's address. */
  address: pulumi.Input<string>;
  /** The LMS domain, sent as the Host header (nginx on the VM routes by name). */
  hostHeader: pulumi.Input<string>;
  port?: number;
  timeoutSeconds?: number;
  intervalSeconds?: number;
}

export class HealthCheck extends pulumi.ComponentResource {
  readonly command: command.local.Command;

  constructor(name: string, args: HealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:appserver:HealthCheck", name, {}, opts);
    const timeout = args.timeoutSeconds ?? DEFAULT_HEALTH_TIMEOUT_SECONDS;
    this.command = new command.local.Command(
      `${name}-heartbeat`,
      {
        create: HEALTH_CHECK_COMMAND,
        environment: {
          OPENEDX_IM_HEALTH_ADDRESS: args.address,
          OPENEDX_IM_HEALTH_HOST: args.hostHeader,
          OPENEDX_IM_HEALTH_PORT: String(args.port ?? 80),
          OPENEDX_IM_HEALTH_TIMEOUT: String(timeout),
          OPENEDX_IM_HEALTH_INTERVAL: String(args.intervalSeconds ?? 10),
        },
        // A new address (a rebuilt VM) must be checked again.
        triggers: [args.address],
        // Its progress lines (attempt, elapsed time, last answer) hold no secret and say why a check failed.
        ...COMMAND_OUTPUT_INPUTS,
      },
      {
        parent: this,
        // Children do not inherit the component's dependsOn: say it, so the check
        // starts only after the provisioning run it is handed, in plans as in the engine.
        ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
        customTimeouts: { create: `${timeout + 120}s`, update: `${timeout + 120}s` },
      },
    );
    this.registerOutputs({});
  }
}
