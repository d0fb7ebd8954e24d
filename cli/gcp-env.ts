/**
 * Where gt reaches Compute Engine: compute.googleapis.com, or the endpoint in GT_GCP_ENDPOINT
 * (`http(s)://host:port`: a private endpoint, or a local one in tests).
 */
import { GtError } from '../proto/index.js';

export function gcpEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.GT_GCP_ENDPOINT ?? '';
  if (value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new GtError('GT_USAGE', `GT_GCP_ENDPOINT=${value} is not an http(s) URL`, {
      hint: 'set it to e.g. https://compute.example.internal:443, or unset it to use compute.googleapis.com',
    });
  return value;
}
