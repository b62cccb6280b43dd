/**
 * Tutor's `config.yml` for one appserver, and the data of the program's own Tutor
 * plugin (`openedx_im`: Django settings as patches, init tasks to skip). Pure: no
 * resource is created here, so every rule has a plain unit test, and
 * test/tutor-config.test.ts renders the result with the real Tutor of each series
 * and checks what Open edX will read.
 *
 * The values are generic (`T`), so secrets may be `pulumi.Output`s: each stays
 * secret per key and the plan shows "[secret]" only where it must.
 */
import type { ResolvedRelease, TutorRelease } from "../../../config/matrix/types";
import { tutorConfigKeys } from "../../../config/tutor/settings";
import type { DomainRole } from "../../../config/domains";
import type { InstanceFacts } from "../instance-facts";

/**
 * The port Caddy, Tutor's web server, listens on at the VM (docker-compose maps
 * `CADDY_HTTP_PORT:80`): the load-balancer fragment sends traffic here, and the
 * wrapper checks `tutor config printvalue CADDY_HTTP_PORT` against it on the VM.
 */
export const TUTOR_HTTP_PORT = 80;

/** The program's own Tutor plugin: a constant Python file plus a JSON data file (openedx_im.py). */
export const TUTOR_PLUGIN_NAME = "openedx_im";

/** Where Django reads the patches: after Tutor's own production settings of each service. */
export const DJANGO_PATCHES = { lms: "openedx-lms-production-settings", cms: "openedx-cms-production-settings" } as const;

/** The instance's MySQL database and the one user Tutor migrates and serves with. */
export interface TutorMysql<T> {
  host: string;
  port: number;
  database: T;
  user: T;
  password: T;
}

export interface TutorMongo<T> {
  hosts: string[];
  port: number;
  database: string;
  forumDatabase: string;
  user: T;
  password: T;
  useTls: boolean;
  authSource?: string;
  replicaSet?: string;
}

/** Persistent: the instance's shared servers. Ephemeral: Tutor's own MySQL and MongoDB containers on the VM. */
export type TutorDatabases<T> =
  | { kind: "persistent"; mysql: TutorMysql<T>; mongo: TutorMongo<T> }
  | { kind: "ephemeral"; mysqlPassword: T; mysqlRootPassword: T };

/** The instance's generated secrets Tutor needs, and a derivation for the few Tutor-only ones. */
export interface TutorSecrets<T> {
  /** Django's SECRET_KEY. */
  secretKey: T;
  /** The JWT signing key as a PEM (Tutor derives the JWKs from it). */
  jwtPrivateKeyPem: T;
  /** The shared JWT secret (HS256 tokens of older clients). */
  jwtSecretKey: T;
  /**
   * A stable secret of the given shape for `name`, derived from the instance's
   * secrets, so Tutor's own keys (the Studio SSO client secret, Meilisearch's
   * master key, the project id) are the same on every appserver and Tutor
   * generates nothing.
   */
  derive: (name: string, shape: "token" | "uuid") => T;
}

export interface TutorConfigInput<T> {
  instance: InstanceFacts;
  lifecycle: "sandbox" | "production";
  appServerId: string;
  release: ResolvedRelease;
  databases: TutorDatabases<T>;
  secrets: TutorSecrets<T>;
  /** Tutor config keys, checked at the edge (config/tutor/settings.ts); the highest layer. */
  extraSettings: Record<string, unknown>;
  /** Django settings for the LMS and Studio, merged into Tutor's (mappings key by key). */
  djangoSettings?: { lms?: Record<string, unknown>; cms?: Record<string, unknown> };
}

/** How the `openedx` image is obtained: Tutor's published one, or built on the VM from a repository and ref. */
export type TutorImage = { build: false } | { build: true; repository: string; ref: string; tag: string };

export interface TutorAppServer<T> {
  tutor: TutorRelease;
  /** Enabled plugins, in the order of `PLUGINS`. */
  plugins: string[];
  /** config.yml. */
  config: Record<string, T | unknown>;
  /** openedx_im.json, read by the plugin on the VM: patches by name, init tasks to skip by service. */
  pluginData: { patches: Record<string, string>; skipInitTasks: string[] };
  image: TutorImage;
  port: number;
}

/** Characters Tutor would read as template syntax or that break its quoted YAML/Python (config/tutor/settings.ts). */
const UNSAFE_IN_TUTOR = /[{}"\\\u0000-\u001f\u007f]/g;

/** Free text from the instance (its name, possibly a pull request's title) as an inert Tutor value. */
export function inertText(text: string): string {
  return text.replace(UNSAFE_IN_TUTOR, "").trim() || "Open edX";
}

function domainOf(instance: InstanceFacts, role: DomainRole): string {
  const found = instance.domains.find((domain) => domain.role === role);
  if (!found) throw new Error(`domains: no "${role}" domain; deriveDomains() always gives lms, studio, preview and mfe`);
  return found.fqdn;
}

/**
 * Settings every Tutor appserver's LMS and Studio get. HAProxy, then Caddy on the
 * VM, stand between a client and Django: each appends the address it saw to
 * X-Forwarded-For, so the client is the second from the right.
 */
export function builtInDjangoSettings(): Record<string, unknown> {
  return {
    // Sessions in the database survive the switch from one appserver to the next (Redis is per VM).
    SESSION_ENGINE: "django.contrib.sessions.backends.cached_db",
    CLOSEST_CLIENT_IP_FROM_HEADERS: [{ name: "X-Forwarded-For", index: -2 }],
    REST_FRAMEWORK: { NUM_PROXIES: 2 },
  };
}

/**
 * The image: Tutor's published one when edx-platform is the release's own
 * repository at the ref that image is built from; otherwise (a fork, a pull
 * request's head commit, a deployment's branch, master) built on the VM.
 */
export function tutorImage(release: ResolvedRelease, tutor: TutorRelease, appServerId: string): TutorImage {
  const platform = release.applications["edx-platform"];
  if (!platform) throw new Error(`release ${release.release}: no edx-platform application to build`);
  const published =
    tutor.imageRef !== undefined &&
    platform.ref === tutor.imageRef &&
    /^https:\/\/github\.com\/openedx\/(edx-platform|openedx-platform)(\.git)?$/.test(platform.repository);
  if (published) return { build: false };
  return { build: true, repository: platform.repository, ref: platform.ref, tag: `openedx-im/openedx:${appServerId}` };
}

/** Everything Tutor needs for one appserver; throws for a release Tutor does not build. */
export function renderTutorAppServer<T>(input: TutorConfigInput<T>): TutorAppServer<T> {
  const { release, instance, secrets } = input;
  const tutor = release.tutor;
  if (release.provisioner !== "tutor" || !tutor)
    throw new Error(`release "${release.release}": provisioner is "${release.provisioner}"; Tutor config is only rendered for releases Tutor builds`);
  const keys = tutorConfigKeys(tutor.series);
  const plugins = [...Object.keys(tutor.plugins), TUTOR_PLUGIN_NAME];
  const image = tutorImage(release, tutor, input.appServerId);

  const config: Record<string, T | unknown> = {
    PLATFORM_NAME: inertText(instance.name),
    LMS_HOST: domainOf(instance, "lms"),
    CMS_HOST: domainOf(instance, "studio"),
    MFE_HOST: domainOf(instance, "mfe"),
    // Sumac still serves the preview on a host of its own; later series preview in the learning MFE.
    ...(keys.has("PREVIEW_LMS_HOST") ? { PREVIEW_LMS_HOST: domainOf(instance, "preview") } : {}),
    // TLS ends at the load balancer: Caddy serves plain HTTP on the port the fragment uses, trusts the
    // balancer's X-Forwarded-* headers, and Open edX builds https:// URLs.
    ENABLE_HTTPS: true,
    ENABLE_WEB_PROXY: false,
    CADDY_HTTP_PORT: TUTOR_HTTP_PORT,
    PLUGINS: plugins,
    // Plugins come from the version matrix, installed by pip at exact versions; no index is consulted.
    PLUGIN_INDEXES: [],
    OPENEDX_SECRET_KEY: secrets.secretKey,
    JWT_RSA_PRIVATE_KEY: secrets.jwtPrivateKeyPem,
    JWT_COMMON_SECRET_KEY: secrets.jwtSecretKey,
    CMS_OAUTH2_SECRET: secrets.derive("CMS_OAUTH2_SECRET", "token"),
    ID: secrets.derive("ID", "token"),
    MEILISEARCH_MASTER_KEY: secrets.derive("MEILISEARCH_MASTER_KEY", "token"),
    MEILISEARCH_API_KEY_UID: secrets.derive("MEILISEARCH_API_KEY_UID", "uuid"),
    ...(image.build
      ? { EDX_PLATFORM_REPOSITORY: image.repository, EDX_PLATFORM_VERSION: image.ref, DOCKER_IMAGE_OPENEDX: image.tag }
      : {}),
    ...databaseConfig(input.databases),
  };
  for (const [key, value] of Object.entries(input.extraSettings)) config[key] = value;

  const forumDatabase = input.databases.kind === "persistent" ? { FORUM_MONGODB_DATABASE: input.databases.mongo.forumDatabase } : {};
  const lms = { ...builtInDjangoSettings(), ...forumDatabase, ...(input.djangoSettings?.lms ?? {}) };
  const cms = { ...builtInDjangoSettings(), ...forumDatabase, ...(input.djangoSettings?.cms ?? {}) };
  return {
    tutor,
    plugins,
    config,
    pluginData: {
      patches: { [DJANGO_PATCHES.lms]: djangoSettingsPatch(lms), [DJANGO_PATCHES.cms]: djangoSettingsPatch(cms) },
      // Tutor's MySQL init creates the database and user as root; on a shared server they exist, scoped, already.
      skipInitTasks: input.databases.kind === "persistent" ? ["mysql"] : [],
    },
    image,
    port: TUTOR_HTTP_PORT,
  };
}

function databaseConfig<T>(databases: TutorDatabases<T>): Record<string, T | unknown> {
  if (databases.kind === "ephemeral")
    return {
      RUN_MYSQL: true,
      RUN_MONGODB: true,
      OPENEDX_MYSQL_PASSWORD: databases.mysqlPassword,
      MYSQL_ROOT_PASSWORD: databases.mysqlRootPassword,
    };
  const { mysql, mongo } = databases;
  return {
    RUN_MYSQL: false,
    MYSQL_HOST: mysql.host,
    MYSQL_PORT: mysql.port,
    OPENEDX_MYSQL_DATABASE: mysql.database,
    OPENEDX_MYSQL_USERNAME: mysql.user,
    OPENEDX_MYSQL_PASSWORD: mysql.password,
    // No step runs as root (the mysql init task is skipped); should one appear, it gets the scoped user, not root.
    MYSQL_ROOT_USERNAME: mysql.user,
    MYSQL_ROOT_PASSWORD: mysql.password,
    RUN_MONGODB: false,
    // pymongo reads "host1,host2" as a seed list, each with MONGODB_PORT.
    MONGODB_HOST: mongo.hosts.join(","),
    MONGODB_PORT: mongo.port,
    MONGODB_DATABASE: mongo.database,
    MONGODB_USERNAME: mongo.user,
    MONGODB_PASSWORD: mongo.password,
    MONGODB_USE_SSL: mongo.useTls,
    MONGODB_AUTH_SOURCE: mongo.authSource ?? "admin",
    MONGODB_REPLICA_SET: mongo.replicaSet ?? "",
  };
}

/**
 * Python that merges `settings` into the Django settings module it is pasted
 * into: a mapping merges key by key into a mapping of the same name (FEATURES,
 * REST_FRAMEWORK), anything else replaces. The settings travel as one JSON
 * string literal in which `{`, `}` and `%` are \u-escaped, and the code around
 * it has none of them, so the text holds no Jinja syntax: Tutor renders patches
 * as templates, and this one renders to itself.
 */
export function djangoSettingsPatch(settings: Record<string, unknown>): string {
  const json = JSON.stringify(JSON.stringify(settings)).replace(/[{}%]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return [
    "# openedx-im: Django settings of this appserver (data from the stack), merged into the settings above",
    "import json as _openedx_im_json",
    "def _openedx_im_merge(target, value):",
    "    for key, item in value.items():",
    "        if isinstance(target.get(key), dict) and isinstance(item, dict):",
    "            _openedx_im_merge(target[key], item)",
    "        else:",
    "            target[key] = item",
    `for _openedx_im_name, _openedx_im_value in _openedx_im_json.loads(${json}).items():`,
    "    if isinstance(globals().get(_openedx_im_name), dict) and isinstance(_openedx_im_value, dict):",
    "        _openedx_im_merge(globals()[_openedx_im_name], _openedx_im_value)",
    "    else:",
    "        globals()[_openedx_im_name] = _openedx_im_value",
  ].join("\n");
}
