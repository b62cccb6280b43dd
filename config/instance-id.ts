/**
 * The instance id is the Pulumi stack name. It names the instance's backend on
 * the shared load balancer (`openedx-im-<id>`, in `conf.d/openedx-im-<id>.cfg`)
 * and its map file, so it must be a DNS-safe slug and must not be a name the
 * load balancer's main configuration already gives a section: HAProxy refuses
 * two backends of one name, and such a stack could never be applied.
 */

export const INSTANCE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const INSTANCE_ID_RULE = '1-63 characters of a-z, 0-9 and "-", not starting or ending with "-"';

export const LB_BACKEND_PREFIX = "openedx-im-";

/**
 * Section names of scripts/lb/haproxy.cfg.example (a test keeps this list and the
 * file in step). The frontend is included: HAProxy would accept a backend of the
 * same name, but the stats page, logs and the runtime API would show two proxies
 * under one name.
 */
export const MAIN_CONFIG_SECTION_NAMES = ["acme-http01", "openedx-im-http", "openedx-im-preliminary", "openedx-im-unknown-host"] as const;

export const DEFAULT_PRELIMINARY_BACKEND = "openedx-im-preliminary";

/** The instance's backend name on the load balancer. */
export function lbBackendName(instanceId: string): string {
  return `${LB_BACKEND_PREFIX}${instanceId}`;
}

/**
 * Problems with a stack name as an instance id, one line each, naming the stack
 * and the fix. `preliminaryBackend` is the stack's `loadBalancer.preliminaryBackend`
 * (a section of the main configuration too).
 */
export function instanceIdProblems(stack: string, preliminaryBackend: string = DEFAULT_PRELIMINARY_BACKEND): string[] {
  const rename = `choose another stack name (pulumi stack rename <name>, and rename Pulumi.${stack}.yaml to match)`;
  if (!INSTANCE_ID_PATTERN.test(stack))
    return [`stack name "${stack}": it is the instance id and must be ${INSTANCE_ID_RULE} (it names the load-balancer backend and files); ${rename}`];
  const backend = lbBackendName(stack);
  const taken = new Set<string>([...MAIN_CONFIG_SECTION_NAMES, preliminaryBackend]);
  if (taken.has(backend))
    return [
      `stack name "${stack}": the instance's load-balancer backend would be "${backend}", a section the load balancer's main configuration already has ` +
        `(reserved: ${[...taken].sort().join(", ")}; see scripts/lb/haproxy.cfg.example and openedx-im:loadBalancer.preliminaryBackend); ${rename}`,
    ];
  return [];
}
