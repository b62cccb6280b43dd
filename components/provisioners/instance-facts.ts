import type { InstanceDomain } from "../../config/domains";

/** What a provisioner knows of the instance an appserver belongs to (a subset of `ResolvedInstance`, plus its id). */
export interface InstanceFacts {
  /** The instance id (the Pulumi stack name). */
  id: string;
  /** The human-readable name, shown as the platform's name. */
  name: string;
  domains: InstanceDomain[];
  services: { xqueue: boolean; notes: boolean; ecommerce: boolean; discovery: boolean; forum: boolean };
}
