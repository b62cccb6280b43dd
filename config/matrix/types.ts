/** The shapes of the version matrix: data in data.ts, checks in check.ts, the resolver in resolve.ts. */

export const STAGES = ["CI", "QA", "Production"] as const;
export type Stage = (typeof STAGES)[number];

/** How an appserver of a release is built: the configuration repository's playbooks, or Tutor. */
export type Provisioner = "ansible" | "tutor";

export interface SupportedRelease {
  /** The git ref every application of the release is cut at, e.g. `open-release/redwood.master`. */
  ref: string;
  python: string;
  node: string;
  provisioner: Provisioner;
  /** The configuration repository and ref, for releases the Ansible provisioner builds. */
  configuration?: { repository: string; ref: string; playbook: string };
  /** Pull requests target this release's branch: sandboxes use it even when no deployment does. */
  pullRequestTarget?: boolean;
  /** Tutor and its plugins at exact versions, for releases Tutor builds. */
  tutor?: TutorRelease;
}

/** The vendored Tutor series whose config keys a release's Tutor defines (config/tutor/keys.ts). */
export const TUTOR_SERIES = ["sumac", "teak", "ulmo", "main"] as const;
export type TutorSeries = (typeof TUTOR_SERIES)[number];

/**
 * What `pip install` puts on an appserver: Tutor and each plugin at an exact
 * version (`19.0.5`) or, for the nightly that tracks master, a git commit
 * (`main@6f32dee8`, installed from the project's repository).
 */
export interface TutorRelease {
  version: string;
  series: TutorSeries;
  /** Plugin name (as Tutor enables it) → exact version. */
  plugins: Record<string, string>;
  /**
   * The Open edX ref the published `openedx` image of this Tutor version is
   * built from; an appserver whose edx-platform is another repository or ref
   * builds its own image on the VM.
   */
  imageRef?: string;
}

export type ApplicationType = "IDA" | "MFE";

export interface Application {
  type: ApplicationType;
  repository: string;
  /** Where an MFE is served on the MFE domain, e.g. `/learning`. */
  path?: string;
}

export interface ApplicationVersion {
  application: string;
  branchOverride?: string;
  originOverride?: string;
}

export interface VersionMatrix {
  releases: Record<string, SupportedRelease>;
  applications: Record<string, Application>;
  /** deployment → stage → release name. */
  deployments: Record<string, Partial<Record<Stage, string>>>;
  /** release → deployment → the applications that deployment runs at that release. */
  releaseMap: Record<string, Record<string, ApplicationVersion[]>>;
  /** The applications an instance runs when it names a release but no deployment. */
  defaultApplications: string[];
}

export interface ResolvedApplication {
  name: string;
  type: ApplicationType;
  repository: string;
  ref: string;
  path?: string;
}

/** A release as one (deployment, stage) or stack gets it: its facts and every application resolved. */
export interface ResolvedRelease extends SupportedRelease {
  release: string;
  /** Set when the release came from a deployment. */
  deployment?: string;
  stage?: Stage;
  applications: Record<string, ResolvedApplication>;
}
