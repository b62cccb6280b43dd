/** The Ansible provisioner: the configuration repository's playbook, run by scripts/provision/provision.ts. */
import type * as pulumi from "@pulumi/pulumi";
import { ansibleServiceVars } from "./service-vars";
import { buildDigest } from "../command";
import { Provisioning } from "./provisioning";
import { type AnsibleVariablesInput, builtInDefaults, renderAnsibleVars, trustedVariablePaths } from "./vars";
import type { AppServerProvisioner, ProvisionerContext } from "../index";

export function ansibleProvisioner(context: ProvisionerContext): AppServerProvisioner {
  const { appServer } = context;
  const variablesInput: AnsibleVariablesInput<pulumi.Input<unknown>> = {
    instance: context.instance,
    lifecycle: context.lifecycle,
    release: appServer.release,
    serviceVars: ansibleServiceVars({ connections: context.connections, secrets: context.secrets, services: context.instance.services }),
    extraSettings: appServer.extraSettings,
    ...(appServer.pullRequestSettings !== undefined ? { pullRequestSettings: appServer.pullRequestSettings } : {}),
  };
  const ansibleVars = renderAnsibleVars(variablesInput);
  // Paths into ansibleVars the operator wrote: the only values Ansible may template.
  const trusted = trustedVariablePaths(variablesInput);
  const configuration = appServer.release.configuration;
  if (!configuration)
    throw new Error(`appserver ${appServer.id}: release ${appServer.release.release} is built with Ansible but has no configuration repository`);
  return {
    kind: "ansible",
    artifact: { ansibleVars, trustedVariablePaths: trusted },
    settingsDigest: buildDigest({ appServerId: appServer.id, configuration, ansibleVars }),
    // nginx on the VM speaks plain HTTP on this port; TLS ends at the load balancer.
    port: Number(builtInDefaults().EDXAPP_LMS_NGINX_PORT),
    provision: (name, vm, opts) =>
      new Provisioning(
        name,
        {
          appServerId: vm.runId,
          host: vm.host,
          configuration,
          ansibleVars,
          trustedVariablePaths: trusted,
          hostPublicKey: vm.hostPublicKey,
          frozen: vm.frozen,
          ...(vm.sshPrivateKey ? { sshPrivateKey: vm.sshPrivateKey } : {}),
        },
        opts,
      ),
  };
}
