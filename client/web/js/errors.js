// The one error type of the browser client. It carries a code, which the
// pages translate (i18n "errors.<code>"), and the few values the message
// needs. It crosses the worker boundary as a plain {code, params} payload.

// Codes a page may show; anything else is reported as "internal".
const CODES = new Set([
  "bad_link",
  "cancelled",
  "code_invalid",
  "code_unsafe",
  "downloads_invalid",
  "expiry_invalid",
  "file_changed",
  "file_invalid",
  "file_too_large",
  "file_unreadable",
  "internal",
  "manifest_too_large",
  "message_invalid",
  "network",
  "no_files",
  "no_service_worker",
  "path_invalid",
  "runtime_failed",
  "runtime_timeout",
  "server",
  "server_limit",
  "share_too_large",
  "storage_full",
  "tampered",
  "too_many_files",
  "unauthorized",
  "unavailable",
  "wrong_code",
  // The account area (account-ops.js, box-ops.js).
  "activation_failed",
  "box_closed",
  "box_invalid",
  "cannot_open",
  "conflict",
  "deposit_too_large",
  "fingerprint_mismatch",
  "forbidden",
  "kdf_unsafe",
  "login_failed",
  "no_recipient",
  "not_found",
  "passphrase_invalid",
  "passphrase_mismatch",
  "quota_full",
  "rate_limited",
  "record_damaged",
  "recovery_failed",
  "request_incomplete",
  "session_expired",
  "suite_unsupported",
  "suite_unsupported_reply",
]);

export class SealpostError extends Error {
  constructor(code, params = {}) {
    const known = CODES.has(code) ? code : "internal";
    super(known);
    this.name = "SealpostError";
    this.code = known;
    this.params = params;
  }
}

// What travels from the worker to the page. Only our own errors keep their
// code; anything else is a bug, reported as "internal" with its description
// (Python and JS messages of our code never hold secrets).
export function toErrorPayload(error) {
  if (error instanceof SealpostError) {
    return { code: error.code, params: { ...error.params } };
  }
  return { code: "internal", params: { detail: describe(error) } };
}

export function fromErrorPayload(payload) {
  const code = payload && typeof payload.code === "string" ? payload.code : "";
  return new SealpostError(code, (payload && payload.params) || {});
}

// Any thrown value as a SealpostError (pages catch everything through this).
export function asSealpostError(error) {
  if (error instanceof SealpostError) return error;
  return fromErrorPayload(toErrorPayload(error));
}

export function describe(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
