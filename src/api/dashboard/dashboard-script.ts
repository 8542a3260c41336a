/**
 * The dashboard's browser script (plain JavaScript, served as /dashboard/dashboard.js). Kept as
 * text for the reason given in dashboard-page.ts; it must contain no backtick and no dollar-brace
 * (tests/api/api-config.test.ts compiles it). The DOM is built with createElement and
 * textContent only, never innerHTML: object keys and error messages come from uploaders.
 */
export const DASHBOARD_SCRIPT = String.raw`
"use strict";
(function () {
  var TOKEN_KEY = "media-processor-token";
  var STATS_EVERY_MS = 5000;
  var JOBS_EVERY_MS = 3000;
  var JOB_EVERY_MS = 1500;
  var OTHER_OUTPUTS_SHOWN = 12;
  var ACTIVE = { queued: true, processing: true };
  var state = { selected: null, job: null, outputsFor: null, cursorStack: [], timers: [] };

  function $(id) { return document.getElementById(id); }

  /** el("div", {class: "x", text: "y", onclick: fn}, [children]) */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) return;
      if (name === "text") node.textContent = String(value);
      else if (name === "class") node.className = value;
      else if (name.indexOf("on") === 0) node.addEventListener(name.slice(2), value);
      else if (name === "style") Object.keys(value).forEach(function (key) { node.style[key] = value[key]; });
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function ApiError(status, problem) {
    this.status = status;
    this.problem = problem || {};
    this.message = (problem && (problem.detail || problem.title)) || ("HTTP " + status);
  }

  function api(method, path) {
    var headers = { accept: "application/json" };
    if (token()) headers.authorization = "Bearer " + token();
    return fetch(path, { method: method, headers: headers, cache: "no-store" }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (error) { body = null; }
        if (response.status === 401) { askForToken(token() ? "The token was refused; enter it again." : ""); throw new ApiError(401, body); }
        if (!response.ok) throw new ApiError(response.status, body);
        return body;
      });
    });
  }

  function say(text, isError) {
    var node = $("message");
    node.textContent = text || "";
    node.className = isError ? "message error" : "message";
  }

  // ---- formatting -------------------------------------------------------------------------
  function ms(value) {
    if (value === undefined || value === null || isNaN(value)) return "";
    if (value < 1000) return Math.round(value) + " ms";
    if (value < 60000) return (value / 1000).toFixed(value < 10000 ? 2 : 1) + " s";
    var minutes = Math.floor(value / 60000);
    return minutes + "m " + Math.round((value % 60000) / 1000) + "s";
  }
  function perMinute(rate) { return rate >= 10 ? String(Math.round(rate)) : String(Math.round(rate * 100) / 100); }
  function plural(count, word) { return count + " " + word + (count === 1 ? "" : "s"); }
  function percent(rate) { return rate === null || rate === undefined ? "–" : (Math.round(rate * 1000) / 10) + " %"; }
  function time(iso) { return iso ? new Date(iso).toLocaleTimeString() : ""; }
  function dateTime(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
  function bytes(count) {
    if (count === undefined) return "";
    if (count < 1024) return count + " B";
    if (count < 1048576) return (count / 1024).toFixed(1) + " KiB";
    return (count / 1048576).toFixed(1) + " MiB";
  }
  function pill(status) { return el("span", { class: "pill pill-" + status, text: status }); }
  function baseName(key) { var parts = String(key).split("/"); return parts[parts.length - 1]; }

  // ---- token ------------------------------------------------------------------------------
  function askForToken(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopTimers();
    $("app").hidden = true;
    $("forget-token").hidden = true;
    $("token-form").hidden = false;
    $("token-message").textContent = message || "";
    $("token-input").focus();
  }

  function start() {
    $("token-form").hidden = true;
    $("forget-token").hidden = false;
    $("app").hidden = false;
    stopTimers();
    refreshStats();
    refreshJobs();
    state.timers.push(setInterval(refreshStats, STATS_EVERY_MS));
    state.timers.push(setInterval(refreshJobs, JOBS_EVERY_MS));
    state.timers.push(setInterval(function () { if (state.selected && (!state.job || ACTIVE[state.job.status] || state.job.cancelRequested)) loadJob(state.selected); }, JOB_EVERY_MS));
    routeFromHash();
  }

  function stopTimers() { state.timers.forEach(clearInterval); state.timers = []; }

  // ---- stats tiles ------------------------------------------------------------------------
  function tile(label, value, sub, id) {
    return el("div", { class: "tile", id: id }, [el("div", { class: "label", text: label }), el("div", { class: "value", text: value }), el("div", { class: "sub", text: sub || "" })]);
  }

  function refreshStats() {
    return api("GET", "/api/media/jobs/stats?windowMinutes=60").then(function (stats) {
      var tiles = clear($("tiles"));
      var media = stats.queues.media, dlq = stats.queues.dlq, workers = stats.workers;
      tiles.appendChild(tile("jobs / min (1 h)", perMinute(stats.jobs.perMinute), plural(stats.jobs.total, "job") + ", " + stats.jobs.byStatus.processing + " processing", "tile-throughput"));
      tiles.appendChild(tile("success rate", percent(stats.successRate), stats.jobs.byStatus.completed + " completed, " + stats.jobs.byStatus.failed + " failed", "tile-success"));
      tiles.appendChild(tile("media queue", media ? String(media.visible) : "?", media ? media.inFlight + " in flight, " + media.delayed + " delayed" : "unreadable", "tile-queue"));
      tiles.appendChild(tile("dead-letter queue", dlq ? String(dlq.visible + dlq.inFlight) : "–", dlq ? "messages" : "not configured", "tile-dlq"));
      tiles.appendChild(tile("workers", workers ? String(workers.alive) : "?", workers ? workers.inFlight + " / " + workers.capacity + " slots busy" : "unreadable", "tile-workers"));
      Object.keys(stats.durations).sort().forEach(function (type) {
        var d = stats.durations[type];
        tiles.appendChild(tile(type + " p95", ms(d.p95Ms), "avg " + ms(d.avgMs) + " · max " + ms(d.maxMs) + " · n=" + d.count));
      });
      var badge = $("health");
      badge.textContent = stats.health.status;
      badge.className = "badge badge-" + stats.health.status;
      var reasons = clear($("health-reasons"));
      stats.health.reasons.forEach(function (reason) { reasons.appendChild(el("li", { text: reason })); });
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    }).catch(function (error) { if (error.status !== 401) say("stats: " + error.message, true); });
  }

  // ---- job list ---------------------------------------------------------------------------
  function listQuery() {
    var params = new URLSearchParams({ limit: "50" });
    if ($("filter-status").value) params.set("status", $("filter-status").value);
    if ($("filter-type").value) params.set("type", $("filter-type").value);
    if ($("filter-tenant").value.trim()) params.set("tenant", $("filter-tenant").value.trim());
    var cursor = state.cursorStack[state.cursorStack.length - 1];
    if (cursor) params.set("cursor", cursor);
    return params.toString();
  }

  function refreshJobs() {
    return api("GET", "/api/media/jobs?" + listQuery()).then(function (page) {
      var rows = clear($("job-rows"));
      page.jobs.forEach(function (job) {
        var row = el("tr", { "data-job-id": job.id, class: job.id === state.selected ? "selected" : "", onclick: function () { location.hash = "#job/" + job.id; } }, [
          el("td", { text: time(job.createdAt), title: dateTime(job.createdAt) }),
          el("td", {}, [pill(job.status), job.status === "processing" ? " " + Math.round(job.progress) + "%" : null]),
          el("td", { text: job.type }),
          el("td", { class: "key", text: baseName(job.source.key), title: job.source.bucket + "/" + job.source.key }),
          el("td", { class: "num", text: ms(job.durationMs) }),
        ]);
        rows.appendChild(row);
      });
      if (page.jobs.length === 0) rows.appendChild(el("tr", {}, [el("td", { colspan: "5", class: "muted", text: "no jobs match" })]));
      var more = $("more");
      more.hidden = !page.nextCursor && state.cursorStack.length === 0;
      more.textContent = page.nextCursor ? "Older jobs" : "Newest jobs";
      more.onclick = function () {
        if (page.nextCursor) state.cursorStack.push(page.nextCursor); else state.cursorStack = [];
        refreshJobs();
      };
    }).catch(function (error) { if (error.status !== 401) say("jobs: " + error.message, true); });
  }

  // ---- one job ----------------------------------------------------------------------------
  function routeFromHash() {
    var match = /^#job\/([0-9a-f]{24})$/.exec(location.hash);
    state.selected = match ? match[1] : null;
    state.job = null;
    state.outputsFor = null;
    if (state.selected) loadJob(state.selected); else $("job-view").hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll("#job-rows tr"), function (row) {
      row.className = row.getAttribute("data-job-id") === state.selected ? "selected" : "";
    });
  }

  function loadJob(id) {
    return api("GET", "/api/media/jobs/" + id).then(function (job) {
      if (state.selected !== id) return;
      var changed = !state.job || state.job.status !== job.status || state.job.timeline.length !== job.timeline.length || state.job.progress !== job.progress;
      state.job = job;
      if (changed) renderJob(job);
      if (job.status === "completed" && state.outputsFor !== job.id + job.finishedAt) {
        state.outputsFor = job.id + job.finishedAt;
        api("GET", "/api/media/jobs/" + id + "/outputs").then(renderOutputs).catch(function (error) { say("outputs: " + error.message, true); });
      }
    }).catch(function (error) {
      if (error.status === 404) { $("job-view").hidden = false; clear($("job-view")).appendChild(el("p", { class: "error", text: "No job " + id + " (expired or never existed)." })); }
      else if (error.status !== 401) say("job: " + error.message, true);
    });
  }

  function renderJob(job) {
    var view = clear($("job-view"));
    view.hidden = false;
    var canRetry = job.status === "failed" || job.status === "cancelled";
    var canReprocess = job.status === "completed";
    var canCancel = (job.status === "queued" || job.status === "processing") && !job.cancelRequested;
    view.appendChild(el("h2", { text: job.source.key }));
    view.appendChild(el("div", {}, [el("span", { id: "job-status" }, [pill(job.status)]), job.cancelRequested && job.status === "processing" ? el("span", { class: "muted", text: " cancelling…" }) : null, job.status === "processing" ? el("span", { class: "muted", text: " " + Math.round(job.progress) + "%" }) : null]));
    var facts = el("dl", { class: "facts" });
    function fact(name, value) { if (value !== undefined && value !== null && value !== "") { facts.appendChild(el("dt", { text: name })); facts.appendChild(el("dd", { text: String(value) })); } }
    fact("id", job.id);
    fact("type", job.type);
    fact("bucket", job.source.bucket);
    fact("size", bytes(job.source.size));
    fact("tenant / user", [job.tenantId, job.userId].filter(Boolean).join(" / "));
    fact("attempts", job.attempts);
    fact("created", dateTime(job.createdAt));
    fact("finished", dateTime(job.finishedAt));
    fact("took", ms(job.durationMs));
    fact("worker", job.workerId);
    view.appendChild(facts);
    view.appendChild(el("div", { class: "actions" }, [
      el("button", { id: "retry-button", type: "button", class: "primary", disabled: !(canRetry || canReprocess), text: canReprocess ? "Reprocess" : "Retry", onclick: function () { retry(job, canReprocess); } }),
      el("button", { id: "cancel-button", type: "button", class: "danger", disabled: !canCancel, text: "Cancel", onclick: function () { cancel(job); } }),
    ]));
    if (job.error) view.appendChild(el("div", { class: "error-box", id: "job-error" }, [el("strong", { text: job.error.category + " · " + job.error.code }), el("div", { text: job.error.message })]));
    view.appendChild(el("h3", { text: "Timeline" }));
    view.appendChild(renderTimeline(job));
    view.appendChild(el("div", { id: "outputs" }));
    if (job.result && job.result.metadata) {
      view.appendChild(el("h3", { text: "Metadata" }));
      view.appendChild(el("pre", { class: "result", text: JSON.stringify(job.result.metadata, null, 2) }));
    }
  }

  /** One row per timeline step: a bar from the step's start to the next step's (where the time went). */
  function renderTimeline(job) {
    var entries = job.timeline.map(function (entry) { return { event: entry.event, at: Date.parse(entry.at), detail: entry.detail }; });
    var grid = el("div", { class: "timeline", id: "timeline" });
    if (entries.length === 0) return grid;
    var start = entries[0].at;
    var end = job.finishedAt && !ACTIVE[job.status] ? Math.max(Date.parse(job.finishedAt), entries[entries.length - 1].at) : ACTIVE[job.status] ? Date.now() : entries[entries.length - 1].at;
    var total = Math.max(end - start, 1);
    entries.forEach(function (entry, index) {
      var next = index + 1 < entries.length ? entries[index + 1].at : end;
      var duration = Math.max(next - entry.at, 0);
      var title = entry.event + (entry.detail ? " " + JSON.stringify(entry.detail) : "");
      grid.appendChild(el("div", { text: entry.event, title: title }));
      grid.appendChild(el("div", { class: "track", title: title }, [el("div", { class: "bar ev-" + entry.event, style: { left: ((entry.at - start) / total) * 100 + "%", width: (duration / total) * 100 + "%" } })]));
      grid.appendChild(el("div", { class: "num muted", text: ms(duration) }));
    });
    return grid;
  }

  function renderOutputs(result) {
    var box = clear($("outputs"));
    var images = result.outputs.filter(function (output) { return output.preview === "image"; });
    var others = result.outputs.filter(function (output) { return output.preview !== "image"; });
    box.appendChild(el("h3", { text: "Outputs (" + result.outputs.length + ")" }));
    var grid = el("div", { class: "previews" });
    images.forEach(function (output) {
      var size = output.width && output.height ? output.width + "×" + output.height + " · " : "";
      grid.appendChild(el("figure", { class: "preview" }, [
        el("a", { href: output.url, target: "_blank", rel: "noopener noreferrer" }, [el("img", { src: output.url, alt: output.variant, loading: "lazy", "data-variant": output.variant })]),
        el("figcaption", { text: output.variant + " · " + size + bytes(output.bytes) }),
      ]));
    });
    box.appendChild(grid);
    var list = el("ul", { class: "outputs" });
    // An HLS ladder has dozens of segments: name the first few, count the rest.
    others.slice(0, OTHER_OUTPUTS_SHOWN).forEach(function (output) {
      list.appendChild(el("li", {}, [el("a", { href: output.url, target: "_blank", rel: "noopener noreferrer", text: output.key.split("/").slice(-2).join("/") }), " " + output.contentType + " · " + bytes(output.bytes)]));
    });
    if (others.length > OTHER_OUTPUTS_SHOWN) list.appendChild(el("li", { class: "muted", text: "… and " + (others.length - OTHER_OUTPUTS_SHOWN) + " more (see the manifest)" }));
    if (result.manifest) list.appendChild(el("li", {}, [el("a", { href: result.manifest.url, target: "_blank", rel: "noopener noreferrer", text: "manifest.json" })]));
    box.appendChild(list);
  }

  // ---- actions ----------------------------------------------------------------------------
  function retry(job, force) {
    if (force && !window.confirm("Process this completed job again?")) return;
    say("retrying…");
    api("POST", "/api/media/jobs/" + job.id + "/retry" + (force ? "?force=true" : "")).then(function (answer) {
      say("Requeued: " + answer.job.status);
      state.job = null;
      loadJob(job.id);
      refreshJobs();
      refreshStats();
    }).catch(function (error) { say("Retry refused: " + error.message, true); loadJob(job.id); });
  }

  function cancel(job) {
    say("cancelling…");
    api("DELETE", "/api/media/jobs/" + job.id).then(function (answer) {
      say(answer.outcome === "cancelled" ? "Cancelled." : "Cancellation requested; the worker stops it in a moment.");
      state.job = null;
      loadJob(job.id);
      refreshJobs();
      refreshStats();
    }).catch(function (error) { say("Cancel refused: " + error.message, true); loadJob(job.id); });
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
    ["filter-status", "filter-type"].forEach(function (id) { $(id).addEventListener("change", function () { state.cursorStack = []; refreshJobs(); }); });
    $("filter-tenant").addEventListener("input", function () { state.cursorStack = []; refreshJobs(); });
    $("filters").addEventListener("submit", function (event) { event.preventDefault(); });
    window.addEventListener("hashchange", routeFromHash);
    // Without auth (API_INSECURE_NO_AUTH) the first request succeeds with no token at all.
    api("GET", "/api/media/jobs/stats?windowMinutes=1").then(start).catch(function (error) {
      if (error.status !== 401) { start(); say(error.message, true); }
    });
  });
})();
`;
