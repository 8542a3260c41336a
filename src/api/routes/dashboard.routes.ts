import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Router, type Response } from "express";
import { DASHBOARD_CSS, DASHBOARD_HTML } from "../dashboard/dashboard-page.ts";
import { DASHBOARD_SCRIPT } from "../dashboard/dashboard-script.ts";

/**
 * The dashboard page, its assets, and hls.js for its video player — from the npm package (a
 * production dependency, so it is in the image), served by the app, never from a CDN. Public
 * like any login page: they hold no data, and every call they make goes to /api with the
 * token the operator types in.
 */
export function dashboardRoutes(): Router {
  const router = Router();
  const serve = (contentType: string, body: () => string) => (_request: unknown, response: Response) => {
    // no-cache: revalidate each load, so a deploy's new script is picked up at once.
    response.setHeader("cache-control", "no-cache");
    response.type(contentType).send(body());
  };
  router.get(
    "/",
    serve("text/html; charset=utf-8", () => DASHBOARD_HTML),
  );
  router.get(
    "/dashboard/dashboard.js",
    serve("text/javascript; charset=utf-8", () => DASHBOARD_SCRIPT),
  );
  router.get(
    "/dashboard/dashboard.css",
    serve("text/css; charset=utf-8", () => DASHBOARD_CSS),
  );
  router.get("/dashboard/vendor/hls.light.min.js", serve("text/javascript; charset=utf-8", hlsScript));
  return router;
}

let hlsSource: string | undefined;

/** Read once, on first use; the source-map comment goes (the map is not served). */
function hlsScript(): string {
  hlsSource ??= readFileSync(createRequire(import.meta.url).resolve("hls.js/dist/hls.light.min.js"), "utf8").replace(
    /\n\/\/# sourceMappingURL=.*\s*$/,
    "\n",
  );
  return hlsSource;
}
