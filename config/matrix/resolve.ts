import { own } from "../json";
import type { ApplicationVersion, ResolvedApplication, ResolvedRelease, Stage, VersionMatrix } from "./types";

/**
 * A release named directly (the default applications), a deployment's stage, or
 * a release pinned by one of a deployment's appservers (that deployment's list
 * for the release, whichever stage runs it now).
 */
export type ReleaseChoice = { release: string } | { deployment: string; stage: Stage } | { deployment: string; release: string };

/**
 * (deployment, stage) — or a release named directly — to every application's
 * repository, ref and type. Throws with the offending name when the matrix cannot
 * answer; the stack schema checks choices beforehand so users see config errors.
 */
export function resolveRelease(matrix: VersionMatrix, choice: ReleaseChoice): ResolvedRelease {
  let releaseName: string;
  let versions: ApplicationVersion[];
  let deployment: string | undefined;
  let stage: Stage | undefined;
  if ("deployment" in choice) {
    deployment = choice.deployment;
    const stages = own(matrix.deployments, deployment);
    if (!stages) throw new Error(`unknown deployment "${deployment}" (known: ${Object.keys(matrix.deployments).join(", ")})`);
    if ("stage" in choice) {
      stage = choice.stage;
      const named = own(stages, stage);
      if (!named) throw new Error(`deployment "${deployment}" has no stage ${stage}`);
      releaseName = named;
    } else releaseName = choice.release;
    const listed = own(own(matrix.releaseMap, releaseName), deployment);
    if (!listed) throw new Error(`release "${releaseName}" has no application list for deployment "${deployment}"`);
    versions = listed;
  } else {
    releaseName = choice.release;
    versions = matrix.defaultApplications.map((application) => ({ application }));
  }
  const release = own(matrix.releases, releaseName);
  if (!release)
    throw new Error(`release "${releaseName}" is not supported (supported: ${Object.keys(matrix.releases).join(", ")})`);

  const applications: Record<string, ResolvedApplication> = {};
  for (const version of versions) {
    const app = own(matrix.applications, version.application);
    if (!app) throw new Error(`unknown application "${version.application}"`);
    applications[version.application] = {
      name: version.application,
      type: app.type,
      repository: version.originOverride ?? app.repository,
      ref: version.branchOverride ?? release.ref,
      ...(app.path ? { path: app.path } : {}),
    };
  }
  return {
    release: releaseName,
    ...(deployment ? { deployment, stage } : {}),
    ref: release.ref,
    python: release.python,
    node: release.node,
    provisioner: release.provisioner,
    ...(release.configuration ? { configuration: { ...release.configuration } } : {}),
    ...(release.tutor ? { tutor: { ...release.tutor, plugins: { ...release.tutor.plugins } } } : {}),
    applications,
  };
}

/** Every (deployment, stage) resolved, for `npm run matrix --json` and the plan diff. */
export function resolveAll(matrix: VersionMatrix): Record<string, Partial<Record<Stage, ResolvedRelease>>> {
  const result: Record<string, Partial<Record<Stage, ResolvedRelease>>> = {};
  for (const [deployment, stages] of Object.entries(matrix.deployments)) {
    result[deployment] = {};
    for (const stage of Object.keys(stages) as Stage[])
      result[deployment][stage] = resolveRelease(matrix, { deployment, stage });
  }
  return result;
}

/**
 * The release a pull request against `baseRef` is built with: the release whose
 * ref is that branch (master → master, open-release/redwood.master → redwood), or
 * whose name the branch carries (open-release/sumac.master, release/teak); undefined
 * when no release matches (the watched fork's default applies).
 */
export function releaseForBaseBranch(matrix: VersionMatrix, baseRef: string): string | undefined {
  const entries = Object.entries(matrix.releases);
  const exact = entries.find(([, release]) => release.ref === baseRef);
  if (exact) return exact[0];
  const named = /^(?:open-)?release\/([a-z]+)(?:\.master)?$/.exec(baseRef)?.[1];
  return named !== undefined && Object.hasOwn(matrix.releases, named) ? named : undefined;
}
