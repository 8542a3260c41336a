import type { RequestHandler } from "express";

/**
 * Response headers that keep the dashboard and the API from being framed, sniffed or leaking
 * URLs (presigned output URLs carry a signature; the page's URL may carry a job id).
 * `s3Origins` are where presigned previews, audio and MP4 video load from: the S3 endpoint
 * browsers reach. The HLS player fetches through the API itself (connect-src 'self') and feeds
 * the video element through Media Source Extensions, hence blob: for media.
 */
export function securityHeaders(s3Origins: string[]): RequestHandler {
  const origins = s3Origins.join(" ");
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${origins}`.trim(),
    `media-src 'self' blob: ${origins}`.trim(),
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return (_request, response, next) => {
    response.setHeader("content-security-policy", csp);
    response.setHeader("x-content-type-options", "nosniff");
    response.setHeader("x-frame-options", "DENY");
    response.setHeader("referrer-policy", "no-referrer");
    response.setHeader("cross-origin-opener-policy", "same-origin");
    response.setHeader("cross-origin-resource-policy", "same-origin");
    // Ignored by browsers over plain HTTP; effective once TLS terminates in front of the API.
    response.setHeader("strict-transport-security", "max-age=31536000");
    next();
  };
}

/** Where presigned URLs point: the endpoint override, or any S3 host on AWS. */
export function s3ImageOrigins(endpointUrl: string | undefined): string[] {
  if (endpointUrl) return [new URL(endpointUrl).origin];
  return ["https://*.amazonaws.com"];
}
