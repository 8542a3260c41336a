import { DASHBOARD_CORE } from "./dashboard-core.ts";
import { DASHBOARD_FLEET } from "./dashboard-fleet.ts";
import { DASHBOARD_JOBS } from "./dashboard-jobs.ts";

/**
 * The console's browser script (plain JavaScript, served as /dashboard/dashboard.js): the parts
 * in dashboard-core.ts, -fleet.ts and -jobs.ts share one function scope, wired up here. Kept
 * as text for the reason given in dashboard-page.ts; no part may contain a backtick or a
 * dollar-brace (tests/api/api-config.test.ts compiles the whole). The DOM is built with
 * createElement and textContent only, never innerHTML: object keys and error messages come
 * from uploaders.
 */
const WIRING = `
  // ---- token ------------------------------------------------------------------------------
  function askForToken(message) {
    // A poll still under way when the token was refused answers 401 too: keep the refusal's message.
    var alreadyAsking = !$("token-form").hidden;
    sessionStorage.removeItem(TOKEN_KEY);
    stopPollers();
    stopPlayer();
    $("app").hidden = true;
    $("forget-token").hidden = true;
    $("token-form").hidden = false;
    if (message || !alreadyAsking) $("token-message").textContent = message || "";
    $("token-input").focus();
  }

  /** How often each view is refreshed (after the previous refresh ended). */
  var EVERY = { stats: 5000, jobs: 3000, running: 2000, job: 1500, workers: 5000, actions: 5000, webhooks: 5000, dlq: 30000 };

  function start() {
    $("token-form").hidden = true;
    $("forget-token").hidden = false;
    $("app").hidden = false;
    stopPollers();
    state.statsPoller = poller(refreshStats, EVERY.stats);
    state.runningPoller = poller(refreshRunning, EVERY.running);
    state.jobsPoller = poller(refreshJobs, EVERY.jobs);
    state.jobPoller = poller(refreshJob, EVERY.job);
    state.workersPoller = poller(refreshWorkers, EVERY.workers);
    state.lanesPoller = poller(refreshLanes, EVERY.workers);
    state.actionsPoller = poller(refreshActions, EVERY.actions);
    state.webhooksPoller = poller(refreshWebhooks, EVERY.webhooks);
    state.dlqPoller = poller(refreshDlq, EVERY.dlq);
    routeFromHash();
  }

  // ---- wiring -----------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    $("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
      $("token-input").value = "";
      start();
    });
    $("forget-token").addEventListener("click", function () { askForToken(""); });
    ["filter-status", "filter-type"].forEach(function (id) { $(id).addEventListener("change", filtersChanged); });
    ["filter-tenant", "search"].forEach(function (id) { $(id).addEventListener("input", filtersChanged); });
    $("filters").addEventListener("submit", function (event) { event.preventDefault(); });
    $("bulk-retry").addEventListener("click", function () { bulk("retry"); });
    $("bulk-cancel").addEventListener("click", function () { bulk("cancel"); });
    $("dlq-refresh").addEventListener("click", function () { state.dlqPoller.now(); });
    $("dlq-redrive-all").addEventListener("click", function () { redrive({}); });
    window.addEventListener("hashchange", routeFromHash);
    // Without auth (API_INSECURE_NO_AUTH) the first request succeeds with no token at all.
    api("GET", "/api/media/jobs?limit=1").then(start).catch(function (error) {
      if (error.status !== 401) { start(); say(error.message, true); }
    });
  });
`;

export const DASHBOARD_SCRIPT = [
  '"use strict";',
  "(function () {",
  DASHBOARD_CORE,
  DASHBOARD_FLEET,
  DASHBOARD_JOBS,
  WIRING,
  "})();",
  "",
].join("\n");
