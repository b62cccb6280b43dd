import type { VersionMatrix } from "./types";

const OPENEDX = "https://github.com/openedx";
const MITODL = "https://github.com/mitodl";

/**
 * Which Open edX release each deployment runs at each stage, and which repositories
 * and branches each deployment builds its applications from.
 *
 * To move a stage to a new release: add the release to `releases` (if new), point
 * the stage at it in `deployments`, and give `releaseMap[<release>][<deployment>]`
 * the applications that deployment runs. `npm run matrix` shows the result; the
 * checks in check.ts run in the tests and at every program start.
 */
export const versionMatrix: VersionMatrix = {
  releases: {
    quince: {
      ref: "open-release/quince.master",
      python: "3.8",
      node: "18",
      provisioner: "ansible",
      configuration: {
        repository: `${OPENEDX}/configuration.git`,
        ref: "open-release/quince.master",
        playbook: "openedx_native.yml",
      },
    },
    redwood: {
      ref: "open-release/redwood.master",
      python: "3.11",
      node: "18",
      provisioner: "ansible",
      configuration: {
        // The configuration repository was archived after Redwood; this is its last home.
        repository: "https://github.com/openedx-unsupported/configuration.git",
        ref: "open-release/redwood.master",
        playbook: "openedx_native.yml",
      },
    },
    // Tutor releases: `ref` is the tag Tutor's published `openedx` image of that version is built from
    // (its OPENEDX_COMMON_VERSION); plugins are the ones every instance needs (docs/tutor.md).
    sumac: {
      ref: "open-release/sumac.3",
      python: "3.11",
      node: "20",
      provisioner: "tutor",
      tutor: { version: "19.0.5", series: "sumac", plugins: { mfe: "19.0.0", forum: "19.0.0" }, imageRef: "open-release/sumac.3" },
    },
    teak: {
      ref: "release/teak.3",
      python: "3.11",
      node: "20",
      provisioner: "tutor",
      tutor: { version: "20.0.5", series: "teak", plugins: { mfe: "20.1.0", forum: "20.0.0" }, imageRef: "release/teak.3" },
    },
    ulmo: {
      ref: "release/ulmo.3",
      python: "3.12",
      node: "20",
      provisioner: "tutor",
      tutor: { version: "21.0.8", series: "ulmo", plugins: { mfe: "21.0.0", forum: "21.0.0" }, imageRef: "release/ulmo.3" },
    },
    // What every edx-platform pull request targets: Tutor's nightly (its main branch), pinned to a commit,
    // and an image built on the VM from master (there is no published image to match a moving branch).
    master: {
      ref: "master",
      python: "3.12",
      node: "20",
      provisioner: "tutor",
      pullRequestTarget: true,
      tutor: { version: "main@6f32dee8", series: "main", plugins: { mfe: "main@15b3d7a", forum: "main@ca1bb98" } },
    },
  },

  applications: {
    "edx-platform": { type: "IDA", repository: `${OPENEDX}/edx-platform.git` },
    forum: { type: "IDA", repository: `${OPENEDX}/cs_comments_service.git` },
    notes: { type: "IDA", repository: `${OPENEDX}/edx-notes-api.git` },
    xqueue: { type: "IDA", repository: `${OPENEDX}/xqueue.git` },
    codejail: { type: "IDA", repository: `${OPENEDX}/codejail-service.git` },
    ecommerce: { type: "IDA", repository: `${OPENEDX}/ecommerce.git` },
    discovery: { type: "IDA", repository: `${OPENEDX}/course-discovery.git` },
    "learning-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-learning.git`, path: "/learning" },
    "authn-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-authn.git`, path: "/authn" },
    "account-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-account.git`, path: "/account" },
    "profile-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-profile.git`, path: "/profile" },
    "learner-dashboard-mfe": {
      type: "MFE",
      repository: `${OPENEDX}/frontend-app-learner-dashboard.git`,
      path: "/learner-dashboard",
    },
    "gradebook-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-gradebook.git`, path: "/gradebook" },
    "ora-grading-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-ora-grading.git`, path: "/ora-grading" },
    "authoring-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-authoring.git`, path: "/authoring" },
    "discussions-mfe": { type: "MFE", repository: `${OPENEDX}/frontend-app-discussions.git`, path: "/discussions" },
  },

  deployments: {
    mitx: { CI: "redwood", QA: "quince", Production: "quince" },
    "mitx-staging": { CI: "redwood", QA: "quince", Production: "quince" },
    xpro: { CI: "quince", QA: "quince", Production: "quince" },
    mitxonline: { CI: "ulmo", QA: "teak", Production: "teak" },
  },

  releaseMap: {
    quince: {
      mitx: [
        { application: "edx-platform", branchOverride: "mitx/quince", originOverride: `${MITODL}/edx-platform.git` },
        { application: "forum" },
        { application: "notes" },
        { application: "xqueue" },
        { application: "codejail" },
        { application: "learning-mfe" },
        { application: "authn-mfe" },
        { application: "account-mfe" },
        { application: "gradebook-mfe" },
        { application: "ora-grading-mfe" },
        { application: "authoring-mfe" },
      ],
      "mitx-staging": [
        { application: "edx-platform", branchOverride: "mitx/quince", originOverride: `${MITODL}/edx-platform.git` },
        { application: "forum" },
        { application: "notes" },
        { application: "xqueue" },
        { application: "learning-mfe" },
        { application: "authn-mfe" },
        { application: "account-mfe" },
        { application: "authoring-mfe" },
      ],
      xpro: [
        { application: "edx-platform", branchOverride: "xpro/quince", originOverride: `${MITODL}/edx-platform.git` },
        { application: "forum" },
        { application: "notes" },
        { application: "ecommerce" },
        { application: "discovery" },
        { application: "learning-mfe" },
        { application: "authn-mfe" },
        { application: "account-mfe" },
        { application: "profile-mfe" },
      ],
    },
    redwood: {
      mitx: [
        { application: "edx-platform", branchOverride: "mitx/redwood", originOverride: `${MITODL}/edx-platform.git` },
        { application: "forum" },
        { application: "notes" },
        { application: "xqueue" },
        { application: "codejail" },
        { application: "learning-mfe" },
        { application: "authn-mfe" },
        { application: "account-mfe" },
        { application: "gradebook-mfe" },
        { application: "ora-grading-mfe" },
        { application: "authoring-mfe" },
        { application: "learner-dashboard-mfe" },
      ],
      "mitx-staging": [
        { application: "edx-platform", branchOverride: "mitx/redwood", originOverride: `${MITODL}/edx-platform.git` },
        { application: "forum" },
        { application: "notes" },
        { application: "xqueue" },
        { application: "learning-mfe" },
        { application: "authn-mfe" },
        { application: "account-mfe" },
        { application: "authoring-mfe" },
      ],
    },
    teak: {
      mitxonline: [
        { application: "edx-platform", branchOverride: "master", originOverride: `${MITODL}/edx-platform.git` },
        { application: "forum" },
        { application: "notes" },
        { application: "learning-mfe" },
        { application: "authn-mfe" },
        { application: "account-mfe" },
        { application: "learner-dashboard-mfe" },
        { application: "discussions-mfe" },
      ],
    },
    ulmo: {
      mitxonline: [
        { application: "edx-platform", branchOverride: "master", originOverride: `${MITODL}/edx-platform.git` },
        { application: "forum" },
        { application: "notes" },
        { application: "learning-mfe" },
        { application: "authn-mfe" },
        { application: "account-mfe" },
        { application: "learner-dashboard-mfe" },
        { application: "discussions-mfe" },
      ],
    },
  },

  defaultApplications: [
    "edx-platform",
    "forum",
    "notes",
    "xqueue",
    "learning-mfe",
    "authn-mfe",
    "account-mfe",
    "profile-mfe",
    "learner-dashboard-mfe",
    "authoring-mfe",
  ],
};
