/**
 * The data the generator works on, independent of GitHub's wire format: the
 * GitHub layer maps API objects to these, everything after it is pure.
 */

export interface PullRequestSummary {
  number: number;
  state: "open" | "closed";
  title: string;
  author: string;
  body: string;
  /** owner/name of the repository the branch lives in; null when that fork was deleted. */
  headRepository: string | null;
  headCloneUrl: string | null;
  headRef: string;
  headSha: string;
  /** The branch the pull request targets, e.g. master. */
  baseRef: string;
  closedAt: string | null;
  updatedAt: string;
}

export type Databases = "ephemeral" | "persistent";

/** One stack's instance object, as written under `openedx-im:instance`. Key order is the file's order. */
export interface SandboxInstanceConfig {
  name: string;
  subDomain: string;
  baseDomain: string;
  lifecycle: "sandbox";
  /** Always dash: every name one label under the base domain, covered by its shared wildcard certificate. */
  domains: { style: "dash" };
  release?: string;
  edxPlatform: { repository: string; ref: string };
  configuration?: { repository?: string; ref?: string; playbook?: string };
  databases: Databases;
  /** Persistent databases only: the server they live on, written once and kept (placement.ts). */
  mysqlServer?: string;
  /** The operator's fork defaults (config/watched-forks.yaml): trusted. */
  extraSettings: Record<string, unknown>;
  /** The pull request's Settings: variables above extraSettings, never trusted. Absent when empty. */
  pullRequestSettings?: Record<string, unknown>;
  source: { pullRequest: number; repository: string; author: string };
}

/** The outcome for one pull request: a config to write, or the one-line problems that stop it. */
export type PullRequestOutcome =
  | { kind: "stack"; config: SandboxInstanceConfig }
  | { kind: "invalid"; problems: string[] };
