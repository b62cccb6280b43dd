/**
 * Puts one instance's HAProxy fragment on the load-balancer host and applies it
 * with scripts/lb/openedx-im-lb-apply (validated, seamless reload, waits for old
 * workers): on create and on every change of the fragment; on delete the
 * fragment is removed the same way.
 *
 * Every command string is constant text: the instance id, backend and map reach
 * the host only on stdin, as one JSON object, so no value from configuration is
 * ever parsed by a shell. The caller orders the switch with `dependsOn` (the
 * active appserver's health checks): the fragment changes only after they pass,
 * and since the apply returns only once no old HAProxy worker is left, whatever
 * depends on this component (or is deleted after it) happens when the previous
 * appserver can no longer get a request.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { haproxyBackendName, type HaproxyFragment } from "./haproxy";
import { installScript, lbScriptSource, remoteScript, sshConnection, type LoadBalancerConnection } from "./lb-host";

export type { LoadBalancerConnection } from "./lb-host";

export interface LoadBalancerFragmentArgs {
  /** The instance's slug on the load balancer (the Pulumi stack name); names its files and backend. */
  instanceId: string;
  fragment: pulumi.Input<HaproxyFragment>;
  connection: LoadBalancerConnection;
}

/** The request the apply script reads on stdin (format 1). */
export interface LoadBalancerApplyRequest {
  format: 1;
  instanceId: string;
  config: string;
  map: string;
}

export const APPLY_SCRIPT_SOURCE = lbScriptSource("openedx-im-lb-apply");
export const APPLY_COMMAND = `${remoteScript("openedx-im-lb-apply")} apply`;
export const REMOVE_COMMAND = `${remoteScript("openedx-im-lb-apply")} remove`;

/** The stdin of the apply command: fixed key order, so the same fragment gives the same text (no spurious update). */
export function applyRequest(instanceId: string, fragment: HaproxyFragment): string {
  const request: LoadBalancerApplyRequest = { format: 1, instanceId, config: fragment.config, map: fragment.map };
  return JSON.stringify(request);
}

export class LoadBalancerFragment extends pulumi.ComponentResource {
  readonly backendName: string;
  /** The instance's map lines as applied: which backend each domain goes to. */
  readonly map: pulumi.Output<string>;
  /** The remote command whose delete removes the fragment; depend on it to run after the switch. */
  readonly applyCommand: command.remote.Command;

  constructor(name: string, args: LoadBalancerFragmentArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything registers: a bad id fails the program, not a half-built component.
    const backendName = haproxyBackendName(args.instanceId);
    super("openedx-im:load-balancer:Fragment", name, {}, opts);
    this.backendName = backendName;

    const connection = sshConnection(args.connection);
    const script = installScript(`${name}-script`, "openedx-im-lb-apply", connection, this);

    const fragment = pulumi.output(args.fragment);
    this.map = fragment.apply((f) => f.map);
    this.applyCommand = new command.remote.Command(
      `${name}-apply`,
      {
        connection,
        create: APPLY_COMMAND,
        // A changed fragment is applied in place: the instance's files are replaced, never removed first.
        update: APPLY_COMMAND,
        // The delete runs with the stdin of the last successful apply, so it knows which instance to remove.
        delete: REMOVE_COMMAND,
        stdin: fragment.apply((f) => applyRequest(args.instanceId, f)),
        // A new instance id names other files: remove the old ones, then apply (the SDK replaces on triggers).
        triggers: [args.instanceId],
        // The script prints progress and refusals on stderr (no secret: addresses and host names);
        // stdout stays out of the logs.
        logging: command.types.enums.remote.Logging.Stderr,
        addPreviousOutputInEnv: false,
      },
      {
        parent: this,
        dependsOn: withDependency(opts?.dependsOn, script),
        // The delete undoes the create: the old one must go before its successor is applied,
        // or removing the old one would take away the new one's files (PITFALLS: "commands").
        deleteBeforeReplace: true,
        // haproxy -c output can quote configuration; nothing the host prints lands in state readable.
        additionalSecretOutputs: ["stdout", "stderr"],
      },
    );

    this.registerOutputs({ backendName: this.backendName, map: this.map });
  }
}

/** The caller's dependsOn (in any of its forms) plus one resource. */
function withDependency(existing: pulumi.ResourceOptions["dependsOn"], extra: pulumi.Resource): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
  if (existing === undefined) return [extra];
  if (Array.isArray(existing)) return [...existing, extra];
  if (pulumi.Resource.isInstance(existing)) return [existing, extra];
  return pulumi.output(existing as pulumi.Input<pulumi.Input<pulumi.Resource>[] | pulumi.Resource>).apply((resolved) =>
    pulumi.Resource.isInstance(resolved) ? [resolved, extra] : [...(resolved as pulumi.Resource[]), extra],
  ) as unknown as pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}
