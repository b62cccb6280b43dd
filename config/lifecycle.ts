/**
 * What each lifecycle means when the stack does not say otherwise. Explicit
 * configuration always wins over these.
 */
export interface LifecycleDefaults {
  databases: "ephemeral" | "persistent";
  flavor: string;
  /** A newly built appserver takes traffic as soon as it is healthy. */
  autoActivate: boolean;
  /** Data resources stay behind on destroy (archive semantics). */
  retainOnDelete: boolean;
  protect: boolean;
  appServerCount: number;
  /**
   * Sandboxes come by the hundred: they share their base domain's wildcard certificate (Let's Encrypt
   * allows 50 new certificates per registered domain per week) when their names are one label under
   * it (domains.style: dash, as generated sandboxes have). A production instance has its own.
   */
  certificate: "shared-wildcard" | "instance";
}

export const LIFECYCLE_DEFAULTS: Record<"sandbox" | "production", LifecycleDefaults> = {
  sandbox: {
    databases: "ephemeral",
    flavor: "m1.large",
    autoActivate: true,
    retainOnDelete: false,
    protect: false,
    appServerCount: 1,
    certificate: "shared-wildcard",
  },
  production: {
    databases: "persistent",
    flavor: "m1.xlarge",
    autoActivate: false,
    retainOnDelete: true,
    protect: true,
    appServerCount: 1,
    certificate: "instance",
  },
};

/** The newest release the Ansible provisioner builds; used when a stack names no release. */
export const DEFAULT_RELEASE = "redwood";

export const DEFAULT_DNS_TTL = 1200;

export const DEFAULT_SUBDOMAIN_BLACKLIST = ["www", "mail", "smtp", "lb", "haproxy", "admin", "api", "ns1", "ns2"];
