import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";

/**
 * SSRF rules for webhook URLs: a webhook is a request our network makes to an address someone
 * configured, so it must not reach what only our network can (cloud metadata at 169.254.169.254,
 * localhost, the cluster's private ranges). Checked twice: the URL when the config loads
 * (scheme, credentials, a literal IP), and every address the name resolves to at delivery time,
 * inside the connection's own DNS lookup, so a name that resolves elsewhere between the check
 * and the connect (DNS rebinding) is refused too. Redirects are never followed (delivery.ts).
 */
export interface TargetPolicy {
  /** http:// allowed (WEBHOOK_ALLOW_HTTP); otherwise https only. */
  allowHttp: boolean;
  /** Loopback, private, link-local and other non-public targets allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS). */
  allowPrivate: boolean;
}

const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  blocked.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["2001:db8::", 32], // documentation
  ["64:ff9b::", 96], // NAT64 embeds IPv4: judged by the embedded address below
] as const)
  blocked.addSubnet(network, prefix, "ipv6");

/** True for an address a webhook may not reach without WEBHOOK_ALLOW_PRIVATE_TARGETS. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d or ::ffff:7f00:1) is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return isNonPublicAddress(mapped[1]!);
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mappedHex) {
    const high = parseInt(mappedHex[1]!, 16);
    const low = parseInt(mappedHex[2]!, 16);
    return isNonPublicAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  return blocked.check(address, "ipv6");
}

/** Why `url` may not be a webhook target, or undefined. Names are resolved later, at delivery. */
export function urlProblem(url: string, policy: TargetPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not a URL";
  }
  if (parsed.protocol !== "https:" && !(policy.allowHttp && parsed.protocol === "http:"))
    return policy.allowHttp ? "only http and https URLs" : "only https URLs (WEBHOOK_ALLOW_HTTP allows http)";
  if (parsed.username || parsed.password) return "no credentials in the URL (the signature authenticates us)";
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (!policy.allowPrivate) {
    if (isIP(host) && isNonPublicAddress(host))
      return `${host} is not a public address (WEBHOOK_ALLOW_PRIVATE_TARGETS allows it)`;
    if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal") || host.endsWith(".local"))
      return `${host} is not a public name`;
  }
  return undefined;
}

export class BlockedTargetError extends Error {
  readonly code = "webhook-target-blocked";
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that refuses a name resolving to any non-public address. */
export function guardedLookup(policy: TargetPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true } as { all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      const bad = policy.allowPrivate ? undefined : list.find((entry) => isNonPublicAddress(entry.address));
      if (bad)
        return callback(
          Object.assign(new BlockedTargetError(`${hostname} resolves to ${bad.address}, not a public address`), {
            errno: 0,
          }) as NodeJS.ErrnoException,
          [],
        );
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), []);
      callback(null, first.address, first.family);
    });
  };
}
