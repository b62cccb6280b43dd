import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { AppServer } from "../components/appserver";
import { hstsHeader, planCertificates } from "../config/certificate-plan";
import { InstanceCertificates } from "../components/certificates";
import { renderHaproxyFragment } from "../components/haproxy";
import type { InstanceDomain } from "../config/domains";
import { OpenEdxInstance, instanceDomains } from "../components/instance";
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
  const lb = config.loadBalancer;
  const lbConnection = lb
    ? { host: lb.sshHost, port: lb.sshPort ?? 22, user: lb.sshUser, ...credential(config, credentials, "loadBalancerSshKey", "privateKey") }
    : undefined;
  const domains = instanceDomains(settings);

  // Certificates first: the instance's domain records depend on them, so no name points at
  // the load balancer before a certificate covers it (docs/load-balancer.md, "TLS").
  const certificates = lbConnection
    ? new InstanceCertificates("certificates", {
        instanceId,
        request: planCertificates({
          instanceId,
          baseDomain: settings.baseDomain,
          domains,
          mode: settings.tls.certificate,
          candidateWildcard: settings.lifecycle === "production",
        }),
        connection: lbConnection,
      })
    : undefined;
  // Ansible-built appservers run Celery on the instance's RabbitMQ vhost; Tutor-built ones on Redis on the VM.
  const brokerNeeded = settings.appServers.some((appServer) => appServer.release.provisioner === "ansible");
  const instance = new OpenEdxInstance("instance", {
    instanceId,
    config,
    brokerNeeded,
    ...(credentials ? { credentials } : {}),
    ...(certificates ? { dnsDependsOn: [certificates] } : {}),
    candidateRecord: candidateSite(settings, domains) !== undefined,
  });

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
  // Production appservers not active yet: a person pins a browser to one at its candidate entry name.
  const site = candidateSite(settings, domains);
  const candidates = site ? appServers.filter((a) => a !== active) : [];
  const vms = (appServer: AppServer | undefined) =>
    pulumi.all(appServer ? appServer.addresses : []).apply((addresses) =>
      addresses.map((address, index) => ({ name: `${appServer?.appServerId}-${index}`, address, port: appServer?.port ?? 80 })),
    );
  const fragment = pulumi
    .all([vms(active), pulumi.all(candidates.map((candidate) => vms(candidate)))])
    .apply(([servers, candidateServers]) =>
      renderHaproxyFragment({
        instanceId,
        domains: domains.map((d) => d.fqdn),
        servers,
        preliminaryBackend: config.loadBalancer?.preliminaryBackend ?? DEFAULT_PRELIMINARY_BACKEND,
        ...(settings.tls.hsts ? { hsts: hstsHeader(settings.tls.hsts) } : {}),
        ...(site ? { candidates: candidates.map((candidate, index) => ({ id: candidate.appServerId, servers: candidateServers[index] })), candidateSite: site } : {}),
      }),
    );
  if (lbConnection) {
    new LoadBalancerFragment(
      "load-balancer",
      { instanceId, fragment, connection: lbConnection },
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
 * Where candidate appservers are pinned: production instances whose LMS domain is in the zone and
 * covered by their own certificate (`*.candidate.<LMS>`). The pin cookie is set for the LMS domain
 * when every managed name is under it (subdomain style), else for the base domain.
 */
function candidateSite(settings: StackConfig["instance"], domains: InstanceDomain[]): { lmsDomain: string; cookieDomain: string } | undefined {
  const lms = domains.find((d) => d.role === "lms");
  if (settings.lifecycle !== "production" || settings.tls.certificate !== "instance" || lms?.recordName === undefined) return undefined;
  const managed = domains.filter((d) => d.recordName !== undefined);
  const underLms = managed.every((d) => d.fqdn === lms.fqdn || d.fqdn.endsWith(`.${lms.fqdn}`));
  return { lmsDomain: lms.fqdn, cookieDomain: underLms ? lms.fqdn : settings.baseDomain };
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
