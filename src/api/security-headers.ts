import type { RequestHandler } from "express";

/**
 * Response headers that keep the dashboard and the API from being framed, sniffed or leaking
 * URLs (presigned output URLs carry a signature; the page's URL may carry a job id).
 * `imageOrigins` are where presigned previews load from: the S3 endpoint.
 */
export function securityHeaders(imageOrigins: string[]): RequestHandler {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${imageOrigins.join(" ")}`.trim(),
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
