/**
 * Compute Engine failures as GtErrors: missing credentials name the three ways to set them up;
 * a refusal (403), a quota, a failed operation and an unknown instance each get their own code
 * and the fix. The client's error is kept as `cause`.
 */
import { GtError, errorMessage } from '../../proto/index.js';
import type { InstanceRef } from './compute.js';

const ADC_WAYS =
  'set up Application Default Credentials in one of three ways: `gcloud auth application-default login` (your own account), ' +
  'a service-account key file named by GOOGLE_APPLICATION_CREDENTIALS, or run this on a Google Cloud VM whose service account may use Compute Engine (the metadata server)';

export function noCredentials(cause?: unknown): GtError {
  return new GtError(
    'GT_GCP_CREDENTIALS',
    `no Google Cloud credentials found${cause === undefined ? '' : ` (${errorMessage(cause).split('\n')[0]})`}`,
    { hint: ADC_WAYS, cause },
  );
}

function where(ref: InstanceRef): string {
  return ref.instance === ''
    ? `${ref.project}/${ref.zone}`
    : `${ref.project}/${ref.zone}/${ref.instance}`;
}

/** gRPC status codes google-gax puts on its errors (HTTP statuses are mapped onto them). */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const PERMISSION_DENIED = 7;
const RESOURCE_EXHAUSTED = 8;
const UNAUTHENTICATED = 16;

/** HTTP statuses of the REST API, as google-gax's own codes (gaxios throws with the status). */
const FROM_HTTP: Record<number, number> = {
  401: UNAUTHENTICATED,
  403: PERMISSION_DENIED,
  404: NOT_FOUND,
  409: ALREADY_EXISTS,
  429: RESOURCE_EXHAUSTED,
};

interface RestError {
  code: number | undefined;
  message: string;
  reasons: string[];
}

/** The code, message and reasons of a client error, whichever layer threw it. */
function restError(err: unknown): RestError {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  const status = Number(e.status ?? e.response?.status);
  let message = errorMessage(err);
  let reasons: string[] = [];
  try {
    const body = JSON.parse(message) as {
      error?: { message?: string; errors?: Array<{ reason?: string }> };
    };
    message = body.error?.message ?? message;
    reasons = (body.error?.errors ?? []).map((x) => x.reason ?? '');
  } catch {
    // not a JSON body: the message as it is
  }
  // gaxios errors carry the HTTP status (and that status as `code`); google-gax's a gRPC code.
  const code = Number.isFinite(status)
    ? FROM_HTTP[status]
    : typeof e.code === 'number'
      ? e.code
      : undefined;
  return { code, message: message.split('\n')[0] ?? '', reasons };
}

/** A failed call of the Compute API (`what`: get, create, delete, start, stop, list, wait for). */
export function gcpApiError(err: unknown, what: string, ref: InstanceRef): GtError {
  if (err instanceof GtError) return err;
  const { code, message: msg, reasons } = restError(err);
  const quota = reasons.some((r) => /quota|rateLimit/i.test(r));
  const at = where(ref);
  if (code === UNAUTHENTICATED)
    return new GtError('GT_GCP_CREDENTIALS', `Compute Engine refused our credentials: ${msg}`, {
      hint: ADC_WAYS,
      cause: err,
    });
  if (code === RESOURCE_EXHAUSTED || quota)
    return new GtError('GT_GCP_QUOTA', `cannot ${what} instance ${at}: quota exceeded (${msg})`, {
      hint: `free quota in ${ref.project} (stop or delete instances) or ask for more: Cloud console → IAM & Admin → Quotas`,
      cause: err,
    });
  if (code === PERMISSION_DENIED)
    return new GtError('GT_GCP_DENIED', `not allowed to ${what} instance ${at}: ${msg}`, {
      hint: `give the account in use the Compute Instance Admin role (roles/compute.instanceAdmin.v1) on project ${ref.project}, and check that the Compute Engine API is enabled there`,
      cause: err,
    });
  if (code === NOT_FOUND)
    return new GtError('GT_NOT_FOUND', `instance ${at} was not found: ${msg}`, {
      hint: 'check PROJECT/ZONE/INSTANCE (`gcloud compute instances list`), or add --create to create it',
      cause: err,
    });
  if (code === ALREADY_EXISTS)
    return new GtError('GT_ALREADY_EXISTS', `instance ${at} already exists`, {
      hint: 'leave out --create to use the existing instance, or pick another instance name',
      cause: err,
    });
  return new GtError('GT_GCP_FAILED', `cannot ${what} instance ${at}: ${msg}`, {
    hint: 'check the network path to the Compute API and the project, then retry',
    cause: err,
  });
}

/** A zone operation that ended with errors (a create over quota, no capacity in the zone, …). */
export function operationFailed(
  ref: InstanceRef,
  operation: string,
  errors: Array<{ code?: string | null; message?: string | null }>,
  httpMessage: string,
): GtError {
  const text =
    errors.map((e) => `${e.code ?? 'ERROR'}: ${e.message ?? ''}`).join('; ') || httpMessage;
  const quota = errors.some((e) => /QUOTA/.test(e.code ?? ''));
  return new GtError(
    quota ? 'GT_GCP_QUOTA' : 'GT_GCP_FAILED',
    `operation ${operation} on instance ${where(ref)} failed: ${text}`,
    {
      hint: quota
        ? `free quota in ${ref.project} (stop or delete instances) or ask for more: Cloud console → IAM & Admin → Quotas`
        : 'fix what the operation names (another zone or machine type when the zone has no capacity) and retry',
      details: { operation, errors: errors.map((e) => e.code ?? '') },
    },
  );
}

/** The instance is not running: the machine is shown as stopped. */
export function instanceStopped(name: string, ref: InstanceRef, status: string): GtError {
  return new GtError(
    'GT_MACHINE_STOPPED',
    `machine "${name}" is stopped (instance ${where(ref)} is ${status})`,
    { hint: `start it with \`gt machine start ${name}\`` },
  );
}
