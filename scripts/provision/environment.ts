/**
 * The environment the wrapper's children (git, python -m venv, pip, ssh,
 * ssh-agent, ansible-playbook) run with: an allowlist, never the environment of
 * `pulumi up`, which holds the deploy credentials (OS_*, GANDI_*, PULUMI_*, ...).
 */

type Env = Record<string, string | undefined>;

/** Passed on to every child: where programs are, the user's home, locale, time zone, temp dir, proxies. */
const ALWAYS = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  // A site's own certificate authority, for git and pip behind an intercepting proxy.
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
]);

/** Only for pip: a site's package index or mirror. */
export const PIP_ONLY = ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT"] as const;

export interface ChildEnvironmentOptions {
  /**
   * Pass the operator's SSH agent on. Only when the request carries no key:
   * with a key, the wrapper's own agent (holding that key alone) is used.
   */
  operatorSshAgent: boolean;
}

/** The allowlisted part of `env`, plus the wrapper's fixed settings. */
export function childEnvironment(env: Env, options: ChildEnvironmentOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (ALWAYS.has(name) || name.startsWith("LC_") || (options.operatorSshAgent && name === "SSH_AUTH_SOCK")) out[name] = value;
  }
  out.LC_ALL = env.LC_ALL ?? "C.UTF-8";
  out.GIT_TERMINAL_PROMPT = "0";
  return out;
}

/** The pip settings of `env`, to add to the environment of the pip step only. */
export function pipEnvironment(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PIP_ONLY) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
