// Every fixed string of the dashboard in English and German. Evidence, summaries and reasons
// are worded by the engine (src-tauri renders them in both languages); this file holds the
// labels around them. Keys missing in one language fail the dictionary test in src-tauri.

export const STRINGS = {
  en: {
    title: "dialtone",
    nav_status: "Status",
    nav_outages: "Outages",
    nav_settings: "Settings",
    language: "Language",
    reconnecting: "Connection to the dialtone agent lost — reconnecting…",
    check_now: "Check now",
    check_started: "Checking every layer…",
    since: "since {time} ({ago})",
    checked_at: "last checked {time}",
    pending: "The latest check says “{verdict}”; re-checking to confirm.",
    not_set_up: "Not set up yet",
    chain: "From this computer to your account",
    timeline: "Last 24 hours",
    timeline_rtt: "SIP response time (ms)",
    timeline_empty: "No checks recorded in the last 24 hours yet.",
    timeline_unavailable: "The agent keeps no history.",
    channels: "Where {provider} reports outages",
    channels_none: "No provider chosen: pick one in Settings to see its official channels.",
    feeds: "Latest official status posts",
    feeds_none: "No official status feed for this provider.",
    feed_problem: "Could not read {url}: {problem}",
    feed_empty: "No posts in {url}.",
    open_post: "Open",
    outages: "Outages in the last 7 days",
    outages_none: "No outages in the last 7 days.",
    outage_start: "Began",
    outage_end: "Ended",
    outage_duration: "Duration",
    outage_verdict: "What",
    outage_layer: "Failing layer",
    ongoing: "ongoing",
    settings: "Settings",
    provider: "Provider",
    provider_none: "— other / not in the list —",
    detected: "Detected: {name}",
    not_detected: "Not in the catalog; dialtone checks the registrar you entered.",
    account: "Account",
    registrar: "Registrar (SIP server)",
    registrar_hint: "e.g. sip.1und1.de — from your router's telephony settings",
    user: "User name (optional, enables the login check)",
    password: "SIP password",
    password_store: "Store password",
    password_stored: "A password is stored in the keyring.",
    password_not_stored: "No password stored.",
    password_saved: "Password stored in the keyring.",
    intervals: "Check intervals (seconds)",
    interval: "While the line works",
    recheck: "While confirming a change",
    account_interval: "Login check",
    notifications: "Show notifications on changes",
    start_at_login: "Start dialtone when I log in",
    app_language: "Language of notifications and tray",
    lang_system: "System language",
    save: "Save",
    saved: "Settings saved.",
    setup_title: "Set up dialtone",
    setup_intro: "Choose your telephone provider, or enter the registrar from your router's settings. That is enough to start checking; the account is optional.",
    setup_start: "Start checking",
    verdict: {
      healthy: "Line works",
      degraded: "Works, but poorly",
      provider_outage: "Provider outage",
      account_problem: "Account problem",
      internet_down: "Internet down",
      local_problem: "No connection at home",
      unknown: "Unknown",
    },
    layer: {
      device: "This computer",
      home_network: "Router",
      internet: "Internet",
      provider: "Provider",
      account: "Account",
    },
    layer_status: {
      ok: "works",
      failed: "fails",
      degraded: "degraded",
      skipped: "not checked",
    },
    channel_kind: {
      x: "X",
      mastodon: "Mastodon",
      status_page: "Status page",
      blog: "News",
      hotline: "Hotline",
      website: "Website",
      crowd: "Crowd reports (not official)",
    },
    error: {
      agent_unreachable: "The dialtone agent is not running. Start dialtone, then try again.",
      connection: "The connection to the dialtone agent broke. Try again.",
      invalid: "Please check “{field}”: {detail}.",
      link_refused: "This link is not one of your provider's channels and was not opened.",
      open: "The link could not be opened: {detail}",
      catalog: "The provider list could not be read: {detail}",
      agent: "The agent refused: {detail}",
      unknown: "Something went wrong: {detail}",
    },
    ago: { s: "{n} s", m: "{n} min", h: "{n} h", d: "{n} d" },
  },
  de: {
    title: "dialtone",
    nav_status: "Status",
    nav_outages: "Störungen",
    nav_settings: "Einstellungen",
    language: "Sprache",
    reconnecting: "Verbindung zum dialtone-Dienst verloren — verbinde neu…",
    check_now: "Jetzt prüfen",
    check_started: "Alle Ebenen werden geprüft…",
    since: "seit {time} ({ago})",
    checked_at: "zuletzt geprüft {time}",
    pending: "Die letzte Prüfung ergab „{verdict}“; wird zur Bestätigung wiederholt.",
    not_set_up: "Noch nicht eingerichtet",
    chain: "Von diesem Computer bis zu Ihrem Konto",
    timeline: "Letzte 24 Stunden",
    timeline_rtt: "SIP-Antwortzeit (ms)",
    timeline_empty: "In den letzten 24 Stunden wurde noch nichts aufgezeichnet.",
    timeline_unavailable: "Der Dienst führt keinen Verlauf.",
    channels: "Hier meldet {provider} Störungen",
    channels_none: "Kein Anbieter gewählt: wählen Sie ihn in den Einstellungen, um seine offiziellen Kanäle zu sehen.",
    feeds: "Neueste offizielle Statusmeldungen",
    feeds_none: "Dieser Anbieter hat keinen offiziellen Status-Feed.",
    feed_problem: "{url} konnte nicht gelesen werden: {problem}",
    feed_empty: "Keine Meldungen in {url}.",
    open_post: "Öffnen",
    outages: "Störungen der letzten 7 Tage",
    outages_none: "Keine Störungen in den letzten 7 Tagen.",
    outage_start: "Beginn",
    outage_end: "Ende",
    outage_duration: "Dauer",
    outage_verdict: "Was",
    outage_layer: "Gestörte Ebene",
    ongoing: "andauernd",
    settings: "Einstellungen",
    provider: "Anbieter",
    provider_none: "— anderer / nicht in der Liste —",
    detected: "Erkannt: {name}",
    not_detected: "Nicht im Katalog; dialtone prüft den eingegebenen Registrar.",
    account: "Konto",
    registrar: "Registrar (SIP-Server)",
    registrar_hint: "z. B. sip.1und1.de — aus den Telefonie-Einstellungen Ihres Routers",
    user: "Benutzername (optional, für die Anmeldeprüfung)",
    password: "SIP-Passwort",
    password_store: "Passwort speichern",
    password_stored: "Ein Passwort ist im Schlüsselbund gespeichert.",
    password_not_stored: "Kein Passwort gespeichert.",
    password_saved: "Passwort im Schlüsselbund gespeichert.",
    intervals: "Prüfabstände (Sekunden)",
    interval: "Solange der Anschluss funktioniert",
    recheck: "Während eine Änderung bestätigt wird",
    account_interval: "Anmeldeprüfung",
    notifications: "Bei Änderungen benachrichtigen",
    start_at_login: "dialtone beim Anmelden starten",
    app_language: "Sprache von Benachrichtigungen und Symbolleiste",
    lang_system: "Systemsprache",
    save: "Speichern",
    saved: "Einstellungen gespeichert.",
    setup_title: "dialtone einrichten",
    setup_intro: "Wählen Sie Ihren Telefonanbieter oder geben Sie den Registrar aus den Einstellungen Ihres Routers ein. Das genügt für den Start; das Konto ist optional.",
    setup_start: "Prüfung starten",
    verdict: {
      healthy: "Anschluss funktioniert",
      degraded: "Funktioniert, aber schlecht",
      provider_outage: "Störung beim Anbieter",
      account_problem: "Problem mit dem Konto",
      internet_down: "Internet gestört",
      local_problem: "Keine Verbindung im Heimnetz",
      unknown: "Unbekannt",
    },
    layer: {
      device: "Dieser Computer",
      home_network: "Router",
      internet: "Internet",
      provider: "Anbieter",
      account: "Konto",
    },
    layer_status: {
      ok: "funktioniert",
      failed: "gestört",
      degraded: "eingeschränkt",
      skipped: "nicht geprüft",
    },
    channel_kind: {
      x: "X",
      mastodon: "Mastodon",
      status_page: "Statusseite",
      blog: "Neuigkeiten",
      hotline: "Hotline",
      website: "Website",
      crowd: "Nutzermeldungen (nicht offiziell)",
    },
    error: {
      agent_unreachable: "Der dialtone-Dienst läuft nicht. Starten Sie dialtone und versuchen Sie es erneut.",
      connection: "Die Verbindung zum dialtone-Dienst ist abgebrochen. Bitte erneut versuchen.",
      invalid: "Bitte „{field}“ prüfen: {detail}.",
      link_refused: "Dieser Link gehört nicht zu den Kanälen Ihres Anbieters und wurde nicht geöffnet.",
      open: "Der Link konnte nicht geöffnet werden: {detail}",
      catalog: "Die Anbieterliste konnte nicht gelesen werden: {detail}",
      agent: "Der Dienst lehnte ab: {detail}",
      unknown: "Etwas ist schiefgegangen: {detail}",
    },
    ago: { s: "{n} s", m: "{n} Min.", h: "{n} Std.", d: "{n} Tg." },
  },
};

// Colour and glyph per verdict (DESIGN.md §3): the glyph carries the meaning for people who
// cannot tell the colours apart.
export const VERDICT_GLYPH = {
  healthy: "✓",
  degraded: "!",
  provider_outage: "✗",
  account_problem: "⚷",
  internet_down: "⊘",
  local_problem: "⌂",
  unknown: "?",
};

export const LAYER_GLYPH = { ok: "✓", failed: "✗", degraded: "!", skipped: "–" };

let current = "en";

/** Sets the language used by `t` ("en" or "de"; anything else falls back to English). */
export function setLang(lang) {
  current = lang === "de" ? "de" : "en";
  document.documentElement.lang = current;
}

/** The current language. */
export function lang() {
  return current;
}

/** Looks up a dotted key ("verdict.healthy") and fills `{name}` placeholders. */
export function t(key, params = {}) {
  const find = (dict) => key.split(".").reduce((o, k) => (o == null ? undefined : o[k]), dict);
  let text = find(STRINGS[current]);
  if (typeof text !== "string") text = find(STRINGS.en);
  if (typeof text !== "string") return key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ""));
}

/** Formats a duration in milliseconds as "12 min". */
export function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return t("ago.s", { n: s });
  const m = Math.round(s / 60);
  if (m < 90) return t("ago.m", { n: m });
  const h = Math.round(m / 60);
  if (h < 36) return t("ago.h", { n: h });
  return t("ago.d", { n: Math.round(h / 24) });
}

/** A date and time in the current language. */
export function when(iso) {
  const d = new Date(iso);
  return new Intl.DateTimeFormat(current === "de" ? "de-DE" : "en-GB", {
    dateStyle: "short",
    timeStyle: "short",
  }).format(d);
}
