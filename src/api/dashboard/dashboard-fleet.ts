/**
 * The console's fleet views (plain browser JavaScript, see dashboard-core.ts): stat tiles and
 * the health verdict, the last hour's chart from the stats counters, running jobs pinned on
 * top, failures by error code, busy workers and their jobs, background actions, and the
 * dead-letter queue with redrive.
 */
export const DASHBOARD_FLEET = `
  function tile(label, value, sub, id) {
    return el("div", { class: "tile", id: id }, [el("div", { class: "label", text: label }), el("div", { class: "value", text: value }), el("div", { class: "sub", text: sub || "" })]);
  }

  function refreshStats() {
    return api("GET", "/api/media/jobs/stats?windowMinutes=60").then(function (stats) {
      var tiles = clear($("tiles"));
      var media = stats.queues.media, dlq = stats.queues.dlq, workers = stats.workers, now = stats.jobs.inStore;
      tiles.appendChild(tile("finished / min (1 h)", perMinute(stats.jobs.finishedPerMinute), plural(stats.jobs.total, "new job") + " in the hour", "tile-throughput"));
      tiles.appendChild(tile("success rate", percent(stats.successRate), stats.jobs.byStatus.completed + " completed, " + stats.jobs.byStatus.failed + " failed", "tile-success"));
      tiles.appendChild(tile("waiting", String(now.queued), media ? media.visible + " on the media queue, " + media.delayed + " delayed" : "media queue unreadable", "tile-queue"));
      tiles.appendChild(tile("running", String(now.processing), workers ? workers.inFlight + " / " + workers.capacity + " slots busy" : "", "tile-running"));
      tiles.appendChild(tile("dead-letter queue", dlq ? String(dlq.visible + dlq.inFlight) : "–", dlq ? "messages" : "not configured", "tile-dlq"));
      tiles.appendChild(tile("workers", workers ? String(workers.alive) : "?", workers ? workers.inFlight + " / " + workers.capacity + " slots busy" : "unreadable", "tile-workers"));
      if (stats.latency) tiles.appendChild(tile("upload → done p95", ms(stats.latency.p95Ms), "avg " + ms(stats.latency.avgMs) + " · n=" + stats.latency.count, "tile-latency"));
      Object.keys(stats.durations).sort().forEach(function (type) {
        var d = stats.durations[type];
        tiles.appendChild(tile(type + " p95", ms(d.p95Ms), "avg " + ms(d.avgMs) + " · max " + ms(d.maxMs) + " · n=" + d.count));
      });
      var badge = $("health");
      badge.textContent = stats.health.status;
      badge.className = "badge badge-" + stats.health.status;
      var reasons = clear($("health-reasons"));
      stats.health.reasons.forEach(function (reason) { reasons.appendChild(el("li", { text: reason })); });
      renderHistory(stats.history);
      renderErrorCodes(stats.errors.byCode);
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    }).catch(function (error) {
      // A tenant-limited token has no fleet views: say so once, keep the rest of the page.
      if (error.status === 403) { $("tiles").textContent = "Fleet views need a token without a tenant limit."; return; }
      return failed("stats")(error);
    });
  }

  /** Stacked bars of completed and failed jobs per minute, and a line of the processing-time p95. */
  function renderHistory(history) {
    var box = clear($("history"));
    var points = history.points;
    if (points.length === 0) return;
    var width = 600, height = 120, top = 4, bottom = 2;
    var maxCount = Math.max(1, Math.max.apply(null, points.map(function (p) { return p.completed + p.failed; })));
    var p95s = points.map(function (p) { return p.durationP95Ms; }).filter(function (v) { return v !== null; });
    var maxMs = Math.max(1, Math.max.apply(null, p95s.concat([1])));
    var step = width / points.length;
    var chart = svg("svg", { viewBox: "0 0 " + width + " " + height, preserveAspectRatio: "none", id: "history-chart", role: "img", "aria-label": "finished jobs per " + history.bucketMinutes + " min and p95 processing time" });
    var usable = height - top - bottom;
    var line = [];
    points.forEach(function (p, index) {
      var x = index * step;
      var completedHeight = (p.completed / maxCount) * usable;
      var failedHeight = (p.failed / maxCount) * usable;
      var title = time(p.at) + ": " + p.completed + " completed, " + p.failed + " failed" + (p.durationP95Ms !== null ? ", p95 " + ms(p.durationP95Ms) : "");
      var completed = svg("rect", { class: "bar-completed", x: x + 0.5, width: Math.max(step - 1, 0.5), y: height - bottom - completedHeight, height: completedHeight, "data-at": p.at });
      completed.appendChild(svg("title", { text: title }));
      chart.appendChild(completed);
      if (p.failed > 0) chart.appendChild(svg("rect", { class: "bar-failed", x: x + 0.5, width: Math.max(step - 1, 0.5), y: height - bottom - completedHeight - failedHeight, height: failedHeight }));
      if (p.durationP95Ms !== null) line.push((x + step / 2).toFixed(1) + "," + (height - bottom - (p.durationP95Ms / maxMs) * usable).toFixed(1));
    });
    if (line.length > 1) chart.appendChild(svg("polyline", { class: "line-p95", points: line.join(" ") }));
    box.appendChild(chart);
    // Labels as HTML: the chart stretches to the card's width, which would distort SVG text.
    box.appendChild(el("div", { class: "axis-row muted" }, [
      el("span", { text: time(points[0].at) }),
      el("span", { text: "bars: finished per " + history.bucketMinutes + " min (up to " + maxCount + ") · line: processing time p95 (up to " + ms(maxMs) + ")" }),
      el("span", { text: time(points[points.length - 1].at) }),
    ]));
  }

  function renderErrorCodes(byCode) {
    var rows = clear($("error-codes"));
    var codes = Object.keys(byCode).sort(function (a, b) { return byCode[b].count - byCode[a].count; });
    if (codes.length === 0) rows.appendChild(el("tr", {}, [el("td", { colspan: "3", class: "muted", text: "no failures in the hour" })]));
    codes.forEach(function (code) {
      rows.appendChild(el("tr", { "data-code": code }, [el("td", { text: code }), el("td", { class: "num", text: String(byCode[code].count) }), el("td", { class: "num", text: percent(byCode[code].rate) })]));
    });
  }

  /** Processing jobs, oldest first, with their elapsed time and progress: what is running now. */
  function refreshRunning() {
    return api("GET", "/api/media/jobs?status=processing&limit=50").then(function (page) {
      var rows = clear($("running-rows"));
      var now = Date.now();
      var jobs = page.jobs.slice().sort(function (a, b) { return Date.parse(a.startedAt || a.createdAt) - Date.parse(b.startedAt || b.createdAt); });
      $("running-count").textContent = jobs.length + (page.nextCursor ? "+" : "");
      if (jobs.length === 0) rows.appendChild(el("tr", {}, [el("td", { colspan: "6", class: "muted", text: "nothing running" })]));
      jobs.forEach(function (job) {
        rows.appendChild(el("tr", { "data-job-id": job.id, onclick: function () { location.hash = "#job/" + job.id; } }, [
          el("td", { class: "key", text: baseName(job.source.key), title: job.source.bucket + "/" + job.source.key }),
          el("td", { text: job.type }),
          el("td", { text: job.workerId || "" }),
          el("td", { class: "num elapsed", text: ms(now - Date.parse(job.startedAt || job.createdAt)) }),
          el("td", {}, [progressBar(job.progress), " " + Math.round(job.progress) + "%", job.cancelRequested ? el("span", { class: "muted", text: " cancelling…" }) : null]),
          el("td", {}, [el("button", { type: "button", class: "small danger", disabled: job.cancelRequested === true, text: "Cancel", onclick: function (event) { event.stopPropagation(); cancel(job); } })]),
        ]));
      });
    }).catch(failed("running jobs"));
  }

  function refreshWorkers() {
    return api("GET", "/api/media/workers").then(function (answer) {
      var box = clear($("workers"));
      if (answer.workers.length === 0) box.appendChild(el("p", { class: "muted", text: "no live worker" }));
      answer.workers.forEach(function (worker) {
        var jobs = el("ul", {});
        worker.jobs.forEach(function (job) {
          jobs.appendChild(el("li", { "data-job-id": job.id }, [el("a", { href: "#job/" + job.id, text: baseName(job.key) }), " " + job.type + " · " + Math.round(job.progress) + "% · " + ms(job.elapsedMs)]));
        });
        box.appendChild(el("div", { class: "worker", "data-worker-id": worker.id }, [el("strong", { text: worker.id }), " " + worker.inFlight + " / " + worker.concurrency + " busy", worker.jobs.length > 0 ? jobs : null]));
      });
    }).catch(function (error) { if (error.status === 403) return; return failed("workers")(error); });
  }

  /** One row per lane (MEDIA_LANES) with its queue, its backlog, capacity and the tenants the fair share holds back; hidden with one lane. */
  function refreshLanes() {
    return api("GET", "/api/media/queues").then(function (answer) {
      var box = clear($("lanes"));
      box.hidden = answer.lanes.length === 0;
      if (answer.lanes.length === 0) return;
      var rows = el("tbody", {});
      answer.lanes.forEach(function (lane) {
        var q = lane.queue;
        var b = lane.backlog;
        var tenants = lane.waitingTenants.slice(0, 3).map(function (t) { return t.tenant + " (" + t.waiting + ")"; }).join(", ");
        rows.appendChild(el("tr", { "data-lane": lane.name }, [
          el("td", { text: lane.name + (lane.entry ? " (entry)" : ""), title: lane.kinds.join(", ") }),
          el("td", { class: "num", text: q ? String(q.visible) : "?" }),
          el("td", { class: "num", text: q ? String(q.inFlight) : "?" }),
          el("td", { class: "num", text: q ? String(q.delayed) : "?" }),
          el("td", { class: "num", text: b ? String(b.visible + b.inFlight + b.delayed) : "–", title: "messages in the lane's backlog queue (a flood's surplus)" }),
          el("td", { class: "num", text: lane.workers + " / " + lane.slots }),
          el("td", { class: "muted", text: tenants || "–" }),
        ]));
      });
      box.appendChild(el("table", { class: "job-table", id: "lanes-table" }, [
        el("thead", {}, [el("tr", {}, [el("th", { text: "lane" }), el("th", { class: "num", text: "waiting" }), el("th", { class: "num", text: "running" }), el("th", { class: "num", text: "delayed" }), el("th", { class: "num", text: "backlog" }), el("th", { class: "num", text: "workers / slots" }), el("th", { text: "held back" })])]),
        rows,
      ]));
    }).catch(function (error) { if (error.status === 403) return; return failed("lanes")(error); });
  }

  function describeProgress(action) {
    var p = action.progress || {};
    if (action.kind === "dlq-redrive") return (p.moved || 0) + " moved, " + (p.skipped || 0) + " skipped, " + ((p.notEvents || []).length) + " not events";
    return (p.done || 0) + " done, " + (p.skipped || 0) + " skipped, " + (p.failed || 0) + " failed of " + (p.matched || 0) + " matched";
  }

  function refreshActions() {
    return api("GET", "/api/media/actions").then(function (answer) {
      var list = clear($("actions"));
      if (answer.actions.length === 0) list.appendChild(el("li", { class: "muted", text: "none in the last day" }));
      answer.actions.slice(0, 10).forEach(function (action) {
        var junk = (action.progress && action.progress.notEvents) || [];
        list.appendChild(el("li", { "data-action-id": action.id, "data-state": action.state }, [
          pill(action.state), " " + action.kind + " by " + action.by + " · " + time(action.createdAt) + " · ", el("span", { class: "action-progress", text: describeProgress(action) }),
          action.error ? el("div", { class: "error", text: action.error }) : null,
          junk.length > 0 ? el("div", { class: "muted not-events", text: "not events (left in the DLQ unless dropped): " + junk.map(function (entry) { return entry.reason + " " + entry.preview.slice(0, 60); }).join("; ") }) : null,
        ]));
      });
    }).catch(function (error) { if (error.status === 403) return; return failed("actions")(error); });
  }

  /** The last webhook deliveries (state, endpoint, attempts, last error) with a replay button, and how many failed for good. */
  function refreshWebhooks() {
    return Promise.all([api("GET", "/api/media/webhooks/deliveries?limit=10"), api("GET", "/api/media/webhooks/deliveries?state=failed&limit=200")]).then(function (answers) {
      var list = clear($("webhooks"));
      var recent = answers[0], failedOnes = answers[1].deliveries;
      $("webhook-failures").textContent = recent.enabled ? failedOnes.length + " failed" : "off";
      if (!recent.enabled) { list.appendChild(el("li", { class: "muted", text: "webhooks are off (WEBHOOKS_ENABLED)" })); return; }
      if (recent.deliveries.length === 0) list.appendChild(el("li", { class: "muted", text: "none yet" }));
      recent.deliveries.forEach(function (delivery) {
        var replay = el("button", { type: "button", class: "webhook-replay", text: "Replay" });
        replay.addEventListener("click", function () {
          api("POST", "/api/media/webhooks/deliveries/" + delivery.id + "/replay").then(refreshWebhooks).catch(failed("replay"));
        });
        list.appendChild(el("li", { "data-delivery-id": delivery.id, "data-state": delivery.state }, [
          pill(delivery.state), " " + delivery.eventType + " → " + delivery.endpoint + " · " + plural(delivery.attempts, "attempt") + " · " + time(delivery.createdAt) + " ",
          delivery.state !== "pending" ? replay : null,
          delivery.lastError ? el("div", { class: "error", text: (delivery.lastStatus ? "HTTP " + delivery.lastStatus + ": " : "") + delivery.lastError }) : null,
        ]));
      });
    }).catch(function (error) { if (error.status === 403) return; return failed("webhooks")(error); });
  }

  function refreshDlq() {
    return api("GET", "/api/media/dlq/messages?limit=20").then(function (peek) {
      var rows = clear($("dlq-rows"));
      $("dlq-count").textContent = peek.messages.length + (peek.complete ? "" : "+") + " shown";
      if (peek.messages.length === 0) rows.appendChild(el("tr", {}, [el("td", { colspan: "5", class: "muted", text: "empty" })]));
      peek.messages.forEach(function (message) {
        var object = message.objects[0];
        var error = object && object.job && object.job.error;
        rows.appendChild(el("tr", { "data-message-id": message.messageId }, [
          el("td", { text: time(message.sentAt) }),
          el("td", { class: "num", text: String(message.receiveCount) }),
          message.body.kind === "event"
            ? el("td", { class: "key", title: message.objects.map(function (o) { return o.bucket + "/" + o.key; }).join(" ") }, [object ? el("a", { href: "#job/" + object.jobId, text: baseName(object.key) }) : ""])
            : el("td", { class: "key error", text: "not an event (" + message.body.reason + "): " + message.body.preview.slice(0, 60) }),
          el("td", { class: "err", text: error ? error.code + ": " + error.message : "" }),
          el("td", {}, [message.body.kind === "event" ? el("button", { type: "button", class: "small primary", text: "Redrive", onclick: function () { redrive({ messageIds: [message.messageId] }); } }) : null]),
        ]));
      });
    }).catch(function (error) {
      if (error.status === 409) { $("dlq-count").textContent = "(no DLQ configured)"; return; }
      if (error.status === 403) return;
      return failed("DLQ")(error);
    });
  }

  function redrive(body) {
    if (!body.messageIds && !window.confirm("Move every message of the dead-letter queue back to the media queue?")) return;
    api("POST", "/api/media/dlq/redrive", body).then(function (answer) {
      say("Redrive started (" + answer.action.id.slice(0, 8) + "); its progress is under Background actions.");
      followAction(answer.action.id, function () { refreshDlq(); state.jobsPoller.now(); });
    }).catch(function (error) { say("Redrive refused: " + error.message, true); });
  }

  /** Polls one action until it finishes (chained, like every poll), then calls done. */
  function followAction(id, done) {
    var follow = poller(function () {
      return api("GET", "/api/media/actions/" + id).then(function (answer) {
        state.actionsPoller.now();
        if (answer.action.state !== "running") { follow.stop(); say(answer.action.kind + " " + answer.action.state + ": " + describeProgress(answer.action)); if (done) done(answer.action); }
      });
    }, 1000);
  }
`;
