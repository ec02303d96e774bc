// The dashboard's window. Every piece of data comes from the agent through the dashboard's
// commands; this file only renders it and sends the user's clicks back. Text from outside
// (feed titles, evidence, provider names) is only ever set with textContent, never as HTML.

import { t, setLang, lang, ago, when, clock, VERDICT_GLYPH, LAYER_GLYPH } from "./i18n.js";
import { renderTimeline } from "./timeline.js";

const tauri = window.__TAURI__;
const invoke = (cmd, args) => tauri.core.invoke(cmd, args);
const $ = (id) => document.getElementById(id);

// The last things the agent sent, kept only to re-render on a language switch.
let lastStatus = null;
let lastHistory = null;
let lastOutages = null;
// The episode whose details are shown (its id); the newest one until the user picks another.
let selectedEpisode = null;
// How far back the Outages view lists episodes (the exports always hold all of them).
const OUTAGE_DAYS = 30;
/** Up to how old a time is said as "for 4 min" rather than as a date. */
const RECENT_MS = 12 * 3600 * 1000;
/** How long "Pause notifications" silences them, as the tray's menu item does. */
const PAUSE_MINUTES = 60;
let lastChannels = null;
let lastFeeds = null;
let loadedSettings = null;
let providers = [];
// The line the window shows (its label); null: the agent's first line. The picker only
// appears when the agent watches several.
let pickedLine = null;
let knownLines = [];
/** The `line` argument of the commands about one line. */
const lineArg = () => (pickedLine ? { line: pickedLine } : {});

// ---------- small helpers ----------

function node(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(e.dataset, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

/** Sets an element's text only when it differs (live regions announce every write). */
function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function errorText(err) {
  if (!err || typeof err !== "object") return t("error.unknown", { detail: String(err) });
  switch (err.kind) {
    case "agent_unreachable": return t("error.agent_unreachable");
    case "connection": return t("error.connection");
    case "invalid": return t("error.invalid", { field: err.field, detail: err.detail });
    case "link_refused": return t("error.link_refused");
    case "open": return t("error.open", { detail: err.detail });
    case "catalog": return t("error.catalog", { detail: err.detail });
    case "export": return t("error.export", { path: err.path, detail: err.detail });
    case "agent": {
      const e = err.error || {};
      if (e.code === "invalid") return t("error.invalid", { field: e.field, detail: e.detail });
      return t("error.agent", { detail: e.detail || e.code || "" });
    }
    default: return t("error.unknown", { detail: JSON.stringify(err) });
  }
}

function showError(err) {
  const box = $("error");
  box.textContent = errorText(err);
  box.hidden = false;
}

function showMessage(key) {
  $("error").hidden = true;
  const box = $("message");
  box.textContent = t(key);
  box.hidden = false;
  clearTimeout(showMessage.timer);
  showMessage.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

async function call(cmd, args) {
  try {
    return await invoke(cmd, args);
  } catch (err) {
    showError(err);
    throw err;
  }
}

// ---------- language ----------

function applyStaticStrings() {
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  $("ui-lang").value = lang();
}

function switchLang(l) {
  setLang(l);
  applyStaticStrings();
  rerender();
}

function rerender() {
  renderLines(knownLines);
  if (lastStatus) renderStatus({ ...lastStatus, lines: knownLines });
  if (lastHistory) renderTimeline($("timeline"), lastHistory);
  if (lastOutages) renderOutages(lastOutages);
  const saved = $("export-result").dataset.path;
  if (saved) $("export-result").textContent = t("export_saved", { path: saved });
  if (lastChannels) renderChannels(lastChannels);
  if (lastFeeds) renderFeeds(lastFeeds);
  fillProviderSelects();
  if (loadedSettings) renderPasswordState(loadedSettings);
}

// ---------- status ----------

function renderLines(lines) {
  knownLines = lines || [];
  const several = knownLines.length > 1;
  $("line-switch").hidden = !several;
  if (!several) {
    // Back to one line (the config changed): the window shows the agent's only one.
    pickedLine = null;
    return;
  }
  const picker = $("line-picker");
  picker.replaceChildren(...knownLines.map((line) => node("option", {
    value: line.label,
    textContent: t("line_option", {
      label: line.label,
      verdict: `${VERDICT_GLYPH[line.verdict] || "?"} ${line.configured ? t("verdict." + line.verdict) : t("not_set_up")}`,
    }),
  })));
  picker.value = pickedLine || knownLines[0].label;
}

function renderStatus(view) {
  renderLines(view.lines || []);
  // The agent sends every line's status as it changes: only the picked one is shown.
  const shown = pickedLine || (knownLines[0] && knownLines[0].label) || null;
  if (view.line && shown && view.line !== shown) return;
  lastStatus = view;
  const l = lang();
  const card = $("verdict-card");
  card.dataset.verdict = view.verdict;
  // Which round the window shows, machine-readable: the visible time is only to the minute, and
  // the end-to-end test needs to see that a new round (a "Check now", the next status) arrived.
  card.dataset.checkedAt = view.checked_at || "";
  $("verdict-glyph").textContent = VERDICT_GLYPH[view.verdict] || "?";
  // The headline is an aria-live region: written only when its words change, so the 30 s
  // re-render that ages "since" does not read the verdict out again.
  setText($("verdict-text"), view.configured ? t("verdict." + view.verdict) : t("not_set_up"));
  setText($("summary"), view.summary[l]);
  setText($("reason"), view.reason[l] || "");
  // The technical register (transport, address, SIP code) is one click away, for admins.
  const detail = view.detail[l];
  $("verdict-details").hidden = !detail || detail === view.reason[l];
  $("detail").textContent = detail || "";
  $("since").textContent = sinceText(view.since)
    + (view.checked_at ? " · " + t("checked_at", { time: when(view.checked_at) }) : "");
  // The tray's "Pause 1 h" from here too: it silences notifications, the icon still follows.
  const paused = !!view.alerts_paused_until && Date.parse(view.alerts_paused_until) > Date.now();
  const pause = $("pause-alerts");
  pause.dataset.paused = String(paused);
  pause.textContent = paused
    ? t("resume_alerts", { time: when(view.alerts_paused_until) })
    : t("pause_alerts");
  // After a rejected login nothing is sent until the user says so: one attempt per click.
  $("retry-login").hidden = !view.login_suspended;
  // No tray host: this window is the only sign of the agent; say how to get its icon.
  $("no-tray").hidden = !view.tray_icon_hidden;
  const pending = $("pending");
  pending.hidden = !view.pending;
  pending.textContent = view.pending ? t("pending", { verdict: t("verdict." + view.pending) }) : "";

  // The set-up's router paragraph: what the router told without a login.
  const router = view.layers.find((x) => x.layer === "router");
  const seen = router ? router.evidence[l].map((f) => f.text).join("; ") : "";
  $("setup-router-seen").textContent = seen ? t("router_seen", { evidence: seen }) : t("router_seen_none");
  // What the router registers with pre-fills an empty set-up (the provider follows from the
  // registrar through the catalog); nothing the user typed is overwritten.
  const fromRouter = view.router_account;
  if (fromRouter && !$("setup-registrar").value) {
    $("setup-registrar").value = fromRouter.registrar;
    if (fromRouter.number && !$("setup-user").value) $("setup-user").value = fromRouter.number;
    detect("setup-registrar", "setup-detected", "setup-provider");
  }

  const chain = $("chain");
  // Each check re-renders the chain: a "Technical details" the person opened stays open, and
  // keeps the keyboard's focus.
  const opened = new Set([...chain.querySelectorAll("details[open]")]
    .map((d) => d.closest("li[data-layer]").dataset.layer));
  const focused = chain.contains(document.activeElement)
    ? document.activeElement.closest("li[data-layer]").dataset.layer : null;
  chain.replaceChildren(...view.layers.map((layer) => {
    const facts = layer.evidence[l];
    const evidence = facts.map((f) =>
      node("li", { textContent: f.text, className: f.problem ? "problem" : "" }));
    const parts = [
      node("div", { className: "layer-head" }, [
        node("span", { className: "layer-glyph", textContent: LAYER_GLYPH[layer.status] || "?", ariaHidden: "true" }),
        node("span", { className: "layer-name", textContent: t("layer." + layer.layer) }),
      ]),
      node("div", { className: "layer-status", textContent: t("layer_status." + layer.status)
        + (typeof layer.latency_ms === "number" ? ` · ${Math.round(layer.latency_ms)} ms` : "") }),
      node("ul", {}, evidence),
    ];
    // The same facts in the technical register, only when it says more than the plain one.
    if (facts.some((f) => f.detail !== f.text)) {
      parts.push(node("details", { className: "details", open: opened.has(layer.layer) }, [
        node("summary", { textContent: t("details_technical") }),
        node("ul", {}, facts.map((f) => node("li", { textContent: f.detail }))),
      ]));
    }
    return node("li", { id: "layer-" + layer.layer, dataset: { status: layer.status, layer: layer.layer } }, parts);
  }));
  const refocus = focused && chain.querySelector(`li[data-layer="${focused}"] summary`);
  if (refocus) refocus.focus();
  renderFirst();

  // First run opens on the setup, once: after that the user may look around freely.
  if (!view.configured && !setupOffered) {
    setupOffered = true;
    showView("setup");
  }
}

/** "for 4 min (since 04:18)" in the recent past, "since 2 Dec 2026, 04:18" before. */
function sinceText(iso) {
  const age = Date.now() - Date.parse(iso);
  if (age >= 0 && age < RECENT_MS) return t("since_recent", { ago: ago(age), time: clock(iso) });
  return t("since", { time: when(iso) });
}

// ---------- what comes first ----------

/** Which first actions a verdict calls for: the provider's word, or steps of the person's own. */
const FIRST = {
  provider_outage: { title: "first_provider", steps: null, channels: "official" },
  account_problem: { title: "first_do", steps: "account_problem", channels: "help" },
  internet_down: { title: "first_do", steps: "internet_down", channels: null },
  local_problem: { title: "first_do", steps: "local_problem", channels: null },
};

/**
 * Right under the verdict: during a provider outage its official channels (X first) and its
 * latest official post; when the fault is at home or in the internet access, what the person
 * can do. Hidden while the line works.
 */
function renderFirst() {
  const view = lastStatus;
  const plan = view && view.configured ? FIRST[view.verdict] : null;
  const box = $("first");
  box.hidden = !plan;
  // During the provider's outage its channels stand up here; the list below would repeat them.
  $("channels-section").hidden = !!plan && plan.channels === "official";
  if (!plan) return;
  const name = (lastChannels && lastChannels.provider && lastChannels.provider.name)
    || (view.provider && view.provider.name) || t("provider_fallback");
  // Every status event calls this; rebuilding unchanged buttons would take the keyboard's
  // focus away from the one the person is on.
  const shows = JSON.stringify([lang(), view.verdict, name, lastChannels, lastFeeds]);
  if (box.dataset.shows === shows) return;
  box.dataset.shows = shows;
  $("first-title").textContent = t(plan.title, { provider: name });
  const steps = $("first-steps");
  steps.hidden = !plan.steps;
  steps.replaceChildren(...(plan.steps ? t("steps." + plan.steps).split("\n") : [])
    .map((text) => node("li", { textContent: text })));
  const wanted = (ch) => plan.channels === "official" ? ch.official
    : plan.channels === "help" ? ["hotline", "website"].includes(ch.kind) : false;
  const channels = lastChannels ? lastChannels.channels.filter(wanted) : [];
  $("first-channels").replaceChildren(...channels.map((ch, i) =>
    channelButton(ch, plan.channels === "official" && i === 0)));
  const post = plan.channels === "official" ? latestPost() : null;
  const shown = $("first-post");
  shown.hidden = !post;
  if (post) {
    const items = [node("span", { textContent: t("latest_post", {
      provider: name, time: post.published ? when(post.published) : t("undated"), title: post.title,
    }) })];
    if (post.link) items.push(" ", openPostButton(post));
    shown.replaceChildren(...items);
  }
}

/** The newest post of the provider's official feeds, if any. */
function latestPost() {
  if (!lastFeeds || !lastFeeds.available) return null;
  const posts = lastFeeds.feeds.flatMap((f) => f.posts);
  const at = (p) => (p.published ? Date.parse(p.published) : -Infinity);
  return posts.reduce((best, p) => (!best || at(p) > at(best) ? p : best), null);
}

// ---------- history, outages ----------

async function loadHistory() {
  try {
    lastHistory = await invoke("history", { hours: 24, ...lineArg() });
    renderTimeline($("timeline"), lastHistory);
  } catch (err) {
    showError(err);
  }
}

async function loadOutages() {
  try {
    renderOutages(await invoke("episodes", { days: OUTAGE_DAYS, ...lineArg() }));
  } catch (err) {
    showError(err);
  }
}

/** Seconds as "H:MM:SS", hours not wrapped (the report's format). */
function hms(secs) {
  const s = Math.max(0, Math.floor(secs));
  const pad = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** Now as a datetime-local value ("2026-03-02T10:05") in local time. */
function localNow() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function renderOutages(reply) {
  lastOutages = reply;
  const episodes = reply.episodes || [];
  $("outages-unavailable").hidden = reply.available;
  $("outages-none").hidden = !reply.available || episodes.length > 0;
  $("outages-truncated").hidden = !reply.truncated;
  $("outages-table").hidden = episodes.length === 0;
  if (!episodes.some((e) => e.id === selectedEpisode)) {
    selectedEpisode = episodes.length ? episodes[episodes.length - 1].id : null;
  }
  $("outages-body").replaceChildren(...[...episodes].reverse().map((o) => {
    const details = node("button", { type: "button", textContent: t("details") });
    details.addEventListener("click", () => {
      selectedEpisode = o.id;
      renderOutages(lastOutages);
      $("episode-details").scrollIntoView({ block: "nearest" });
    });
    const row = node("tr", { dataset: { verdict: o.verdict, episode: String(o.id) } }, [
      node("td", { textContent: when(o.start) }),
      node("td", { textContent: o.end ? when(o.end) : t("ongoing") }),
      node("td", { textContent: hms(o.duration_secs) }),
      node("td", { textContent: `${VERDICT_GLYPH[o.verdict] || "?"} ${t("verdict." + o.verdict)}` }),
      node("td", { textContent: o.failing_layer ? t("layer." + o.failing_layer) : "–" }),
      node("td", { textContent: o.reports.length ? when(o.reports[0].reported_at) : "–" }),
      node("td", {}, [details]),
    ]);
    row.setAttribute("aria-selected", String(o.id === selectedEpisode));
    return row;
  }));
  renderEpisode(episodes.find((e) => e.id === selectedEpisode));
}

function renderEpisode(e) {
  const box = $("episode-details");
  box.hidden = !e;
  if (!e) return;
  const l = lang();
  $("episode-title").textContent = t("episode_title", { id: e.id, verdict: t("verdict." + e.verdict) });
  const facts = [
    ["episode_start", when(e.start)],
    ["episode_end", e.end ? when(e.end) : t("ongoing")],
    ["episode_duration", hms(e.duration_secs)],
    ["episode_verdict", t("verdict." + e.verdict)],
    ["episode_layer", e.failing_layer ? t("layer." + e.failing_layer) : "–"],
  ];
  if (e.evidence && e.evidence[l]) facts.push(["episode_evidence", e.evidence[l]]);
  $("episode-facts").replaceChildren(...facts.flatMap(([key, value]) =>
    [node("dt", { textContent: t(key) }), node("dd", { textContent: value })]));
  $("episode-reports").replaceChildren(...(e.reports.length ? e.reports.map((r) => {
    let text = t("report_line", { time: when(r.reported_at), channel: r.channel });
    if (r.ticket) text += ", " + t("report_ticket_line", { ticket: r.ticket });
    const items = [node("span", { textContent: text })];
    if (r.note) items.push(node("br"), node("span", { className: "muted", textContent: r.note }));
    return node("li", {}, items);
  }) : [node("li", { className: "muted", textContent: t("episode_reports_none") })]));
  $("episode-posts").replaceChildren(...(e.posts.length ? e.posts.map((p) =>
    node("li", { textContent: (p.published ? when(p.published) + " — " : "") + p.title }))
    : [node("li", { className: "muted", textContent: t("episode_posts_none") })]));
  const at = $("report-at");
  if (!at.value) at.value = localNow();
  $("report-channels").replaceChildren(...["hotline", "web_form", "email", "chat", "letter"].map((k) =>
    node("option", { value: t("report_channel_option." + k) })));
}

async function submitReport(event) {
  event.preventDefault();
  if (selectedEpisode === null) return;
  const args = {
    episode: selectedEpisode,
    reportedAt: $("report-at").value,
    channel: $("report-channel").value,
    ticket: $("report-ticket").value.trim() || null,
    note: $("report-note").value.trim() || null,
    // Each line keeps its own outage log, numbered on its own.
    ...lineArg(),
  };
  try {
    await call("attach_report", args);
    for (const id of ["report-at", "report-channel", "report-ticket", "report-note"]) $(id).value = "";
    showMessage("report_saved");
    await loadOutages();
  } catch (_) { /* shown by call() */ }
}

async function exportLog(format) {
  const result = $("export-result");
  result.textContent = "";
  try {
    // The dashboard process picks the directory and a fresh file name; the window only
    // learns where the file went.
    const path = await call("export_log", { format, lang: lang(), ...lineArg() });
    result.textContent = t("export_saved", { path });
    result.dataset.path = path;
  } catch (_) { /* shown by call() */ }
}

// ---------- channels, feeds ----------

async function openLink(url) {
  try {
    await invoke("open_channel", { url });
  } catch (err) {
    showError(err);
  }
}

/**
 * One channel as a button. Its label names the page ("1&1 on X (@1und1)", "1&1 status page")
 * and a crowd page carries one "not official" mark: both from the engine, as in the tray.
 */
function channelButton(ch, primary) {
  const classes = [ch.official ? "" : "crowd", primary ? "primary" : ""].filter(Boolean).join(" ");
  const b = node("button", { type: "button", textContent: ch.label[lang()], className: classes,
    dataset: { kind: ch.kind } });
  b.addEventListener("click", () => openLink(ch.url));
  return b;
}

/** The "Open" button of an official post (its link is checked again by the dashboard). */
function openPostButton(post) {
  const b = node("button", { type: "button", textContent: t("open_post") });
  b.addEventListener("click", () => openLink(post.link));
  return b;
}

function renderChannels(reply) {
  lastChannels = reply;
  const name = reply.provider ? reply.provider.name : "";
  $("channels-title").textContent = t("channels", { provider: name || t("provider") });
  const box = $("channels");
  if (!reply.provider || reply.channels.length === 0) {
    box.replaceChildren(node("p", { textContent: t("channels_none") }));
  } else {
    box.replaceChildren(...reply.channels.map((ch) => channelButton(ch, false)));
  }
  renderFirst();
}

function renderFeeds(reply) {
  lastFeeds = reply;
  renderFirst();
  const box = $("feeds");
  if (!reply.available || reply.feeds.length === 0) {
    box.replaceChildren(node("p", { textContent: t("feeds_none") }));
    return;
  }
  box.replaceChildren(...reply.feeds.map((feed) => {
    const parts = [];
    if (feed.problem) parts.push(node("p", { className: "muted", textContent: t("feed_problem", { url: feed.url, problem: feed.problem }) }));
    if (feed.posts.length === 0 && !feed.problem) parts.push(node("p", { className: "muted", textContent: t("feed_empty", { url: feed.url }) }));
    parts.push(node("ul", {}, feed.posts.slice(0, 5).map((post) => {
      const items = [node("span", { textContent: (post.published ? when(post.published) + " — " : "") + post.title })];
      if (post.link) items.push(" ", openPostButton(post));
      return node("li", {}, items);
    })));
    return node("article", {}, parts);
  }));
}

async function loadChannelsAndFeeds() {
  try {
    renderChannels(await invoke("channels", lineArg()));
    renderFeeds(await invoke("feeds", lineArg()));
  } catch (err) {
    showError(err);
  }
}

// ---------- settings and setup ----------

function fillProviderSelects() {
  for (const id of ["set-provider", "setup-provider"]) {
    const select = $(id);
    const value = select.value;
    select.replaceChildren(
      node("option", { value: "", textContent: t("provider_none") }),
      ...providers.map((p) => node("option", { value: p.id, textContent: p.name + (p.country ? ` (${p.country})` : "") })),
    );
    select.value = value;
  }
}

function renderPasswordState(settings) {
  $("password-state").textContent = settings.password_stored ? t("password_stored") : t("password_not_stored");
}

function renderSettings(s) {
  loadedSettings = s;
  // With [[line]] tables the form edits the shared settings; the lines' accounts stay in the
  // config file (the agent ignores provider and account then), and the note says so.
  const perLine = !!s.lines_in_config;
  $("settings-lines-note").hidden = !perLine;
  for (const id of ["set-provider-label", "set-provider", "set-account"]) $(id).hidden = perLine;
  $("set-provider").value = s.provider || "";
  $("set-registrar").value = s.account ? s.account.registrar : "";
  $("set-user").value = (s.account && s.account.user) || "";
  $("set-password").value = "";
  $("set-interval").value = s.interval_secs;
  $("set-recheck").value = s.recheck_secs;
  $("set-account-interval").value = s.account_interval_secs;
  $("set-notifications").checked = s.notifications;
  $("set-start-at-login").checked = s.start_at_login;
  $("set-language").value = s.language || "";
  renderPasswordState(s);
}

async function loadSettings() {
  try {
    renderSettings(await invoke("settings"));
  } catch (err) {
    showError(err);
  }
}

function accountFrom(registrar, user, previous) {
  const r = registrar.trim();
  if (!r) return null;
  return { ...(previous || {}), registrar: r, user: user.trim() || null };
}

async function detect(inputId, outputId, selectId) {
  const registrar = $(inputId).value.trim();
  const out = $(outputId);
  if (!registrar) { out.textContent = ""; return; }
  try {
    const found = await invoke("detect_provider", { registrar });
    if (found) {
      out.textContent = t("detected", { name: found.name });
      if (!$(selectId).value) $(selectId).value = found.id;
    } else {
      out.textContent = t("not_detected");
    }
  } catch (err) {
    showError(err);
  }
}

async function saveSettingsForm(event) {
  event.preventDefault();
  const base = loadedSettings || {};
  const settings = {
    ...base,
    provider: $("set-provider").value || null,
    account: accountFrom($("set-registrar").value, $("set-user").value, base.account),
    interval_secs: Number($("set-interval").value),
    recheck_secs: Number($("set-recheck").value),
    account_interval_secs: Number($("set-account-interval").value),
    notifications: $("set-notifications").checked,
    start_at_login: $("set-start-at-login").checked,
    language: $("set-language").value || null,
  };
  const password = $("set-password").value || null;
  try {
    // One request: the agent stores the new password before it restarts the line.
    renderSettings(await call("save_settings", { settings, password }));
    if (password) $("set-password").value = "";
    if (loadedSettings.language) switchLang(loadedSettings.language);
    showMessage("saved");
    loadChannelsAndFeeds();
  } catch (_) { /* shown by call() */ }
}

async function storePassword(inputId) {
  const input = $(inputId);
  const password = input.value;
  if (!password) return;
  try {
    await call("set_password", { password });
    input.value = "";
    showMessage("password_saved");
    await loadSettings();
  } catch (_) { /* shown by call() */ }
}

let setupOffered = false;

async function submitSetup(event) {
  event.preventDefault();
  const base = loadedSettings || (await call("settings"));
  const settings = {
    ...base,
    provider: $("setup-provider").value || null,
    account: accountFrom($("setup-registrar").value, $("setup-user").value, base.account),
  };
  const password = $("setup-password").value || null;
  try {
    renderSettings(await call("save_settings", { settings, password }));
    $("setup-password").value = "";
    showView("status");
    loadChannelsAndFeeds();
  } catch (_) { /* shown by call() */ }
}

// ---------- views ----------

function showView(name) {
  for (const v of ["setup", "status", "outages", "settings"]) $("view-" + v).hidden = v !== name;
  for (const b of document.querySelectorAll("button.nav")) b.setAttribute("aria-pressed", String(b.dataset.view === name));
  if (name === "outages") loadOutages();
  if (name === "settings") loadSettings();
}

// ---------- live link ----------

function setConnected(connected) {
  $("reconnecting").hidden = connected;
  document.body.dataset.connection = connected ? "connected" : "reconnecting";
}

async function refreshAll() {
  try {
    renderStatus(await invoke("status", lineArg()));
    $("error").hidden = true;
  } catch (err) {
    showError(err);
  }
  await Promise.all([loadHistory(), loadChannelsAndFeeds()]);
}

async function start() {
  setLang(await invoke("system_lang").catch(() => "en"));
  applyStaticStrings();

  $("ui-lang").addEventListener("change", (e) => switchLang(e.target.value));
  for (const b of document.querySelectorAll("button.nav")) b.addEventListener("click", () => showView(b.dataset.view));
  $("check-now").addEventListener("click", async () => {
    try { await call("check_now", lineArg()); showMessage("check_started"); } catch (_) { /* shown */ }
  });
  $("line-picker").addEventListener("change", async (e) => {
    pickedLine = e.target.value || null;
    lastStatus = null;
    lastHistory = null;
    // Episode numbers are the line's own: nothing of the other line's log stays selected.
    lastOutages = null;
    selectedEpisode = null;
    await refreshAll();
    if (!$("view-outages").hidden) loadOutages();
  });
  $("retry-login").addEventListener("click", async () => {
    try { await call("retry_login"); showMessage("login_retried"); } catch (_) { /* shown */ }
  });
  $("pause-alerts").addEventListener("click", async () => {
    const minutes = $("pause-alerts").dataset.paused === "true" ? 0 : PAUSE_MINUTES;
    try { renderStatus(await call("pause_alerts", { minutes })); } catch (_) { /* shown */ }
  });
  $("settings-form").addEventListener("submit", saveSettingsForm);
  $("setup-form").addEventListener("submit", submitSetup);
  $("report-form").addEventListener("submit", submitReport);
  $("export-csv").addEventListener("click", () => exportLog("csv"));
  $("export-html").addEventListener("click", () => exportLog("html"));
  $("store-password").addEventListener("click", () => storePassword("set-password"));
  $("set-registrar").addEventListener("change", () => detect("set-registrar", "set-detected", "set-provider"));
  $("setup-registrar").addEventListener("change", () => detect("setup-registrar", "setup-detected", "setup-provider"));

  await tauri.event.listen("agent:status", (e) => renderStatus(e.payload));
  await tauri.event.listen("agent:changed", () => { loadHistory(); loadChannelsAndFeeds(); if (!$("view-outages").hidden) loadOutages(); });
  await tauri.event.listen("agent:connection", (e) => {
    const connected = e.payload === "connected";
    setConnected(connected);
    if (connected) refreshAll();
  });

  providers = await invoke("providers").catch((err) => { showError(err); return []; });
  fillProviderSelects();
  try {
    const settings = await invoke("settings");
    renderSettings(settings);
    if (settings.language) switchLang(settings.language);
  } catch (_) { /* the agent may be down: the banner says so */ }
  setConnected((await invoke("connection")) === "connected");
  await refreshAll();
  // "since … (12 min)" ages while the window is open.
  setInterval(() => { if (lastStatus) renderStatus(lastStatus); }, 30000);
}

start();
