/**
 * The real Tutor of a series (../shared/vendor/tutor, run by ../shared/tools/tutor)
 * on a project rendered by the program: config.yml and the openedx_im plugin are
 * written exactly as the wrapper writes them on a VM, then `tutor config save`
 * renders env/. Everything but Docker.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import type { TutorSeries } from "../../config/matrix/types";
import { TUTOR_PLUGIN_NAME } from "../../components/provisioners/tutor/config";

const ROOT = path.resolve(__dirname, "../..");
export const TUTOR_TOOL = path.resolve(ROOT, "../shared/tools/tutor");
export const TUTOR_VENDOR = path.resolve(ROOT, "../shared/vendor/tutor");
const PLUGIN_SOURCE = path.join(ROOT, "components/provisioners/tutor", `${TUTOR_PLUGIN_NAME}.py`);

export interface TutorProject {
  root: string;
  /** Runs the real `tutor` of the series in this project; returns stdout. */
  tutor: (...args: string[]) => string;
  /** A file under env/, as text. */
  env: (relative: string) => string;
  printvalue: (key: string) => string;
  /** The init tasks `tutor local launch` would run, rendered: what `do init` iterates. */
  initTasks: () => { service: string; script: string }[];
}

/** Writes config.yml and the plugin into a new project root (as the wrapper does) and runs `tutor config save`. */
export function tutorProject(
  series: TutorSeries,
  config: Record<string, unknown>,
  pluginData: unknown,
  options: { save?: boolean } = {},
): TutorProject {
  const root = mkdtempSync(path.join(tmpdir(), `openedx-im-tutor-${series}-`));
  mkdirSync(path.join(root, "plugins"));
  writeFileSync(path.join(root, "config.yml"), stringify(config));
  copyFileSync(PLUGIN_SOURCE, path.join(root, "plugins", `${TUTOR_PLUGIN_NAME}.py`));
  writeFileSync(path.join(root, "plugins", `${TUTOR_PLUGIN_NAME}.json`), JSON.stringify(pluginData));
  const environment = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, TUTOR_ROOT: root, TUTOR_PLUGINS_ROOT: path.join(root, "plugins") };
  const tutor = (...args: string[]) =>
    execFileSync(TUTOR_TOOL, [series, ...args], { env: environment, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const project: TutorProject = {
    root,
    tutor,
    env: (relative) => readFileSync(path.join(root, "env", relative), "utf8"),
    printvalue: (key) => tutor("config", "printvalue", key).trim(),
    initTasks: () =>
      JSON.parse(
        execFileSync("/usr/bin/python3", [path.join(ROOT, "tools/tutor-keys/init_tasks.py")], {
          env: { ...environment, PYTHONPATH: path.join(TUTOR_VENDOR, series) },
          encoding: "utf8",
        }),
      ) as { service: string; script: string }[],
  };
  if (options.save !== false) tutor("config", "save");
  return project;
}
