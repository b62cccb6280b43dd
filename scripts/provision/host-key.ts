/**
 * The VM's SSH host key, pinned: the public half the program generated (and
 * handed to the VM through cloud-init) becomes the run's only known_hosts line.
 */

/** Key types the pin may name; the program generates ED25519. */
const KEY_TYPES = new Set(["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]);

export interface HostPublicKey {
  type: string;
  base64: string;
}

/** Parses an OpenSSH public key line (`ssh-ed25519 AAAA... [comment]`); undefined when it is not one. */
export function parseHostPublicKey(text: string): HostPublicKey | undefined {
  const match = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,2})(?: [^\n]*)?\n?$/.exec(text.trim());
  if (!match || !KEY_TYPES.has(match[1])) return undefined;
  // The key blob starts with its own type name: a key pasted under the wrong type is refused.
  const blob = Buffer.from(match[2], "base64");
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (length <= 0 || blob.subarray(4, 4 + length).toString("latin1") !== match[1]) return undefined;
  return { type: match[1], base64: match[2] };
}

/** The known_hosts line that pins `key` for `host` on `port` (OpenSSH writes `[host]:port` off port 22). */
export function knownHostsLine(host: string, port: number, key: HostPublicKey): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${key.type} ${key.base64}\n`;
}
