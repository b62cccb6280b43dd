import { own } from "../json";
import { STAGES, type VersionMatrix } from "./types";

/** A pinned version: a release number, or a commit of a project's main branch (the nightly). */
const EXACT_VERSION = /^([0-9]+\.[0-9]+\.[0-9]+|main@[0-9a-f]{7,40})$/;

/** The plugins a Tutor-built instance cannot do without: the MFEs (the learner UI) and the forum. */
export const REQUIRED_TUTOR_PLUGINS = ["mfe", "forum"] as const;

export interface MatrixReport {
  /** Problems that make the matrix unusable: every (deployment, stage) must resolve. */
  errors: string[];
  /** Facts worth acting on that break nothing, such as a release no deployment uses. */
  notices: string[];
}

/** Checks the whole matrix and reports every problem at once, each naming what is wrong. */
export function checkMatrix(matrix: VersionMatrix): MatrixReport {
  const errors: string[] = [];
  const notices: string[] = [];
  const releaseNames = Object.keys(matrix.releases);
  const known = (release: string) => Object.hasOwn(matrix.releases, release);

  for (const [name, release] of Object.entries(matrix.releases)) {
    if (release.provisioner === "ansible" && !release.configuration)
      errors.push(`releases.${name}: provisioner "ansible" needs a configuration repository, ref and playbook`);
    if (release.provisioner === "tutor") {
      if (!release.tutor) errors.push(`releases.${name}: provisioner "tutor" needs tutor: { version, series, plugins }`);
      else {
        for (const [what, version] of [["tutor", release.tutor.version], ...Object.entries(release.tutor.plugins)])
          if (!EXACT_VERSION.test(version))
            errors.push(`releases.${name}.tutor: ${what} "${version}" is not an exact version (1.2.3, or main@<commit> for the nightly)`);
        for (const plugin of REQUIRED_TUTOR_PLUGINS)
          if (!Object.hasOwn(release.tutor.plugins, plugin))
            errors.push(`releases.${name}.tutor.plugins: "${plugin}" is missing (every Tutor-built instance needs ${REQUIRED_TUTOR_PLUGINS.join(" and ")})`);
      }
    }
    if (release.provisioner === "ansible" && release.tutor) errors.push(`releases.${name}: tutor is set but the provisioner is "ansible"`);
  }

  for (const [name, app] of Object.entries(matrix.applications)) {
    if (app.type === "MFE" && !app.path?.startsWith("/"))
      errors.push(`applications.${name}: an MFE needs a path starting with "/" (where it is served)`);
  }

  const used = new Set<string>();
  for (const [deployment, stages] of Object.entries(matrix.deployments)) {
    for (const stage of STAGES) {
      const release = stages[stage];
      if (release === undefined) {
        errors.push(`deployments.${deployment}: stage ${stage} is missing (every deployment maps ${STAGES.join(", ")})`);
        continue;
      }
      if (!known(release)) {
        errors.push(
          `deployments.${deployment}.${stage}: release "${release}" is not supported (supported: ${releaseNames.join(", ")})`,
        );
        continue;
      }
      used.add(release);
      if (!own(own(matrix.releaseMap, release), deployment))
        errors.push(
          `deployments.${deployment}.${stage}: release "${release}" has no application list for "${deployment}" (add releaseMap.${release}.${deployment})`,
        );
    }
    for (const stage of Object.keys(stages))
      if (!(STAGES as readonly string[]).includes(stage))
        errors.push(`deployments.${deployment}.${stage}: unknown stage (stages are ${STAGES.join(", ")})`);
  }

  for (const [release, byDeployment] of Object.entries(matrix.releaseMap)) {
    if (!known(release))
      errors.push(`releaseMap.${release}: release "${release}" is not supported (supported: ${releaseNames.join(", ")})`);
    for (const [deployment, versions] of Object.entries(byDeployment)) {
      if (!Object.hasOwn(matrix.deployments, deployment))
        errors.push(`releaseMap.${release}.${deployment}: unknown deployment`);
      const seen = new Set<string>();
      for (const version of versions) {
        const where = `releaseMap.${release}.${deployment}`;
        if (!Object.hasOwn(matrix.applications, version.application))
          errors.push(`${where}: unknown application "${version.application}" (known: ${Object.keys(matrix.applications).join(", ")})`);
        if (seen.has(version.application)) errors.push(`${where}: application "${version.application}" is listed twice`);
        seen.add(version.application);
      }
      if (!seen.has("edx-platform")) errors.push(`releaseMap.${release}.${deployment}: edx-platform is missing`);
    }
  }

  for (const name of matrix.defaultApplications)
    if (!Object.hasOwn(matrix.applications, name))
      errors.push(`defaultApplications: unknown application "${name}"`);

  for (const release of releaseNames)
    if (!used.has(release) && !matrix.releases[release].pullRequestTarget)
      notices.push(`release "${release}" is supported but no deployment stage uses it; retire it if no stack names it`);

  return { errors, notices };
}
