import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { ResolvedAppServer } from "../config/stack-config";
import { type AnsibleVariablesInput, type InstanceFacts, renderAnsibleVars, trustedVariablePaths } from "./ansible-vars";
import { HealthCheck } from "./health-check";
import { hostKeyUserData } from "./host-key";
import { appServerVmName } from "./names";
import { Provisioning, buildDigest } from "./provisioning";

export interface AppServerArgs {
  /** The instance's id (stack name), name, domains and services. */
  instance: InstanceFacts;
  lifecycle: "sandbox" | "production";
  appServer: ResolvedAppServer;
  network: string;
  keyPairName?: pulumi.Input<string>;
  /** By name: OpenStack diffs security-group ids on every run (PITFALLS). */
  securityGroupNames: pulumi.Input<string>[];
  /** Connection and secret variables from the instance; secret values are secret Outputs. */
  serviceVars: Record<string, pulumi.Input<unknown>>;
  lmsDomain: string;
  sshPrivateKey?: pulumi.Input<string>;
  /** Instance resources the provisioning run needs first (database users, grants, broker permissions). */
  instanceDependencies?: pulumi.Resource[];
  /** Creates the DNS name of VM `index` (the instance's DNS owns the zone). */
  dnsRecord?: (index: number, address: pulumi.Input<string>, opts: pulumi.ResourceOptions) => unknown;
}

/**
 * One appserver: `count` VMs built from one frozen set of settings, each
 * provisioned and then health-checked. Immutable: different settings make a
 * different AppServer (a new id), never an edit of this one. The VMs are
 * replaced create-before-delete, which is the blue/green behaviour we want.
 */
export class AppServer extends pulumi.ComponentResource {
  readonly appServerId: string;
  readonly addresses: pulumi.Output<string>[];
  /** The resources that must succeed before this appserver may take traffic. */
  readonly healthChecks: pulumi.Resource[];
  readonly ansibleVars: Record<string, pulumi.Input<unknown>>;
  /** Paths into ansibleVars the operator wrote: the only values Ansible may template. */
  readonly trustedVariablePaths: string[][];

  constructor(name: string, args: AppServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:appserver:AppServer", name, {}, opts);
    const { appServer } = args;
    const instanceId = args.instance.id;
    this.appServerId = appServer.id;
    const variablesInput: AnsibleVariablesInput<pulumi.Input<unknown>> = {
      instance: args.instance,
      lifecycle: args.lifecycle,
      release: appServer.release,
      serviceVars: args.serviceVars,
      extraSettings: appServer.extraSettings,
      ...(appServer.pullRequestSettings !== undefined ? { pullRequestSettings: appServer.pullRequestSettings } : {}),
    };
    this.ansibleVars = renderAnsibleVars(variablesInput);
    this.trustedVariablePaths = trustedVariablePaths(variablesInput);
    const configuration = appServer.release.configuration;
    if (!configuration)
      throw new Error(
        `appserver ${appServer.id}: release ${appServer.release.release} is built with ${appServer.release.provisioner}, which has no configuration repository`,
      );

    // Production appservers are frozen (settings changes are recorded, never run on them);
    // a sandbox VM is replaced, blue/green, when anything it is built from changes,
    // including the instance's connection variables that its id does not cover.
    const frozen = args.lifecycle === "production";
    const settingsDigest = buildDigest({ appServerId: appServer.id, configuration, ansibleVars: this.ansibleVars });

    this.addresses = [];
    this.healthChecks = [];
    for (let index = 0; index < appServer.count; index++) {
      const vmName = appServerVmName(instanceId, appServer.id, index);
      // The VM's SSH host key, made here so the provisioning run can pin it instead of trusting first contact.
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
          ...(frozen ? { ignoreChanges: ["userData"] } : { replacementTrigger: settingsDigest }),
        },
      );
      const address = vm.accessIpV4;
      this.addresses.push(address);

      const provisioning = new Provisioning(
        `${name}-provision${index}`,
        {
          appServerId: `${appServer.id}-${index}`,
          host: address,
          configuration,
          ansibleVars: this.ansibleVars,
          trustedVariablePaths: this.trustedVariablePaths,
          hostPublicKey: hostKey.publicKeyOpenssh,
          frozen,
          ...(args.sshPrivateKey ? { sshPrivateKey: args.sshPrivateKey } : {}),
        },
        { parent: this, dependsOn: [vm, ...(args.instanceDependencies ?? [])] },
      );
      const healthCheck = new HealthCheck(
        `${name}-health${index}`,
        { address, hostHeader: args.lmsDomain },
        { parent: this, dependsOn: [provisioning] },
      );
      this.healthChecks.push(healthCheck);
      args.dnsRecord?.(index, address, { parent: this });
    }
    this.registerOutputs({ addresses: this.addresses });
  }
}
