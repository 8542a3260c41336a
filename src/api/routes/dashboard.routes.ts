import { Router, type Response } from "express";
import { DASHBOARD_CSS, DASHBOARD_HTML } from "../dashboard/dashboard-page.ts";
import { DASHBOARD_SCRIPT } from "../dashboard/dashboard-script.ts";

/**
 * The dashboard page and its two assets. Public like any login page: they hold no data, and
 * every call they make goes to /api with the token the operator types in.
 */
export function dashboardRoutes(): Router {
  const router = Router();
  const serve = (contentType: string, body: string) => (_request: unknown, response: Response) => {
    // no-cache: revalidate each load, so a deploy's new script is picked up at once.
    response.setHeader("cache-control", "no-cache");
    response.type(contentType).send(body);
  };
  router.get("/", serve("text/html; charset=utf-8", DASHBOARD_HTML));
  router.get("/dashboard/dashboard.js", serve("text/javascript; charset=utf-8", DASHBOARD_SCRIPT));
  router.get("/dashboard/dashboard.css", serve("text/css; charset=utf-8", DASHBOARD_CSS));
  return router;
}
