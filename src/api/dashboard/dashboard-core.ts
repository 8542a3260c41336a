/**
 * The console script's foundation (plain browser JavaScript, joined into dashboard.js by
 * dashboard-script.ts): DOM building, the API client with the token, formatting, and the
 * poller. Every poll is a chained timeout started when the previous call ended — never an
 * interval — so calls never overlap however slow the API is; a failing poll backs off
 * (doubling to a minute) and polls pause while the tab is hidden.
 */
export const DASHBOARD_CORE = `
  var TOKEN_KEY = "media-processor-token";
  var ACTIVE = { queued: true, processing: true };
  var state = { selected: null, job: null, outputsFor: null, cursorStack: [], pollers: [], hls: null, lastPage: null };

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

  var SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = String(attrs[name]);
      else node.setAttribute(name, String(attrs[name]));
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

  function api(method, path, body) {
    var headers = { accept: "application/json" };
    if (token()) headers.authorization = "Bearer " + token();
    var init = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined) { headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (error) { parsed = null; }
        if (response.status === 401) { askForToken(token() ? "The token was refused; enter it again." : ""); throw new ApiError(401, parsed); }
        if (!response.ok) throw new ApiError(response.status, parsed);
        return parsed;
      });
    });
  }

  function say(text, isError) {
    var node = $("message");
    node.textContent = text || "";
    node.className = isError ? "message error" : "message";
  }

  /** Reports a failed poll (not a refused token, which shows the token form) and rethrows, so the poller backs off. */
  function failed(what) {
    return function (error) {
      if (error.status !== 401) say(what + ": " + error.message, true);
      throw error;
    };
  }

  // ---- formatting -------------------------------------------------------------------------
  function ms(value) {
    if (value === undefined || value === null || isNaN(value)) return "";
    if (value < 1000) return Math.round(value) + " ms";
    if (value < 60000) return (value / 1000).toFixed(value < 10000 ? 2 : 1) + " s";
    var minutes = Math.floor(value / 60000);
    if (minutes < 60) return minutes + "m " + Math.round((value % 60000) / 1000) + "s";
    return Math.floor(minutes / 60) + "h " + (minutes % 60) + "m";
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
  function progressBar(value) { return el("span", { class: "progress", title: Math.round(value) + " %" }, [el("span", { class: "fill", style: { width: Math.max(0, Math.min(100, value)) + "%" } })]); }

  // ---- polling ----------------------------------------------------------------------------
  /**
   * Runs fn now and again everyMs after each call settles. now() asks for a call at once (after
   * the one in flight, if any); stop() ends it.
   */
  function poller(fn, everyMs) {
    var p = { timer: null, running: false, again: false, delay: everyMs, stopped: false };
    function schedule(delay) { if (!p.stopped && !p.timer) p.timer = setTimeout(run, delay); }
    function run() {
      p.timer = null;
      if (p.stopped) return;
      if (document.hidden) { schedule(everyMs); return; }
      p.running = true;
      Promise.resolve().then(fn).then(
        function () { p.delay = everyMs; },
        function () { p.delay = Math.min(p.delay * 2, 60000); }
      ).then(function () {
        p.running = false;
        var delay = p.again ? 0 : p.delay;
        p.again = false;
        schedule(delay);
      });
    }
    p.now = function () {
      if (p.running) { p.again = true; return; }
      if (p.timer) { clearTimeout(p.timer); p.timer = null; }
      run();
    };
    p.stop = function () { p.stopped = true; if (p.timer) clearTimeout(p.timer); p.timer = null; };
    run();
    state.pollers.push(p);
    return p;
  }

  function stopPollers() { state.pollers.forEach(function (p) { p.stop(); }); state.pollers = []; }
`;
