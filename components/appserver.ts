import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { ResolvedAppServer } from "../config/stack-config";
import { HealthCheck } from "./health-check";
import { hostKeyUserData } from "./host-key";
import { appServerVmName } from "../config/names";
import { type ProvisionerContext, provisionerFor } from "./provisioners";
import type { InstanceFacts } from "./provisioners/instance-facts";

export interface AppServerArgs {
  /** The instance's id (stack name), name, domains and services. */
  instance: InstanceFacts;
  lifecycle: "sandbox" | "production";
  appServer: ResolvedAppServer;
  network: string;
  keyPairName?: pulumi.Input<string>;
  /** By name: OpenStack diffs security-group ids on every run (PITFALLS). */
  securityGroupNames: pulumi.Input<string>[];
  /** The instance's connections and secrets, as each provisioner takes them. */
  connections: ProvisionerContext["connections"];
  secrets: ProvisionerContext["secrets"];
  lmsDomain: string;
  sshPrivateKey?: pulumi.Input<string>;
  /** Instance resources the provisioning run needs first (database users, grants, broker permissions). */
  instanceDependencies?: pulumi.Resource[];
  /** Creates the DNS name of VM `index` (the instance's DNS owns the zone). */
  dnsRecord?: (index: number, address: pulumi.Input<string>, opts: pulumi.ResourceOptions) => unknown;
}

/**
 * One appserver: `count` VMs built from one frozen set of settings, each
 * provisioned — with Ansible or Tutor, as its release says — and then
 * health-checked. Immutable: different settings make a different AppServer (a
 * new id), never an edit of this one. The VMs are replaced create-before-delete,
 * which is the blue/green behaviour we want.
 */
export class AppServer extends pulumi.ComponentResource {
  readonly appServerId: string;
  readonly addresses: pulumi.Output<string>[];
  /** The resources that must succeed before this appserver may take traffic. */
  readonly healthChecks: pulumi.Resource[];
  /** What the plan shows for this appserver: `{ansibleVars}` or `{provisioner: "tutor", tutor}`. */
  readonly artifact: Record<string, unknown>;
  /** The port the load balancer sends traffic to. */
  readonly port: number;

  constructor(name: string, args: AppServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:appserver:AppServer", name, {}, opts);
    const { appServer } = args;
    const instanceId = args.instance.id;
    this.appServerId = appServer.id;
    const provisioner = provisionerFor({
      instance: args.instance,
      lifecycle: args.lifecycle,
      appServer,
      connections: args.connections,
      secrets: args.secrets,
    });
    this.artifact = provisioner.artifact;
    this.port = provisioner.port;

    // Production appservers are frozen (settings changes are recorded, never run on them);
    // a sandbox VM is replaced, blue/green, when anything it is built from changes,
    // including the instance's connection variables that its id does not cover.
    const frozen = args.lifecycle === "production";

    this.addresses = [];
    this.healthChecks = [];
    for (let index = 0; index < appServer.count; index++) {
      const vmName = appServerVmName(instanceId, appServer.id, index);
      // The VM's SSH host key, made here so the provisioning run (either provisioner) can pin it instead of trusting first contact.
      const hostKey = new tls.PrivateKey(`${name}-vm${index}-host-key`, { algorithm: "ED25519" }, { parent: this });
      const vm = new openstack.compute.Instance(
        `${name}-vm${index}`,
        {
          name: vmName,
          flavorName: appServer.flavor,
          imageName: appServer.image,
          ...(args.keyPairName ? { keyPair: args.keyPairName } : {}),
          securityGroups: args.securityGroupNames,
          networks: [{ name: args.network }],
          // Holds the host's private key: secret. A change would replace the VM, but the key is a resource and never churns.
          userData: pulumi.secret(
            pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh]).apply(([privateKey, publicKey]) => hostKeyUserData(privateKey, publicKey)),
          ),
          metadata: {
            "openedx-im:instance": instanceId,
            "openedx-im:instance-name": args.instance.name.slice(0, 255),
            "openedx-im:appserver": appServer.id,
            "openedx-im:release": appServer.release.release,
          },
        },
        // A new image rebuilds the VM in place, wiping it, while the preview says "update": replace instead.
        {
          parent: this,
          replaceOnChanges: ["imageName", "imageId"],
          // A production VM built before host keys were pinned keeps running as it is: a change of its
          // user data alone would replace it (a new build and a traffic switch nobody asked for). A new VM,
          // and any replacement for another reason, gets the program's user data (docs/provisioning.md).
          ...(frozen ? { ignoreChanges: ["userData"] } : { replacementTrigger: provisioner.settingsDigest }),
        },
      );
      const address = vm.accessIpV4;
      this.addresses.push(address);

      const provisioning = provisioner.provision(
        `${name}-provision${index}`,
        {
          runId: `${appServer.id}-${index}`,
          host: address,
          hostPublicKey: hostKey.publicKeyOpenssh,
          frozen,
          ...(args.sshPrivateKey ? { sshPrivateKey: args.sshPrivateKey } : {}),
        },
        { parent: this, dependsOn: [vm, ...(args.instanceDependencies ?? [])] },
      );
      const healthCheck = new HealthCheck(
        `${name}-health${index}`,
        { address, hostHeader: args.lmsDomain, port: provisioner.port },
        { parent: this, dependsOn: [provisioning] },
      );
      this.healthChecks.push(healthCheck);
      args.dnsRecord?.(index, address, { parent: this });
    }
    this.registerOutputs({ addresses: this.addresses });
  }
}
