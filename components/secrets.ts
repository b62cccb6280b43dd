/**
 * Every generated secret of an instance: database and broker passwords, Django
 * secret keys and the JWT signing key pair. They come from resources, so they
 * are made once, kept in the (encrypted) state and never typed into config.
 * Every value this component hands out is a secret Output.
 */
import { createHash, createPrivateKey, type JsonWebKey } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { ServiceFlags } from "../config/names";

/**
 * The only special characters generated passwords and keys contain. They are
 * RFC 3986 "unreserved" (never percent-encoded in a broker or database URL) and
 * carry no meaning in YAML, a shell word or a MySQL/MongoDB connection string.
 * RandomPassword's default set (`@ : # ? / { [ * &` ...) breaks all of those.
 */
export const SAFE_SPECIAL_CHARACTERS = "-_";

export const PASSWORD_LENGTH = 32;
/** Django's SECRET_KEY and friends: 50+ characters is what Django's own check asks for. */
export const SECRET_KEY_LENGTH = 64;
/** edx-platform signs with RS512 by default; the key must be RSA. */
export const JWT_SIGNING_ALGORITHM = "RS512";
export const JWT_RSA_BITS = 2048;

/**
 * The instance's secret keys, named as the configuration repository's variables
 * (the names predate the Tutor path and name the resources, so they stay); which
 * ones depends on the services it runs.
 */
export function secretKeyNames(services: ServiceFlags): string[] {
  const names = ["EDXAPP_EDXAPP_SECRET_KEY", "EDXAPP_JWT_SECRET_KEY", "EDXAPP_EDX_API_KEY", "EDXAPP_PROFILE_IMAGE_HASH_SEED", "FORUM_API_KEY"];
  if (services.notes) names.push("EDX_NOTES_API_SECRET_KEY");
  if (services.ecommerce) names.push("ECOMMERCE_SECRET_KEY");
  if (services.discovery) names.push("DISCOVERY_SECRET_KEY");
  return names;
}

export interface SecretsArgs {
  /** Logical names of the passwords to generate, e.g. "mysql-edxapp", "rabbit-provider". */
  passwordNames: string[];
  /** Ansible variable names of the Django-style secret keys to generate, e.g. EDXAPP_EDXAPP_SECRET_KEY. */
  secretKeyNames: string[];
}

export interface JwtSigningKeys {
  /** The private JWK, as the JSON string EDXAPP_JWT_PRIVATE_SIGNING_JWK expects. */
  privateJwk: pulumi.Output<string | undefined>;
  /** `{"keys": [<public JWK>]}`, as EDXAPP_JWT_PUBLIC_SIGNING_JWK_SET expects. */
  publicJwkSet: pulumi.Output<string | undefined>;
  /** The same key as a PEM, which Tutor takes (JWT_RSA_PRIVATE_KEY) and derives its JWKs from. */
  privateKeyPem: pulumi.Output<string>;
  algorithm: string;
}

export class Secrets extends pulumi.ComponentResource {
  private readonly passwords = new Map<string, pulumi.Output<string>>();
  private readonly secretKeys = new Map<string, pulumi.Output<string>>();
  public readonly jwt: JwtSigningKeys;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:Secrets", name, {}, opts);

    for (const passwordName of unique(args.passwordNames, "passwordNames")) {
      const password = new random.RandomPassword(
        `${name}-password-${passwordName}`,
        { length: PASSWORD_LENGTH, special: true, overrideSpecial: SAFE_SPECIAL_CHARACTERS, minLower: 1, minUpper: 1, minNumeric: 1 },
        { parent: this },
      );
      // The provider marks `result` secret in the engine; saying it here keeps it secret under mocks and in the plan too.
      this.passwords.set(passwordName, pulumi.secret(password.result));
    }

    for (const keyName of unique(args.secretKeyNames, "secretKeyNames")) {
      const key = new random.RandomPassword(
        `${name}-key-${keyName.toLowerCase().replace(/_/g, "-")}`,
        { length: SECRET_KEY_LENGTH, special: true, overrideSpecial: SAFE_SPECIAL_CHARACTERS },
        { parent: this },
      );
      this.secretKeys.set(keyName, pulumi.secret(key.result));
    }

    // ECDSA would default to P224, which JWT libraries refuse; RSA is what edx-platform's RS512 needs.
    const signingKey = new tls.PrivateKey(`${name}-jwt-signing-key`, { algorithm: "RSA", rsaBits: JWT_RSA_BITS }, { parent: this });
    const jwks = pulumi.secret(signingKey.privateKeyPem).apply((pem) =>
      // The real provider always returns the PEM; only a mock that does not simulate tls leaves it empty.
      pem ? jwksFromRsaPem(pem) : undefined,
    );
    this.jwt = {
      privateJwk: pulumi.secret(jwks.apply((pair) => pair?.privateJwk)),
      publicJwkSet: pulumi.secret(jwks.apply((pair) => pair?.publicJwkSet)),
      privateKeyPem: pulumi.secret(signingKey.privateKeyPem),
      algorithm: JWT_SIGNING_ALGORITHM,
    };

    this.registerOutputs({});
  }

  /** A generated password (secret). Throws for a name not asked for in `passwordNames`. */
  password(passwordName: string): pulumi.Output<string> {
    const value = this.passwords.get(passwordName);
    if (!value) throw new Error(`Secrets: no password "${passwordName}" was generated (known: ${[...this.passwords.keys()].join(", ")})`);
    return value;
  }

  /** A generated secret key (secret). Throws for a name not asked for in `secretKeyNames`. */
  secretKey(keyName: string): pulumi.Output<string> {
    const value = this.secretKeys.get(keyName);
    if (!value) throw new Error(`Secrets: no secret key "${keyName}" was generated (known: ${[...this.secretKeys.keys()].join(", ")})`);
    return value;
  }
}

function unique(names: string[], field: string): string[] {
  const seen = new Set<string>();
  for (const name of names) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`Secrets.${field}: "${name}" must be letters, digits, _ or -`);
    if (seen.has(name)) throw new Error(`Secrets.${field}: "${name}" is listed twice`);
    seen.add(name);
  }
  return [...seen];
}

/**
 * The JWT signing pair in the shape edx-platform reads: the private JWK (with
 * its CRT parameters) and a public key set holding the matching public key.
 * The key id is the RFC 7638 thumbprint of the public key, so it is stable for
 * a key and changes exactly when the key does.
 */
export function jwksFromRsaPem(pem: string): { privateJwk: string; publicJwkSet: string; kid: string } {
  let jwk: JsonWebKey;
  try {
    jwk = createPrivateKey(pem).export({ format: "jwk" });
  } catch (error) {
    throw new Error(`JWT signing key: not a PEM private key (${(error as Error).message.split("\n")[0]})`);
  }
  if (jwk.kty !== "RSA" || !jwk.n || !jwk.e || !jwk.d)
    throw new Error(`JWT signing key: must be an RSA private key for ${JWT_SIGNING_ALGORITHM} (got ${jwk.kty ?? "unknown"})`);
  const kid = createHash("sha256")
    .update(JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n }))
    .digest("base64url");
  const privateJwk = { kid, kty: "RSA", e: jwk.e, n: jwk.n, d: jwk.d, p: jwk.p, q: jwk.q, dp: jwk.dp, dq: jwk.dq, qi: jwk.qi };
  const publicJwk = { kid, kty: "RSA", e: jwk.e, n: jwk.n };
  return { privateJwk: JSON.stringify(privateJwk), publicJwkSet: JSON.stringify({ keys: [publicJwk] }), kid };
}
