/**
 * One definition of "a key that names a secret", and of a Pulumi secret in a
 * stack file. Used by the validation of an operator's extraSettings (a secret
 * must be set with `pulumi config set --secret`) and by the generator's policy
 * for pull requests (which may not set one at all).
 */
import { isPlainObject } from "./json";

/** Matched against a key name at any depth, case-insensitive. */
export const SECRET_NAME_PATTERN = /PASSWORD|PASSWD|SECRET|PRIVATE_KEY|JWK|API_KEY|ACCESS_KEY|CREDENTIAL|(^|_)TOKEN($|_)|(^|_)SALTS?($|_)/i;

export function namesSecret(key: string): boolean {
  return SECRET_NAME_PATTERN.test(key);
}

/** A value as `pulumi config set --secret` writes it into a stack file: `{secure: <ciphertext>}`. */
export function isSecureValue(value: unknown): value is { secure: string } {
  return isPlainObject(value) && Object.keys(value).length === 1 && typeof value.secure === "string";
}

/**
 * A secret setting after validation: the program turns it into a Pulumi secret.
 * It prints as "[secret]" in JSON (so digests and plans never hold the value) and
 * keeps the value in a private field that inspection does not show.
 */
export class SecretSetting {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return "[secret]";
  }

  toString(): string {
    return "[secret]";
  }
}

/** A path as `pulumi config set --path` reads it: `key.a.b[0]`, and `["odd.key"]` for keys that are not plain names. */
export function configPath(key: string, parts: (string | number)[]): string {
  return (
    key +
    parts.map((part) => (typeof part === "number" ? `[${part}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`)).join("")
  );
}

/**
 * Plain-text values that sit at or under a key naming a secret, as problems:
 * each names the full path and the exact command that stores it encrypted.
 * Strings only: `ENABLE_PASSWORD_RESET: true` or `PASSWORD_MIN_LENGTH: 8` are settings, not secrets.
 */
export function plainSecretProblems(root: string, settings: unknown, at: (string | number)[]): string[] {
  const problems: string[] = [];
  const walk = (value: unknown, path: (string | number)[], named: boolean) => {
    if (isSecureValue(value)) return;
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, [...path, index], named));
    else if (isPlainObject(value)) for (const [key, child] of Object.entries(value)) walk(child, [...path, key], named || namesSecret(key));
    else if (named && typeof value === "string") {
      const full = configPath(root, path);
      problems.push(
        `${full}: names a secret but is plain text (it would show in plans, state and logs); ` +
          `set it encrypted with: pulumi config set --secret --path '${full}' <value>`,
      );
    }
  };
  walk(settings, at, false);
  return problems;
}

/** `{secure: value}` leaves turned into SecretSetting, everything else copied as it is. */
export function withSecretSettings(value: unknown): unknown {
  if (isSecureValue(value)) return new SecretSetting(value.secure);
  if (Array.isArray(value)) return value.map(withSecretSettings);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSecretSettings(v)]));
  return value;
}
