/**
 * Writes config/ansible-variables.generated.json: the variables the Open edX
 * configuration repository's Ansible roles and playbooks define, per release, so
 * validation can warn about an extraSettings key no role reads.
 *
 *   npx tsx tools/ansible-variables/generate.ts <git dir of the configuration repository>
 *
 * The git directory can be a bare clone (`git clone --bare
 * https://github.com/openedx-unsupported/configuration.git`): files are read with
 * `git show <ref>:<path>`, nothing is checked out and nothing runs. A release's list
 * comes from its configuration ref in config/matrix/data.ts; a ref the clone lacks
 * falls back to the ref given with --fallback (the repository's last commit, after
 * Redwood), and the file says so.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { versionMatrix } from "../../config/matrix/data";
import { ANSIBLE_VARIABLES_FILE, type AnsibleVariablesFile } from "../../config/ansible-variables";

const TOP_LEVEL_KEY = /^([A-Za-z_][A-Za-z0-9_]*)\s*:/;

function git(gitDir: string, args: string[]): string {
  return execFileSync("git", ["--git-dir", gitDir, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

function resolveRef(gitDir: string, ref: string): string | undefined {
  for (const candidate of [ref, `refs/heads/${ref}`, `refs/tags/${ref}`, `origin/${ref}`]) {
    try {
      return git(gitDir, ["rev-parse", "--verify", "--quiet", `${candidate}^{commit}`]).trim();
    } catch {
      // Not this spelling.
    }
  }
  return undefined;
}

/** Top-level keys of every role's defaults/main.yml, and the `vars:` keys of every play in playbooks/*.yml. */
export function variablesAt(gitDir: string, commit: string): string[] {
  const files = git(gitDir, ["ls-tree", "-r", "--name-only", commit, "playbooks"]).split("\n");
  const names = new Set<string>();
  for (const file of files) {
    if (/^playbooks\/roles\/[^/]+\/defaults\/main\.ya?ml$/.test(file)) {
      // Keys at column 0: the defaults files hold Jinja in values, which a YAML parser reads fine but slowly;
      // a top-level key is all that is needed.
      for (const line of git(gitDir, ["show", `${commit}:${file}`]).split("\n")) {
        const match = TOP_LEVEL_KEY.exec(line);
        if (match) names.add(match[1]);
      }
    } else if (/^playbooks\/[^/]+\.ya?ml$/.test(file)) {
      let plays: unknown;
      try {
        plays = parse(git(gitDir, ["show", `${commit}:${file}`]));
      } catch {
        continue; // Not every file there is a playbook.
      }
      if (!Array.isArray(plays)) continue;
      for (const play of plays) {
        const vars = (play as { vars?: unknown } | null)?.vars;
        if (vars && typeof vars === "object" && !Array.isArray(vars)) for (const key of Object.keys(vars)) names.add(key);
      }
    }
  }
  return [...names].sort();
}

function main(argv: string[]): void {
  const fallbackAt = argv.indexOf("--fallback");
  const fallback = fallbackAt >= 0 ? argv[fallbackAt + 1] : "HEAD";
  const gitDir = argv.filter((_, i) => fallbackAt < 0 || (i !== fallbackAt && i !== fallbackAt + 1))[0];
  if (!gitDir) {
    process.stderr.write("usage: npx tsx tools/ansible-variables/generate.ts <git dir of the configuration repository> [--fallback <ref>]\n");
    process.exit(2);
  }
  const output: AnsibleVariablesFile = { generatedBy: "tools/ansible-variables/generate.ts", releases: {} };
  for (const [release, spec] of Object.entries(versionMatrix.releases)) {
    if (spec.provisioner !== "ansible" || !spec.configuration) continue;
    const wanted = spec.configuration.ref;
    const exact = resolveRef(gitDir, wanted);
    const commit = exact ?? resolveRef(gitDir, fallback);
    if (!commit) throw new Error(`${release}: neither ${wanted} nor ${fallback} is in ${gitDir}`);
    const variables = variablesAt(gitDir, commit);
    output.releases[release] = {
      ref: wanted,
      commit,
      ...(exact ? {} : { note: `${wanted} is not in the clone used; read at ${fallback} (${commit.slice(0, 9)}) instead` }),
      variables,
    };
    process.stderr.write(`${release}: ${variables.length} variables at ${commit.slice(0, 9)}${exact ? "" : " (fallback)"}\n`);
  }
  writeFileSync(path.resolve(__dirname, "../..", ANSIBLE_VARIABLES_FILE), `${JSON.stringify(output, null, 1)}\n`);
}

if (require.main === module) main(process.argv.slice(2));
