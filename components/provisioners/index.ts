/**
 * The two ways an appserver VM becomes an Open edX appserver, side by side: the
 * configuration repository's Ansible playbooks (releases up to Redwood) and Tutor
 * (Sumac on). The appserver picks one by its release's `provisioner`; both take the
 * same instance facts and connections and give back the same things: what the
 * plan shows, a digest of what the VM is built from, the port the load balancer
 * uses, and a provisioning run per VM.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Provisioner as ProvisionerKind } from "../../config/matrix/types";
import type { ResolvedAppServer } from "../../config/stack-config";
import type { InstanceConnections } from "../connections";
import type { Secrets } from "../secrets";
import { ansibleProvisioner } from "./ansible";
import type { InstanceFacts } from "./instance-facts";
import { tutorProvisioner } from "./tutor";

export interface ProvisionerContext {
  instance: InstanceFacts;
  lifecycle: "sandbox" | "production";
  appServer: ResolvedAppServer;
  /** How appservers reach the instance's services; each provisioner maps them onto its own settings. */
  connections: InstanceConnections;
  secrets: Secrets;
}

export interface VmProvisioning {
  /** `<appserver id>-<vm index>`: names the run in logs. */
  runId: string;
  host: pulumi.Input<string>;
  /** The VM's SSH host public key (OpenSSH format), given to it through cloud-init: the run pins it. */
  hostPublicKey: pulumi.Input<string>;
  frozen: boolean;
  sshPrivateKey?: pulumi.Input<string>;
}

export interface AppServerProvisioner {
  kind: ProvisionerKind;
  /** What `npm run plan -- <stack> --json` shows under artifacts.appservers.<id>. */
  artifact: Record<string, unknown>;
  /** Changes exactly when what the VMs are built from changes, as far as it is known without secrets. */
  settingsDigest: string;
  /** Where the appserver serves HTTP: the port the load-balancer fragment sends traffic to. */
  port: number;
  /** The provisioning run of one VM; the health check depends on it. */
  provision(name: string, vm: VmProvisioning, opts: pulumi.ComponentResourceOptions): pulumi.Resource;
}

/** The provisioner the appserver's release names in the version matrix. */
export function provisionerFor(context: ProvisionerContext): AppServerProvisioner {
  switch (context.appServer.release.provisioner) {
    case "ansible":
      return ansibleProvisioner(context);
    case "tutor":
      return tutorProvisioner(context);
  }
}
