/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a secret `whsec_<base64>`, whose
 * decoded bytes key an HMAC-SHA256 over `${id}.${timestamp}.${body}`; the header carries
 * `v1,<base64 signature>`, several separated by spaces (during a rotation: the new secret's and
 * the previous one's, so a receiver that has not switched yet still verifies).
 *
 *   webhook-id: msg_2b1c…   webhook-timestamp: 1764662400   webhook-signature: v1,K5oZ…=
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A fresh secret: 24 random bytes, base64, with the `whsec_` prefix. */
export const newWebhookSecret = (): string => `${PREFIX}${randomBytes(24).toString('base64')}`;

/** `v1,<base64 HMAC-SHA256(secret bytes, id.timestamp.body)>`. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}
