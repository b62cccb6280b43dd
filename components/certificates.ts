/**
 * The instance's TLS certificates on the load balancer: `openedx-im-certs ensure`
 * over the same SSH connection as the HAProxy fragment, on create and whenever the
 * certificate plan changes; `release` on delete.
 *
 * Ordering is the engine's: the instance's DNS records depend on this component,
 * so no name points at the load balancer before a certificate covers it (a new
 * instance, and a migration's cut-over alike). Certificates and the ACME account key
 * are made on the load balancer and never leave it: this component sends names
 * and receives nothing secret; stdout and stderr are still kept secret.
 * Renewal is not Pulumi's: a systemd timer on the load balancer runs
 * `openedx-im-certs renew` (scripts/lb/openedx-im-certs-renew.timer).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { certificateRequestText, type CertificateRequest } from "../config/certificate-plan";
import { installScript, lbScriptSource, remoteScript, sshConnection, type LoadBalancerConnection } from "./lb-host";

export const CERTS_SCRIPT_SOURCE = lbScriptSource("openedx-im-certs");
export const ENSURE_COMMAND = `${remoteScript("openedx-im-certs")} ensure`;
export const RELEASE_COMMAND = `${remoteScript("openedx-im-certs")} release`;

export interface InstanceCertificatesArgs {
  /** The instance's slug on the load balancer (the Pulumi stack name). */
  instanceId: string;
  request: CertificateRequest;
  connection: LoadBalancerConnection;
}

export class InstanceCertificates extends pulumi.ComponentResource {
  /** The certificates' names on the load balancer (shared ones included). */
  readonly certificateNames: string[];
  /** The remote command that obtains and installs them; its delete releases them. */
  readonly ensureCommand: command.remote.Command;

  constructor(name: string, args: InstanceCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.request.instanceId !== args.instanceId)
      throw new Error(`certificates: the request is for instance "${args.request.instanceId}", not "${args.instanceId}"`);
    super("openedx-im:certificates:InstanceCertificates", name, {}, opts);
    this.certificateNames = args.request.certificates.map((cert) => cert.name);

    const connection = sshConnection(args.connection);
    // openedx-im-certs imports openedx-im-lb-apply from its own directory (one lock, one reload), and runs
    // before this instance's fragment exists: it brings the apply script itself.
    const scripts = [
      installScript(`${name}-script`, "openedx-im-certs", connection, this),
      installScript(`${name}-apply-script`, "openedx-im-lb-apply", connection, this),
    ];

    this.ensureCommand = new command.remote.Command(
      `${name}-ensure`,
      {
        connection,
        create: ENSURE_COMMAND,
        // A changed plan (a domain added, the wildcard chosen) is ensured in place: the instance's use is
        // replaced, certificates still in use stay, one no instance uses any more is removed.
        update: ENSURE_COMMAND,
        // Runs with the stdin of the last ensure, which names the instance.
        delete: RELEASE_COMMAND,
        stdin: certificateRequestText(args.request),
        triggers: [args.instanceId],
        // Progress and refusals (names and expiry dates, never a key) show in the console.
        logging: command.types.enums.remote.Logging.Stderr,
        addPreviousOutputInEnv: false,
      },
      {
        parent: this,
        dependsOn: scripts,
        // The delete undoes the create: a new instance id must not have its use released by its predecessor's delete.
        deleteBeforeReplace: true,
        additionalSecretOutputs: ["stdout", "stderr"],
        // Obtaining a certificate waits on DNS propagation at Gandi.
        customTimeouts: { create: "20m", update: "20m", delete: "10m" },
      },
    );

    this.registerOutputs({ certificateNames: this.certificateNames });
  }
}
