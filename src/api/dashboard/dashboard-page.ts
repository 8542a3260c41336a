/**
 * The operator console: one HTML page, one stylesheet, one script (dashboard-script.ts), served
 * by the API with no build step; hls.js for the video player is loaded from the app itself
 * when a job with an HLS ladder is opened. They live in TypeScript modules as text because the
 * image ships only the compiled dist/ (tsc copies no other files).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>media-processor</title>
<link rel="stylesheet" href="/dashboard/dashboard.css">
<script src="/dashboard/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <h1>media-processor</h1>
  <span id="health" class="badge badge-unknown" title="">…</span>
  <span id="updated" class="muted"></span>
  <span class="spacer"></span>
  <span id="whoami" class="muted"></span>
  <button id="forget-token" type="button" hidden>Forget token</button>
</header>
<form id="token-form" class="token-form" hidden>
  <label for="token-input">API token</label>
  <input id="token-input" type="password" autocomplete="off" spellcheck="false" required>
  <button type="submit">Open dashboard</button>
  <span id="token-message" class="error"></span>
</form>
<main id="app" hidden>
  <section id="tiles" class="tiles" aria-label="stats"></section>
  <ul id="health-reasons" class="reasons"></ul>
  <p id="message" class="message" role="status"></p>
  <section class="card" aria-label="history">
    <h3>Last hour: finished per minute and processing time p95</h3>
    <div id="history" class="history"></div>
  </section>
  <section class="card" aria-label="running jobs">
    <h3>Running now <span id="running-count" class="muted"></span></h3>
    <table class="job-table"><thead><tr><th>object</th><th>type</th><th>worker</th><th class="num">elapsed</th><th>progress</th><th></th></tr></thead>
    <tbody id="running-rows"></tbody></table>
  </section>
  <div class="columns">
    <section class="card jobs" aria-label="jobs">
      <form id="filters" class="filters">
        <label>Status <select id="filter-status">
          <option value="">any</option><option>queued</option><option>processing</option>
          <option>completed</option><option>failed</option><option>cancelled</option>
        </select></label>
        <label>Type <select id="filter-type">
          <option value="">any</option><option>image</option><option>video</option><option>audio</option>
          <option>document</option><option>pending</option>
        </select></label>
        <label>Tenant <input id="filter-tenant" size="10" placeholder="any"></label>
        <label class="grow">Search <input id="search" placeholder="job id, source key or key prefix" spellcheck="false"></label>
      </form>
      <div class="actions bulk">
        <button id="bulk-retry" type="button" class="primary" disabled>Retry all matching</button>
        <button id="bulk-cancel" type="button" class="danger" disabled>Cancel all matching</button>
        <span id="bulk-hint" class="muted">pick status failed/cancelled to retry, queued/processing to cancel</span>
      </div>
      <table class="job-table">
        <thead><tr><th>created</th><th>status</th><th>type</th><th>object</th><th>error</th><th class="num">took</th></tr></thead>
        <tbody id="job-rows"></tbody>
      </table>
      <button id="more" type="button" hidden>Older jobs</button>
    </section>
    <section id="job-view" class="card job-view" aria-label="job" hidden></section>
  </div>
  <div class="columns three">
    <section class="card" aria-label="errors">
      <h3>Failures by error code (1 h)</h3>
      <table class="job-table"><thead><tr><th>code</th><th class="num">count</th><th class="num">share</th></tr></thead><tbody id="error-codes"></tbody></table>
    </section>
    <section class="card" aria-label="workers">
      <h3>Workers</h3>
      <div id="lanes" hidden></div>
      <div id="workers"></div>
    </section>
    <section class="card" aria-label="background actions">
      <h3>Background actions</h3>
      <ul id="actions" class="plain"></ul>
    </section>
    <section class="card" aria-label="webhook deliveries">
      <h3>Webhook deliveries <span id="webhook-failures" class="muted"></span></h3>
      <ul id="webhooks" class="plain"></ul>
    </section>
  </div>
  <section class="card" aria-label="dead-letter queue">
    <h3>Dead-letter queue <span id="dlq-count" class="muted"></span></h3>
    <div class="actions">
      <button id="dlq-refresh" type="button">Look again</button>
      <button id="dlq-redrive-all" type="button" class="primary">Redrive all</button>
    </div>
    <table class="job-table"><thead><tr><th>sent</th><th class="num">receives</th><th>object</th><th>last error</th><th></th></tr></thead><tbody id="dlq-rows"></tbody></table>
  </section>
</main>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { --fg: #1d2430; --muted: #6b7585; --line: #e3e7ee; --bg: #f6f7f9; --card: #fff;
  --ok: #1f8a4c; --warn: #b7791f; --bad: #c53030; --info: #2b6cb0; --idle: #718096; }
* { box-sizing: border-box; }
/* The hidden attribute must win over display rules such as .token-form's flex. */
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); background: var(--card); border-radius: 4px; cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
button.danger { border-color: var(--bad); color: var(--bad); }
button.primary { border-color: var(--info); color: var(--info); }
button.small { padding: 1px 6px; font-size: 12px; }
.top { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
.top h1 { font-size: 17px; margin: 0; }
.spacer { flex: 1; }
.muted { color: var(--muted); font-size: 12px; }
.error { color: var(--bad); }
.badge { padding: 2px 10px; border-radius: 10px; font-weight: 600; font-size: 12px; color: #fff; background: var(--idle); }
.badge-healthy { background: var(--ok); } .badge-degraded { background: var(--warn); } .badge-unhealthy { background: var(--bad); }
.token-form { display: flex; gap: 8px; align-items: center; padding: 40px 20px; }
main { padding: 16px 20px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.tile .label { color: var(--muted); font-size: 12px; }
.tile .value { font-size: 22px; font-weight: 600; }
.tile .sub { color: var(--muted); font-size: 12px; }
.reasons { margin: 8px 0; padding-left: 18px; color: var(--warn); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 16px; }
.columns { display: grid; grid-template-columns: minmax(420px, 1fr) minmax(420px, 1.1fr); gap: 16px; align-items: start; }
.columns.three { grid-template-columns: repeat(3, minmax(260px, 1fr)); }
.filters { display: flex; gap: 12px; margin-bottom: 8px; flex-wrap: wrap; align-items: center; }
.filters .grow { flex: 1; display: flex; gap: 6px; align-items: center; }
.filters .grow input { flex: 1; min-width: 180px; }
.job-table { width: 100%; border-collapse: collapse; }
#lanes { overflow-x: auto; }
.job-table th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; border-bottom: 1px solid var(--line); padding: 4px 6px; }
.job-table td { padding: 5px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
.job-table td.key { max-width: 240px; overflow: hidden; text-overflow: ellipsis; }
.job-table td.err { max-width: 160px; overflow: hidden; text-overflow: ellipsis; color: var(--bad); font-size: 12px; }
#job-rows tr, #running-rows tr { cursor: pointer; }
.job-table tr:hover, .job-table tr.selected { background: #eef3fb; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 9px; font-size: 12px; color: #fff; background: var(--idle); }
.pill-completed { background: var(--ok); } .pill-failed { background: var(--bad); } .pill-processing { background: var(--info); }
.pill-queued { background: var(--idle); } .pill-cancelled { background: var(--warn); }
.pill-running { background: var(--info); } .pill-done { background: var(--ok); } .pill-abandoned { background: var(--warn); }
.progress { display: inline-block; width: 120px; height: 10px; background: #f0f2f5; border-radius: 5px; overflow: hidden; vertical-align: middle; }
.progress .fill { height: 100%; background: var(--info); }
.job-view h2 { font-size: 15px; margin: 0 0 6px; word-break: break-all; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; font-size: 13px; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; word-break: break-all; }
.actions { display: flex; gap: 8px; margin: 8px 0; align-items: center; flex-wrap: wrap; }
.error-box { border-left: 3px solid var(--bad); background: #fff5f5; padding: 6px 10px; margin: 8px 0; }
h3 { font-size: 13px; margin: 4px 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.timeline { display: grid; grid-template-columns: 150px 1fr 70px; gap: 3px 8px; align-items: center; font-size: 12px; }
.timeline .track { position: relative; height: 14px; background: #f0f2f5; border-radius: 2px; }
.timeline .bar { position: absolute; top: 0; bottom: 0; min-width: 2px; border-radius: 2px; background: var(--info); }
.timeline .bar.ev-failed, .timeline .bar.ev-retry-scheduled { background: var(--bad); }
.timeline .bar.ev-completed { background: var(--ok); }
.timeline .bar.ev-cancelled, .timeline .bar.ev-cancel-requested, .timeline .bar.ev-cancel-seen { background: var(--warn); }
.timeline .bar.ev-queued, .timeline .bar.ev-retry-requested, .timeline .bar.ev-retry-enqueued, .timeline .bar.ev-received { background: var(--idle); }
.players video { display: block; max-width: 100%; max-height: 320px; background: #000; margin: 6px 0; }
.players audio { display: block; width: 100%; margin: 6px 0; }
.previews { display: flex; flex-wrap: wrap; gap: 10px; }
.preview { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: 4px; background: #fafbfc; }
.preview img { display: block; max-width: 180px; max-height: 140px; background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 12px 12px; }
.preview figcaption { font-size: 11px; color: var(--muted); margin-top: 3px; }
.outputs { font-size: 12px; padding-left: 18px; }
.message { min-height: 1.4em; color: var(--info); }
pre.result { font-size: 11px; max-height: 240px; overflow: auto; background: #f7f8fa; padding: 6px; }
.history svg { display: block; width: 100%; height: 120px; }
.history .bar-completed { fill: var(--ok); } .history .bar-failed { fill: var(--bad); } .history .line-p95 { fill: none; stroke: var(--info); stroke-width: 1.5; }
.history .axis-row { display: flex; justify-content: space-between; margin-top: 2px; }
ul.plain { list-style: none; margin: 0; padding: 0; font-size: 12px; }
ul.plain li { padding: 4px 0; border-bottom: 1px solid var(--line); }
.worker { font-size: 12px; padding: 4px 0; border-bottom: 1px solid var(--line); }
.worker ul { margin: 2px 0 0; padding-left: 16px; }
@media (max-width: 1100px) { .columns, .columns.three { grid-template-columns: 1fr; } }
`;
