// Numbers, times and amounts in the same words as the scripts (services/revert_messages.py):
// the revert messages are rendered from the same templates, so these must format alike.
// tests/webapp/test_agreement.py checks them against Python.

const WEI_PER_ETHER = 10n ** 18n;

/** `2n` → "2 votes" / `1n` → "1 vote". */
export function plural(count: bigint | number, noun: string): string {
  return `${count} ${BigInt(count) === 1n ? noun : `${noun}s`}`;
}

/** `10n ** 16n` → "0.01 ETH": exact, no floating point. */
export function formatEther(wei: bigint): string {
  const negative = wei < 0n;
  const abs = negative ? -wei : wei;
  const whole = abs / WEI_PER_ETHER;
  const fraction = (abs % WEI_PER_ETHER).toString().padStart(18, "0").replace(/0+$/, "");
  const text = fraction ? `${whole}.${fraction}` : `${whole}`;
  return `${negative ? "-" : ""}${text} ETH`;
}

/** A Unix timestamp as "2026-11-24 00:43:05 UTC". */
export function formatUtc(timestamp: bigint | number): string {
  const date = new Date(Number(timestamp) * 1000);
  if (Number.isNaN(date.getTime())) throw new RangeError(`timestamp ${timestamp} is out of range`);
  return date.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
}

/** A length of time in at most two units: "45 s", "4 min 59 s", "2 h 5 min", "3 days 4 h". */
export function formatDuration(seconds: bigint | number): string {
  let rest = BigInt(seconds);
  if (rest < 0n) rest = -rest;
  const units: [string, bigint][] = [
    ["day", 86_400n],
    ["h", 3_600n],
    ["min", 60n],
    ["s", 1n],
  ];
  const parts: string[] = [];
  for (const [name, size] of units) {
    const amount = rest / size;
    rest %= size;
    if (amount && parts.length < 2) {
      parts.push(`${amount} ${name === "day" && amount !== 1n ? "days" : name}`);
    } else if (parts.length) {
      break;
    }
  }
  return parts.join(" ") || "0 s";
}

/** "in 12 min", "3 h 2 min ago" or "now", relative to chain time `now`. */
export function formatRelative(timestamp: bigint | number, now: bigint | number): string {
  const delta = BigInt(timestamp) - BigInt(now);
  if (delta === 0n) return "now";
  return delta > 0n ? `in ${formatDuration(delta)}` : `${formatDuration(delta)} ago`;
}

/** "2026-11-24 10:00:00 UTC (in 12 min)"; the relative part only when `now` is known. */
export function formatWhen(timestamp: bigint | number, now: bigint | number | null): string {
  const text = formatUtc(timestamp);
  return now === null ? text : `${text} (${formatRelative(timestamp, now)})`;
}

/** "0x1234…cdef": an address short enough for a table cell (the full one goes in a title). */
export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}
