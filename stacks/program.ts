import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { AppServer } from "../components/appserver";
import { renderHaproxyFragment } from "../components/haproxy";
import { OpenEdxInstance } from "../components/instance";
import { LoadBalancerFragment } from "../components/load-balancer";
import { DEFAULT_PRELIMINARY_BACKEND } from "../config/instance-id";
import { isPlainObject } from "../config/json";
import { SecretSetting } from "../config/secret-names";
import type { Credentials } from "../config/schema";
import type { StackConfig } from "../config/stack-config";
import type { ProgramResult } from "./plan/render";
import { loadStackConfig } from "./load-config";

/**
 * The program: one instance, its appservers, and the load-balancer fragment that
 * sends its domains to the active appserver. Ordering is the engine's: the
 * fragment depends on the active appserver's health checks, so traffic moves only
 * after provisioning and /heartbeat pass; appservers that left the config are
 * deleted at the end of the update, after the fragment no longer names them.
 */
export function defineStack(
  instanceId: string,
  config: StackConfig,
  credentials?: pulumi.Output<Credentials>,
): ProgramResult {
  const { instance: settings } = config;
  // Ansible-built appservers run Celery on the instance's RabbitMQ vhost; Tutor-built ones on Redis on the VM.
  const brokerNeeded = settings.appServers.some((appServer) => appServer.release.provisioner === "ansible");
  const instance = new OpenEdxInstance("instance", { instanceId, config, brokerNeeded, ...(credentials ? { credentials } : {}) });

  const openstackConfig = config.openstack;
  const keyPair = openstackConfig
    ? new openstack.compute.Keypair(
        "provisioning-key",
        { name: `openedx-im-${instanceId}`, publicKey: openstackConfig.sshPublicKey },
        { deleteBeforeReplace: true },
      )
    : undefined;

  const lms = instance.domains.find((d) => d.role === "lms");
  const appServers = settings.appServers.map(
    (appServer) =>
      new AppServer(`appserver-${appServer.id}`, {
        instance: { id: instanceId, name: settings.name, domains: instance.domains, services: settings.services },
        lifecycle: settings.lifecycle,
        appServer: { ...appServer, extraSettings: asPulumiSecrets(appServer.extraSettings) as Record<string, unknown> },
        network: openstackConfig?.network ?? "public",
        keyPairName: keyPair?.name,
        securityGroupNames: [instance.securityGroupName, ...settings.securityGroup.extraGroups],
        connections: instance.connections,
        secrets: instance.secrets,
        lmsDomain: lms?.fqdn ?? `${settings.subDomain}.${settings.baseDomain}`,
        ...credential(config, credentials, "provisioningSshKey", "sshPrivateKey"),
        instanceDependencies: instance.dependencies,
        dnsRecord: (index, address, opts) => instance.dnsRecordFor(appServer.id, index, address, opts),
      }),
  );

  const active = appServers.find((a) => a.appServerId === settings.activeAppServer);
  const fragment = pulumi
    .all(active ? active.addresses : [])
    .apply((addresses) =>
      renderHaproxyFragment({
        instanceId,
        domains: instance.domains.map((d) => d.fqdn),
        servers: addresses.map((address, index) => ({ name: `${active?.appServerId}-${index}`, address, port: active?.port ?? 80 })),
        preliminaryBackend: config.loadBalancer?.preliminaryBackend ?? DEFAULT_PRELIMINARY_BACKEND,
      }),
    );
  if (config.loadBalancer) {
    const lb = config.loadBalancer;
    new LoadBalancerFragment(
      "load-balancer",
      {
        instanceId,
        fragment,
        connection: {
          host: lb.sshHost,
          port: lb.sshPort ?? 22,
          user: lb.sshUser,
          ...credential(config, credentials, "loadBalancerSshKey", "privateKey"),
        },
      },
      { dependsOn: active ? active.healthChecks : [] },
    );
  }

  return {
    outputs: {
      ...instance.outputs,
      appServers: appServers.map((a) => a.appServerId),
      activeAppServer: settings.activeAppServer ?? null,
      appServerAddresses: Object.fromEntries(appServers.map((a) => [a.appServerId, a.addresses])),
    },
    artifacts: {
      appservers: Object.fromEntries(appServers.map((a) => [a.appServerId, a.artifact])),
      haproxy: { config: fragment.apply((f) => f.config), map: fragment.apply((f) => f.map) },
    },
  };
}

/**
 * `{[as]: the credential}` when the stack sets it, else `{}`: an SSH key that is
 * not configured must be absent (the SSH agent is used), not an empty string.
 */
function credential<K extends string>(
  config: StackConfig,
  credentials: pulumi.Output<Credentials> | undefined,
  key: "provisioningSshKey" | "loadBalancerSshKey",
  as: K,
): Partial<Record<K, pulumi.Output<string>>> {
  if (!credentials || !config.credentialKeys.includes(key)) return {};
  return { [as]: credentials.apply((c) => c[key] ?? "") } as Partial<Record<K, pulumi.Output<string>>>;
}

/** SecretSetting values (an operator's `secure:` extraSettings) as Pulumi secrets, one per value. */
function asPulumiSecrets(value: unknown): unknown {
  if (value instanceof SecretSetting) return pulumi.secret(value.reveal());
  if (Array.isArray(value)) return value.map(asPulumiSecrets);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asPulumiSecrets(v)]));
  return value;
}

/**
 * The Pulumi entry's work: read and validate this stack's config, then define it. Warnings go to
 * the engine's log (`pulumi preview` / `up` show them) unless the caller (the offline plan) takes them.
 */
export async function runProgram(options: { onWarning?: (warning: string) => void } = {}): Promise<ProgramResult> {
  const { config, credentials, warnings } = loadStackConfig();
  for (const warning of warnings) (options.onWarning ?? ((text: string) => void pulumi.log.warn(text)))(warning);
  return defineStack(pulumi.getStack(), config, credentials);
}
