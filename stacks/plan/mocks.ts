import { checkPrimeSync, createECDH, createHash, createPrivateKey, createPublicKey } from "node:crypto";

/**
 * The cloud's answers for the offline plan: what a provider would return after
 * creating a resource, for the outputs the program reads back (VM addresses,
 * generated values, keys). Deterministic, so two renders of the same stack are
 * byte-identical; values a real provider would keep secret are marked secret by
 * the SDK (additionalSecretOutputs) and print as "[secret]".
 */
export function mockResourceState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const digest = (salt: string) => createHash("sha256").update(`${type}\0${name}\0${salt}`).digest();
  switch (type) {
    case "openstack:compute/instance:Instance": {
      const d = digest("address");
      return {
        ...inputs,
        accessIpV4: `10.${d[0]}.${d[1]}.${(d[2] % 250) + 2}`,
        accessIpV6: `fd00:${d.readUInt16BE(3).toString(16)}::${d.readUInt16BE(5).toString(16)}`,
      };
    }
    case "openstack:networking/secGroup:SecGroup":
      return { ...inputs, id: `${name}-id` };
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString": {
      const length = typeof inputs.length === "number" ? inputs.length : 32;
      return { ...inputs, result: digest("result").toString("base64url").repeat(4).slice(0, length) };
    }
    case "random:index/randomBytes:RandomBytes": {
      const length = typeof inputs.length === "number" ? inputs.length : 32;
      const bytes = Buffer.concat([digest("1"), digest("2"), digest("3"), digest("4")]).subarray(0, length);
      return { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    case "random:index/randomId:RandomId": {
      const bytes = digest("id").subarray(0, typeof inputs.byteLength === "number" ? inputs.byteLength : 8);
      return { ...inputs, hex: bytes.toString("hex"), b64Url: bytes.toString("base64url"), dec: BigInt(`0x${bytes.toString("hex")}`).toString() };
    }
    case "tls:index/privateKey:PrivateKey":
      if (inputs.algorithm === "ED25519") return { ...inputs, ...mockEd25519Key(digest("ed25519")) };
      return { ...inputs, ...mockPrivateKey(inputs.algorithm === "ECDSA" ? "ECDSA" : "RSA") };
    default:
      return { ...inputs };
  }
}

interface MockKey {
  privateKeyPem: string;
  privateKeyPemPkcs8: string;
  publicKeyPem: string;
  privateKeyOpenssh: string;
  publicKeyOpenssh: string;
  publicKeyFingerprintSha256: string;
}

const keyCache = new Map<string, MockKey>();

/**
 * A key pair for the plan, derived from a fixed seed so that public halves (which
 * appear in plans, e.g. a JWK set) are the same on every machine. Never used to
 * sign anything: real keys come from the tls provider at deploy time.
 */
function mockPrivateKey(algorithm: "RSA" | "ECDSA"): MockKey {
  const cached = keyCache.get(algorithm);
  if (cached) return cached;
  const privateKey =
    algorithm === "RSA"
      ? createPrivateKey({ key: seededRsaJwk("openedx-im offline plan"), format: "jwk" })
      : createPrivateKey({ key: seededP256Jwk("openedx-im offline plan"), format: "jwk" });
  const publicKey = createPublicKey(privateKey);
  const sshPublic = publicKey.export({ format: "jwk" });
  const key: MockKey = {
    privateKeyPem: privateKey.export({ format: "pem", type: algorithm === "RSA" ? "pkcs1" : "sec1" }).toString(),
    privateKeyPemPkcs8: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    privateKeyOpenssh: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKeyOpenssh: `mock-${algorithm.toLowerCase()} ${Buffer.from(JSON.stringify(sshPublic)).toString("base64")}`,
    publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(JSON.stringify(sshPublic)).digest("base64")}`,
  };
  keyCache.set(algorithm, key);
  return key;
}

/**
 * An ED25519 key from a 32-byte seed (cheap, so one per resource name): a real
 * OpenSSH public key line, so the plan shows what the VM's host key pin looks like.
 */
function mockEd25519Key(seed: Buffer): MockKey {
  // PKCS#8 wrapping of a raw ED25519 seed (RFC 8410).
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed.subarray(0, 32)]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const sshString = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]);
  const pkcs8 = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  return {
    privateKeyPem: pkcs8,
    privateKeyPemPkcs8: pkcs8,
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    privateKeyOpenssh: pkcs8,
    publicKeyOpenssh: `ssh-ed25519 ${blob.toString("base64")}\n`,
    publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

/** A counter-mode SHA-256 stream: the seeded randomness for the mock keys. */
function seededBytes(seed: string, length: number, counter: { n: number }): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < length) {
    const chunk = createHash("sha256").update(`${seed}:${counter.n++}`).digest();
    chunks.push(chunk);
    total += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, length);
}

const toBigInt = (bytes: Buffer) => BigInt(`0x${bytes.toString("hex")}`);
const toBase64Url = (value: bigint) => {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, "hex").toString("base64url");
};

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

/** Odd primes below 2,000: trial division rejects most candidates before the costlier test. */
const SMALL_PRIMES: bigint[] = (() => {
  const primes: bigint[] = [];
  for (let n = 3; n < 2000; n += 2) if (primes.every((p) => BigInt(n) % p !== 0n)) primes.push(BigInt(n));
  return primes;
})();

function seededPrime(bits: number, seed: string, counter: { n: number }, e: bigint): bigint {
  for (;;) {
    let candidate = toBigInt(seededBytes(seed, bits / 8, counter));
    candidate |= (1n << BigInt(bits - 1)) | (1n << BigInt(bits - 2)) | 1n;
    // The candidates are seeded; the primality test is OpenSSL's (native, and fast enough to run per process).
    if (SMALL_PRIMES.some((p) => candidate % p === 0n)) continue;
    if ((candidate - 1n) % e !== 0n && checkPrimeSync(candidate)) return candidate;
  }
}

function seededRsaJwk(seed: string) {
  const counter = { n: 0 };
  const e = 65537n;
  const p = seededPrime(1024, seed, counter, e);
  let q = seededPrime(1024, seed, counter, e);
  while (q === p) q = seededPrime(1024, seed, counter, e);
  const n = p * q;
  const d = modInverse(e, (p - 1n) * (q - 1n));
  return {
    kty: "RSA",
    n: toBase64Url(n),
    e: toBase64Url(e),
    d: toBase64Url(d),
    p: toBase64Url(p),
    q: toBase64Url(q),
    dp: toBase64Url(d % (p - 1n)),
    dq: toBase64Url(d % (q - 1n)),
    qi: toBase64Url(modInverse(q, p)),
  };
}

function seededP256Jwk(seed: string) {
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(createHash("sha256").update(seed).digest());
  const point = ecdh.getPublicKey();
  return {
    kty: "EC",
    crv: "P-256",
    d: ecdh.getPrivateKey().toString("base64url"),
    x: point.subarray(1, 33).toString("base64url"),
    y: point.subarray(33, 65).toString("base64url"),
  };
}
