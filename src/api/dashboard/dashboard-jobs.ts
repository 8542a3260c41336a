/**
 * The console's job views (plain browser JavaScript, see dashboard-core.ts): the filtered list
 * with its error column, search by id or key, bulk retry/cancel of what a filter matches, and
 * one job: facts, actions, a timeline whose bars name the step they measure, players for
 * video (hls.js, loaded on demand from the app) and audio, and the output previews.
 */
export const DASHBOARD_JOBS = String.raw`
  var OTHER_OUTPUTS_SHOWN = 12;
  var JOB_ID = /^[0-9a-f]{24}$/;

  function listQuery() {
    var params = new URLSearchParams({ limit: "50" });
    if ($("filter-status").value) params.set("status", $("filter-status").value);
    if ($("filter-type").value) params.set("type", $("filter-type").value);
    if ($("filter-tenant").value.trim()) params.set("tenant", $("filter-tenant").value.trim());
    var search = $("search").value.trim();
    // A job id opens the job; anything else is a source key prefix (an exact key is its own prefix).
    if (search && !JOB_ID.test(search)) params.set("keyPrefix", search);
    var cursor = state.cursorStack[state.cursorStack.length - 1];
    if (cursor) params.set("cursor", cursor);
    return params.toString();
  }

  function refreshJobs() {
    return api("GET", "/api/media/jobs?" + listQuery()).then(function (page) {
      state.lastPage = page;
      var rows = clear($("job-rows"));
      page.jobs.forEach(function (job) {
        rows.appendChild(el("tr", { "data-job-id": job.id, class: job.id === state.selected ? "selected" : "", onclick: function () { location.hash = "#job/" + job.id; } }, [
          el("td", { text: time(job.createdAt), title: dateTime(job.createdAt) }),
          el("td", {}, [pill(job.status), job.status === "processing" ? " " + Math.round(job.progress) + "%" : null]),
          el("td", { text: job.type }),
          el("td", { class: "key", text: baseName(job.source.key), title: job.source.bucket + "/" + job.source.key }),
          el("td", { class: "err", text: job.error && job.status !== "completed" ? job.error.code : "", title: job.error ? job.error.category + ": " + job.error.message : "" }),
          el("td", { class: "num", text: ms(job.durationMs) }),
        ]));
      });
      if (page.jobs.length === 0) rows.appendChild(el("tr", {}, [el("td", { colspan: "6", class: "muted", text: "no jobs match" })]));
      var more = $("more");
      more.hidden = !page.nextCursor && state.cursorStack.length === 0;
      more.textContent = page.nextCursor ? "More" : "Back to the first page";
      more.onclick = function () {
        if (page.nextCursor) state.cursorStack.push(page.nextCursor); else state.cursorStack = [];
        state.jobsPoller.now();
      };
    }).catch(failed("jobs"));
  }

  function filtersChanged() {
    state.cursorStack = [];
    var status = $("filter-status").value;
    $("bulk-retry").disabled = !(status === "failed" || status === "cancelled");
    $("bulk-cancel").disabled = !(status === "queued" || status === "processing");
    var search = $("search").value.trim();
    if (JOB_ID.test(search) && location.hash !== "#job/" + search) location.hash = "#job/" + search;
    state.jobsPoller.now();
  }

  function bulk(action) {
    var filter = {};
    ["status", "type", "tenant"].forEach(function (name) { var value = $("filter-" + name).value.trim(); if (value) filter[name] = value; });
    var what = (action === "retry" ? "Retry" : "Cancel") + " every job matching " + JSON.stringify(filter) + "?";
    if (!window.confirm(what)) return;
    api("POST", "/api/media/jobs/bulk", { action: action, filter: filter }).then(function (answer) {
      say("Bulk " + action + " started; its progress is under Background actions.");
      followAction(answer.action.id, function () { state.jobsPoller.now(); state.runningPoller.now(); });
    }).catch(function (error) { say("Bulk " + action + " refused: " + error.message, true); });
  }

  // ---- one job ----------------------------------------------------------------------------
  function routeFromHash() {
    var match = /^#job\/([0-9a-f]{24})$/.exec(location.hash);
    var next = match ? match[1] : null;
    if (next !== state.selected) { state.job = null; state.outputsFor = null; stopPlayer(); }
    state.selected = next;
    if (state.selected) { if (state.jobPoller) state.jobPoller.now(); } else $("job-view").hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll("#job-rows tr"), function (row) {
      row.className = row.getAttribute("data-job-id") === state.selected ? "selected" : "";
    });
  }

  /** The job poll: only while a job is open and not finished (its outputs are loaded once). */
  function refreshJob() {
    var id = state.selected;
    if (!id || (state.job && state.job.id === id && !ACTIVE[state.job.status] && !state.job.cancelRequested && state.outputsFor)) return Promise.resolve();
    return api("GET", "/api/media/jobs/" + id).then(function (job) {
      if (state.selected !== id) return;
      var changed = !state.job || state.job.status !== job.status || state.job.timeline.length !== job.timeline.length || state.job.progress !== job.progress;
      state.job = job;
      if (changed) renderJob(job);
      if (job.status === "completed" && state.outputsFor !== job.id + job.finishedAt) {
        state.outputsFor = job.id + job.finishedAt;
        return api("GET", "/api/media/jobs/" + id + "/outputs").then(renderOutputs);
      }
      if (job.status !== "completed") state.outputsFor = job.id + ":none";
    }).catch(function (error) {
      if (error.status === 404) { $("job-view").hidden = false; clear($("job-view")).appendChild(el("p", { class: "error", text: "No job " + id + " (expired or never existed)." })); state.job = { id: id, status: "missing", timeline: [] }; state.outputsFor = "missing"; return; }
      return failed("job")(error);
    });
  }

  function renderJob(job) {
    var view = clear($("job-view"));
    view.hidden = false;
    stopPlayer();
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
    fact("started", dateTime(job.startedAt));
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
    view.appendChild(el("div", { id: "players", class: "players" }));
    view.appendChild(el("div", { id: "outputs" }));
    if (job.result && job.result.metadata) {
      view.appendChild(el("h3", { text: "Metadata" }));
      view.appendChild(el("pre", { class: "result", text: JSON.stringify(job.result.metadata, null, 2) }));
    }
  }

  /**
   * What the time between two timeline entries was spent on. An entry saying a step finished
   * names the interval that ends with it ("encoded": the encode); an entry saying something
   * started names the interval that follows it ("downloading": the download). Otherwise the
   * bar is labelled from → to.
   */
  var FINISHED = {
    downloaded: "download", detected: "type detection", probed: "probe", planned: "plan", inspected: "inspect",
    "heic-decoded": "HEIC decode", encoded: "encode", poster: "poster", storyboard: "storyboard", uploaded: "upload",
    cover: "cover art", "document-opened": "open document", "document-read": "render + text", "document-converted": "convert to PDF",
    processed: "outputs + upload", "manifest-written": "manifest", completed: "record outcome", failed: "record outcome",
    cancelled: "stop", "outputs-removed": "remove outputs", "event-published": "publish event", "parts-uploaded": "upload",
    "chunks-sent": "plan + send chunks", "chunk-encoded": "chunk encoded", stitched: "stitch"
  };
  var STARTED = {
    queued: "waiting in queue", "retry-requested": "waiting in queue", "retry-enqueued": "waiting in queue", released: "waiting in queue",
    "retry-scheduled": "back-off", received: "start", downloading: "download", detected: "start processor", processing: "processing",
    completed: "idle (finished)", failed: "idle (finished)", cancelled: "idle (finished)",
    "cancel-requested": "stopping", "cancel-seen": "stopping", "document-converting": "convert to PDF", "lease-expired": "start"
  };
  function stepLabel(from, to) {
    if (to && FINISHED[to]) return FINISHED[to];
    if (STARTED[from]) return STARTED[from];
    return to ? from + " → " + to : from;
  }

  /** One row per interval between entries, labelled with the step it measures; the last entry is a marker. */
  function renderTimeline(job) {
    var entries = job.timeline.map(function (entry) { return { event: entry.event, at: Date.parse(entry.at), detail: entry.detail }; });
    var grid = el("div", { class: "timeline", id: "timeline" });
    if (entries.length === 0) return grid;
    var start = entries[0].at;
    var end = job.finishedAt && !ACTIVE[job.status] ? Math.max(Date.parse(job.finishedAt), entries[entries.length - 1].at) : ACTIVE[job.status] ? Date.now() : entries[entries.length - 1].at;
    var total = Math.max(end - start, 1);
    entries.forEach(function (entry, index) {
      var next = entries[index + 1];
      var last = !next;
      var until = next ? next.at : ACTIVE[job.status] ? end : entry.at;
      var duration = Math.max(until - entry.at, 0);
      var label = last ? (ACTIVE[job.status] ? stepLabel(entry.event, null) + " (running)" : entry.event) : stepLabel(entry.event, next.event);
      var title = entry.event + (next ? " → " + next.event : "") + (entry.detail ? " " + JSON.stringify(entry.detail) : "");
      grid.appendChild(el("div", { class: "step", text: label, title: title, "data-from": entry.event, "data-to": next ? next.event : "" }));
      grid.appendChild(el("div", { class: "track", title: title }, [el("div", { class: "bar ev-" + (next ? next.event : entry.event), style: { left: ((entry.at - start) / total) * 100 + "%", width: (duration / total) * 100 + "%" } })]));
      grid.appendChild(el("div", { class: "num muted", text: ms(duration) }));
    });
    // A chunked video: one row per part, its bar from when its worker started it to when it was stored.
    entries.forEach(function (entry) {
      var detail = entry.detail || {};
      if (entry.event !== "chunk-encoded" || !detail.startedAt || !detail.endedAt) return;
      var from = Date.parse(detail.startedAt), to = Date.parse(detail.endedAt);
      var label = "chunk " + detail.chunk + " · " + detail.workerId;
      grid.appendChild(el("div", { class: "step chunk", text: label, title: JSON.stringify(detail), "data-chunk": String(detail.chunk) }));
      grid.appendChild(el("div", { class: "track" }, [el("div", { class: "bar ev-chunk", style: { left: ((from - start) / total) * 100 + "%", width: (Math.max(to - from, 0) / total) * 100 + "%" } })]));
      grid.appendChild(el("div", { class: "num muted", text: ms(to - from) }));
    });
    return grid;
  }

  function renderOutputs(result) {
    var box = clear($("outputs"));
    renderPlayers(result);
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

  // ---- players ----------------------------------------------------------------------------
  function stopPlayer() { if (state.hls) { state.hls.destroy(); state.hls = null; } }

  function loadHlsJs() {
    if (window.Hls) return Promise.resolve(window.Hls);
    return new Promise(function (resolve, reject) {
      var script = el("script", { src: "/dashboard/vendor/hls.light.min.js" });
      script.onload = function () { resolve(window.Hls); };
      script.onerror = function () { reject(new Error("hls.js did not load")); };
      document.head.appendChild(script);
    });
  }

  /** An HLS ladder plays through the API with hls.js (the token on each request); MP4 and audio from their presigned URLs. */
  function renderPlayers(result) {
    var box = clear($("players"));
    var poster = result.outputs.filter(function (output) { return output.variant === "poster"; })[0];
    var audio = result.outputs.filter(function (output) { return output.preview === "audio"; });
    var mp4 = result.outputs.filter(function (output) { return output.preview === "video"; })[0];
    if (result.playerUrl) {
      var video = el("video", { id: "video-player", controls: true, muted: true, playsinline: true, preload: "metadata", poster: poster ? poster.url : null });
      box.appendChild(el("h3", { text: "Video (HLS)" }));
      box.appendChild(video);
      loadHlsJs().then(function (Hls) {
        if (!Hls.isSupported()) { box.appendChild(el("p", { class: "muted", text: "This browser cannot play HLS through Media Source Extensions." })); return; }
        var hls = new Hls({ enableWorker: false, xhrSetup: function (xhr) { if (token()) xhr.setRequestHeader("authorization", "Bearer " + token()); } });
        state.hls = hls;
        hls.on(Hls.Events.MANIFEST_PARSED, function (_event, data) { video.setAttribute("data-levels", String(data.levels.length)); });
        hls.on(Hls.Events.ERROR, function (_event, data) { if (data.fatal) box.appendChild(el("p", { class: "error", text: "player: " + data.details })); });
        hls.loadSource(result.playerUrl);
        hls.attachMedia(video);
      }).catch(function (error) { box.appendChild(el("p", { class: "error", text: error.message })); });
    } else if (mp4) {
      box.appendChild(el("h3", { text: "Video" }));
      box.appendChild(el("video", { id: "video-player", controls: true, muted: true, preload: "metadata", src: mp4.url, poster: poster ? poster.url : null }));
    }
    if (audio.length > 0) {
      box.appendChild(el("h3", { text: "Audio" }));
      box.appendChild(el("audio", { id: "audio-player", controls: true, preload: "metadata" }, audio.map(function (output) { return el("source", { src: output.url, type: output.contentType }); })));
    }
  }

  // ---- actions ----------------------------------------------------------------------------
  function afterChange(id) {
    state.job = null;
    state.outputsFor = null;
    if (state.selected === id) state.jobPoller.now();
    state.jobsPoller.now();
    state.runningPoller.now();
    state.statsPoller.now();
  }

  function retry(job, force) {
    if (force && !window.confirm("Process this completed job again?")) return;
    say("retrying…");
    api("POST", "/api/media/jobs/" + job.id + "/retry" + (force ? "?force=true" : "")).then(function (answer) {
      say("Requeued: " + answer.job.status);
      afterChange(job.id);
    }).catch(function (error) { say("Retry refused: " + error.message, true); afterChange(job.id); });
  }

  function cancel(job) {
    say("cancelling…");
    api("DELETE", "/api/media/jobs/" + job.id).then(function (answer) {
      say(answer.outcome === "cancelled" ? "Cancelled." : "Cancellation requested; the worker stops it within seconds.");
      afterChange(job.id);
    }).catch(function (error) { say("Cancel refused: " + error.message, true); afterChange(job.id); });
  }
`;
