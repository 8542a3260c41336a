/**
 * The operator dashboard: one HTML page, one stylesheet, one script, served by the API with no
 * build step. They live in TypeScript modules as text because the image ships only the compiled
 * dist/ (tsc copies no other files); the script is plain browser JavaScript.
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
  <div class="columns">
    <section class="jobs" aria-label="jobs">
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
      </form>
      <table class="job-table">
        <thead><tr><th>created</th><th>status</th><th>type</th><th>object</th><th class="num">took</th></tr></thead>
        <tbody id="job-rows"></tbody>
      </table>
      <button id="more" type="button" hidden>Older jobs</button>
    </section>
    <section id="job-view" class="job-view" aria-label="job" hidden></section>
  </div>
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
.columns { display: grid; grid-template-columns: minmax(420px, 1fr) minmax(420px, 1.1fr); gap: 16px; align-items: start; }
.jobs, .job-view { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.filters { display: flex; gap: 12px; margin-bottom: 8px; flex-wrap: wrap; }
.job-table { width: 100%; border-collapse: collapse; }
.job-table th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; border-bottom: 1px solid var(--line); padding: 4px 6px; }
.job-table td { padding: 5px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
.job-table td.key { max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
.job-table tr { cursor: pointer; }
.job-table tr:hover, .job-table tr.selected { background: #eef3fb; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 9px; font-size: 12px; color: #fff; background: var(--idle); }
.pill-completed { background: var(--ok); } .pill-failed { background: var(--bad); } .pill-processing { background: var(--info); }
.pill-queued { background: var(--idle); } .pill-cancelled { background: var(--warn); }
.job-view h2 { font-size: 15px; margin: 0 0 6px; word-break: break-all; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; font-size: 13px; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; word-break: break-all; }
.actions { display: flex; gap: 8px; margin: 8px 0; }
.error-box { border-left: 3px solid var(--bad); background: #fff5f5; padding: 6px 10px; margin: 8px 0; }
h3 { font-size: 13px; margin: 14px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.timeline { display: grid; grid-template-columns: 130px 1fr 70px; gap: 3px 8px; align-items: center; font-size: 12px; }
.timeline .track { position: relative; height: 14px; background: #f0f2f5; border-radius: 2px; }
.timeline .bar { position: absolute; top: 0; bottom: 0; min-width: 2px; border-radius: 2px; background: var(--info); }
.timeline .bar.ev-failed, .timeline .bar.ev-retry-scheduled { background: var(--bad); }
.timeline .bar.ev-completed { background: var(--ok); }
.timeline .bar.ev-cancelled, .timeline .bar.ev-cancel-requested { background: var(--warn); }
.timeline .bar.ev-queued, .timeline .bar.ev-retry-requested, .timeline .bar.ev-retry-enqueued { background: var(--idle); }
.previews { display: flex; flex-wrap: wrap; gap: 10px; }
.preview { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: 4px; background: #fafbfc; }
.preview img { display: block; max-width: 180px; max-height: 140px; background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 12px 12px; }
.preview figcaption { font-size: 11px; color: var(--muted); margin-top: 3px; }
.outputs { font-size: 12px; padding-left: 18px; }
.message { min-height: 1.4em; color: var(--info); }
pre.result { font-size: 11px; max-height: 240px; overflow: auto; background: #f7f8fa; padding: 6px; }
@media (max-width: 960px) { .columns { grid-template-columns: 1fr; } }
`;
