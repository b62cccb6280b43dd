import { renameSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { isMap, isSeq, parseDocument, type Document, type YAMLMap } from "yaml";
import { isPlainObject } from "../config/json";
import { INSTANCE_KEY, validateStackConfig } from "../config/stack-config";
import { PROJECT_ROOT, readProject } from "../config/stack-file";

/**
 * What "redeploy" means for a production stack: production appservers are frozen, so
 * a new release (or the release's new refs from the version matrix) reaches a site
 * only as a NEW appserver entry in its stack file, built beside the active one and
 * activated unless told not to. This file makes that change: the new entry copies the
 * active entry's settings (extraSettings, flavor, image, appServerCount) with the
 * target release and a new id; the file keeps its comments and layout (yaml's
 * Document API) and is replaced atomically; the result is validated before it is
 * written. The operator commits it: the change is reviewed like any other.
 */

export interface NewAppServer {
  stack: string;
  file: string;
  id: string;
  release: string;
  /** The entry the settings were copied from. */
  copiedFrom: string;
  activated: boolean;
}

export class NewAppServerError extends Error {}

/** `a<YYYYMMDD>`, then `a<YYYYMMDD>b`, `…c` when taken (ids are 1-16 lowercase letters or digits). */
export function newAppServerId(date: Date, taken: ReadonlySet<string>): string {
  const base = `a${date.toISOString().slice(0, 10).replaceAll("-", "")}`;
  if (!taken.has(base)) return base;
  for (const suffix of "bcdefghijklmnopqrstuvwxyz") if (!taken.has(base + suffix)) return base + suffix;
  throw new NewAppServerError(`every id from ${base} to ${base}z is taken`);
}

/**
 * The stack file's text with a new appserver entry added (and activated unless
 * `activate` is false). Throws NewAppServerError naming the stack and the fix.
 */
export function addAppServerToText(
  stack: string,
  text: string,
  options: { release?: string; activate: boolean; date: Date; root?: string },
): { text: string; entry: Omit<NewAppServer, "file"> } {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length) throw new NewAppServerError(`${stack}: not valid YAML (${doc.errors[0].message.split("\n")[0]})`);
  const instance = instanceNode(doc, stack);
  const lifecycle = instance.get("lifecycle");
  if (lifecycle !== "production") throw new NewAppServerError(`${stack}: not a production stack (lifecycle: ${String(lifecycle)}); a sandbox is redeployed as its file says`);
  const entries = instance.get("appServers");
  if (!isSeq(entries) || entries.items.length === 0)
    throw new NewAppServerError(`${stack}: has no appServers entry to copy settings from; add the first appserver by hand`);
  const values = entries.toJSON() as Array<Record<string, unknown>>;
  const activeId = instance.get("activeAppServer");
  const source = values.find((e) => e.id === activeId) ?? values[values.length - 1];
  for (const key of ["edxPlatform", "configuration"] as const) {
    const pinned = source[key];
    if (isPlainObject(pinned) && pinned.ref !== undefined)
      throw new NewAppServerError(
        `${stack}: appserver ${String(source.id)} pins ${key}.ref; a new entry would keep the old code. Add the entry by hand with the ref to deploy`,
      );
  }
  const release = options.release ?? (typeof source.release === "string" ? source.release : undefined);
  if (release === undefined) throw new NewAppServerError(`${stack}: appserver ${String(source.id)} names no release; give --release`);
  const id = newAppServerId(options.date, new Set(values.map((e) => String(e.id))));
  const { id: _oldId, release: _oldRelease, ...settings } = source;
  entries.add(doc.createNode({ id, release, ...settings }));
  if (options.activate) instance.set("activeAppServer", id);

  const newText = doc.toString({ flowCollectionPadding: false });
  checkStackText(stack, newText, options.root);
  return { text: newText, entry: { stack, id, release, copiedFrom: String(source.id), activated: options.activate } };
}

function instanceNode(doc: Document, stack: string): YAMLMap {
  const config = doc.get("config");
  const instance = isMap(config) ? config.get(INSTANCE_KEY) : undefined;
  if (!isMap(instance)) throw new NewAppServerError(`${stack}: no config.${INSTANCE_KEY} mapping`);
  return instance;
}

/** The edited file must still be a valid stack: the same check the program makes. */
function checkStackText(stack: string, text: string, root = PROJECT_ROOT): void {
  const { project, values } = readProject(root);
  const config = (parseDocument(text).toJS() as { config?: Record<string, unknown> }).config ?? {};
  for (const [key, value] of Object.entries(config)) values[key.includes(":") ? key : `${project}:${key}`] = value;
  const result = validateStackConfig(values);
  if (!result.ok) throw new NewAppServerError(`${stack}: the new entry would make the stack invalid: ${result.problems.join("; ")}`);
}

/** Adds the entry to `Pulumi.<stack>.yaml` in `root`: temporary file beside it, then rename. */
export function addAppServer(stack: string, options: { release?: string; activate: boolean; date: Date; root?: string }): NewAppServer {
  const root = options.root ?? PROJECT_ROOT;
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const { text, entry } = addAppServerToText(stack, readFileSync(file, "utf8"), { ...options, root });
  const temporary = path.join(root, `.Pulumi.${stack}.yaml.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text, { flag: "wx" });
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
  return { ...entry, file };
}
