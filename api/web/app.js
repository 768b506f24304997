// The coach's web page: one script, no libraries, no external files. It talks only to the
// /v1 API of the server that served it. Dutch by default; English on request.
"use strict";

const TEXT = {
  nl: {
    skip: "Naar de inhoud", brand: "Coach", nav: "Hoofdmenu",
    "nav.ask": "Coach", "nav.sessions": "Mijn sessies", "nav.documents": "Documenten",
    "nav.drafts": "Concepten", "nav.insights": "Inzichten", "nav.privacy": "Mijn gegevens",
    "key.button": "API-sleutel", "key.title": "Je API-sleutel",
    "key.intro": "Plak de sleutel die je van je beheerder kreeg. Hij blijft alleen in dit browsertabblad bewaard.",
    "key.label": "API-sleutel", "key.save": "Opslaan", "key.forget": "Vergeten",
    "key.saved": "Sleutel opgeslagen.", "key.local": "Lokale modus: er is geen sleutel nodig.",
    "who": "Ingelogd als {user} ({role})", "who.local": "Lokale modus ({user})",
    "ask.title": "Waar loop je tegenaan?",
    "ask.intro": "Beschrijf een knelpunt in je werk, in het Nederlands of Engels. De coach zoekt in de procedures en geleerde lessen van de organisatie.",
    "ask.situation": "Je werksituatie", "ask.team": "Team (optioneel)", "ask.anyteam": "Alle teams",
    "ask.submit": "Vraag de coach", "ask.busy": "De coach denkt mee…",
    "stage.received": "Vraag ontvangen", "stage.retrieval": "Zoeken in procedures en lessen",
    "stage.generation": "Suggesties opstellen", "stage.questions": "Reflectievragen kiezen",
    "result.suggestions": "Suggesties", "result.questions": "Vragen om over na te denken",
    "result.colleagues": "Collega's om te raadplegen", "result.sources": "Bronnen",
    "result.related": "Verder lezen", "result.relatedHint": "Deze documenten raken minder direct aan je situatie; de suggesties komen er niet uit.",
    "result.why": "Waarom deze vraag", "result.cites": "Bron:", "result.notes": "Opmerkingen",
    "kind.improve": "Verbeteren", "kind.innovate": "Vernieuwen", "kind.skill": "Vaardigheid",
    "kind.consult": "Raadplegen",
    "ungrounded.title": "De coach vond hier niets over",
    "ungrounded.text": "In de procedures en geleerde lessen staat niets waarop de coach een betrouwbaar advies kan baseren. Beschrijf je situatie concreter (wat gebeurt er, bij welk werk), bespreek het met een collega of je leidinggevende, of leg straks vast wat je geprobeerd hebt: dan wordt het een les voor anderen. L&D telt deze vraag als mogelijke lacune; de tekst ziet L&D alleen als je dat toestaat onder ‘Mijn gegevens’, en nooit met je naam.",
    "feedback.title": "Was dit nuttig?", "feedback.yes": "Ja, nuttig", "feedback.no": "Niet nuttig",
    "feedback.comment": "Toelichting (optioneel)", "feedback.submit": "Feedback geven",
    "feedback.thanks": "Dank je, je feedback is opgeslagen.",
    "lesson.title": "Leg vast wat je geprobeerd en geleerd hebt",
    "lesson.intro": "Je verhaal wordt een concept-les die L&D beoordeelt; daarna kan de coach het anderen aanraden.",
    "lesson.tried": "Wat heb je geprobeerd?", "lesson.worked": "Wat werkte?", "lesson.not": "Wat werkte niet?",
    "lesson.lesson": "De les in één of twee zinnen", "lesson.submit": "Les insturen",
    "lesson.owner": "Naam als eigenaar (leeg: een anonieme collega)",
    "lesson.ownerHint": "Goedgekeurde lessen zijn voor iedereen in de organisatie te lezen, onder deze naam. Collega's kunnen je dan om raad vragen.",
    "lesson.situation": "Neem mijn situatie op in de les",
    "lesson.preview": "Bekijk wat er gepubliceerd wordt",
    "lesson.previewTitle": "Zo wordt je les gepubliceerd",
    "lesson.publishedAs": "Eigenaar: {name}", "lesson.anonymous": "een anonieme collega (geen naam)",
    "lesson.changed": "Je hebt iets gewijzigd: bekijk het voorbeeld opnieuw voordat je insturt.",
    "lesson.sent": "Dank je: je les staat als concept klaar voor beoordeling ({id}).",
    "sessions.title": "Mijn sessies", "sessions.none": "Je hebt nog geen sessies.",
    "sessions.open": "Openen", "sessions.export": "Exporteren (Markdown)", "sessions.delete": "Verwijderen",
    "sessions.confirm": "Deze sessie definitief verwijderen?", "sessions.deleted": "Sessie verwijderd.",
    "sessions.grounded": "onderbouwd", "sessions.ungrounded": "geen bronnen",
    "sessions.back": "Terug naar mijn sessies", "sessions.date": "Datum", "sessions.situation": "Situatie",
    "sessions.state": "Resultaat", "sessions.actions": "Acties",
    "portfolio.title": "Portfolio",
    "portfolio.intro": "Je talentontwikkeling over een periode: om te bewaren, af te drukken of te bespreken.",
    "portfolio.from": "Van", "portfolio.to": "Tot en met", "portfolio.markdown": "Markdown",
    "portfolio.html": "Afdrukbare versie", "portfolio.order": "Kies een begindatum die niet na de einddatum ligt.",
    "doc.back": "Terug", "doc.owner": "Eigenaar", "doc.team": "Team", "doc.updated": "Bijgewerkt",
    "docs.title": "Documenten", "docs.search": "Zoek in id of titel", "docs.type": "Soort",
    "docs.team": "Team", "docs.language": "Taal", "docs.status": "Status", "docs.any": "Alle",
    "docs.filter": "Filteren", "docs.count": "{n} documenten", "docs.id": "Id", "docs.titlecol": "Titel",
    "type.procedure": "Procedure", "type.lesson": "Les",
    "status.active": "Actief", "status.draft": "Concept", "status.retired": "Ingetrokken",
    "lang.nl": "Nederlands", "lang.en": "Engels",
    "edit.title": "Document bewerken", "edit.doctitle": "Titel", "edit.owner": "Eigenaar",
    "edit.tags": "Trefwoorden (komma's ertussen)", "edit.body": "Tekst (Markdown)",
    "edit.save": "Opslaan", "edit.retire": "Intrekken", "edit.saved": "Opgeslagen en opnieuw geïndexeerd.",
    "edit.retired": "Het document is ingetrokken.", "edit.invalid": "Het document is niet opgeslagen: verbeter de gemarkeerde velden.",
    "edit.conflict": "Iemand anders heeft dit document intussen gewijzigd. Je wijziging is niet opgeslagen. Herlaad het document en breng je wijziging opnieuw aan.",
    "edit.reload": "Document herladen", "edit.other": "Overige problemen",
    "drafts.title": "Concept-lessen", "drafts.none": "Er wachten geen concepten op beoordeling.",
    "drafts.by": "Van {user}, {date}", "drafts.edit": "Bewerken", "drafts.approve": "Goedkeuren",
    "drafts.reason": "Reden van afwijzing", "drafts.reject": "Afwijzen",
    "drafts.approved": "Goedgekeurd: de les is actief en geïndexeerd.", "drafts.rejected": "Afgewezen.",
    "drafts.needreason": "Geef een reden om af te wijzen.",
    "insights.title": "Inzichten", "insights.sessions": "{n} sessies in totaal",
    "insights.ungrounded": "Situaties zonder bronnen (lacunes in het corpus)",
    "insights.themes": "Veelvoorkomende thema's", "insights.feedback": "Feedback per document",
    "insights.retrieved": "Meest gebruikte documenten", "insights.none": "Nog niets.",
    "insights.helpful": "Nuttig", "insights.nothelpful": "Niet nuttig", "insights.theme": "Thema",
    "insights.count": "Sessies",
    "insights.cycles": "Vitale weekcycli",
    "insights.cyclecount": "{n} cycli: {completed} afgerond, {cancelled} geannuleerd, {planned} gepland of bezig. {ungrounded} van de {situations} ingebrachte situaties vonden niets in het corpus.",
    "insights.cyclesn": "Cycli",
    "insights.cycledocs": "Meest geciteerd in cycli",
    "insights.gapcount": "{n} sessies zonder bronnen. Alleen situaties van collega's die dat toestaan staan hieronder, zonder naam.",
    "privacy.title": "Mijn gegevens",
    "privacy.intro": "Wat de coach over je bewaart: je sessies met je feedback, je lessen en deze instelling.",
    "privacy.share": "L&D mag de tekst zien van mijn situaties waarover de coach niets vond (zonder mijn naam)",
    "privacy.shareHint": "Uit, tenzij je het aanzet. Aantallen telt L&D altijd mee, zonder tekst; je woorden tellen alleen mee in thema's als je dit aanzet, en een woord wordt pas een thema als meerdere mensen het gebruikten.",
    "privacy.records": "Leg vast wat ik met de coach leer in het leerregistratiesysteem (LRS) van de organisatie",
    "privacy.recordsHint": "Aan, tenzij je het uitzet, en alleen als de organisatie een LRS heeft: onder een code, niet je naam; de tekst van een situatie alleen als je die hierboven deelt.",
    "privacy.save": "Instelling opslaan", "privacy.saved": "Je instelling is opgeslagen.",
    "privacy.exportTitle": "Alles downloaden", "privacy.export": "Mijn gegevens downloaden (JSON)",
    "privacy.deleteTitle": "Alles verwijderen",
    "privacy.deleteIntro": "Verwijdert je sessies, feedback, instelling en je lessen die nog niet gepubliceerd zijn. Goedgekeurde lessen blijven in de kennisbank, onder de naam die je koos.",
    "privacy.delete": "Al mijn gegevens verwijderen",
    "privacy.confirm": "Al je gegevens definitief verwijderen? Dit kan niet ongedaan worden gemaakt.",
    "privacy.deleted": "Je gegevens zijn verwijderd: {sessions} sessies, {drafts} lessen.",
    "err.network": "De coach is niet bereikbaar. Controleer je verbinding en probeer het opnieuw.",
    "err.401": "Je API-sleutel ontbreekt of klopt niet. Vul je sleutel in via ‘API-sleutel’.",
    "err.403": "Dit mag je niet met jouw rol.", "err.404": "Niet gevonden.",
    "err.413": "Je tekst is te lang.", "err.422": "Dit klopt nog niet:",
    "err.503": "De coach is tijdelijk niet beschikbaar. Probeer het over een minuut opnieuw.",
    "err.other": "Er ging iets mis.", "loading": "Laden…",
  },
  en: {
    skip: "Skip to content", brand: "Coach", nav: "Main menu",
    "nav.ask": "Coach", "nav.sessions": "My sessions", "nav.documents": "Documents",
    "nav.drafts": "Drafts", "nav.insights": "Insights", "nav.privacy": "My data",
    "key.button": "API key", "key.title": "Your API key",
    "key.intro": "Paste the key your administrator gave you. It is kept in this browser tab only.",
    "key.label": "API key", "key.save": "Save", "key.forget": "Forget",
    "key.saved": "Key saved.", "key.local": "Local mode: no key needed.",
    "who": "Signed in as {user} ({role})", "who.local": "Local mode ({user})",
    "ask.title": "What is holding you up?",
    "ask.intro": "Describe a bottleneck in your work, in Dutch or English. The coach searches the organisation's procedures and lessons learned.",
    "ask.situation": "Your work situation", "ask.team": "Team (optional)", "ask.anyteam": "All teams",
    "ask.submit": "Ask the coach", "ask.busy": "The coach is thinking…",
    "stage.received": "Question received", "stage.retrieval": "Searching procedures and lessons",
    "stage.generation": "Writing suggestions", "stage.questions": "Choosing reflective questions",
    "result.suggestions": "Suggestions", "result.questions": "Questions to reflect on",
    "result.colleagues": "Colleagues to consult", "result.sources": "Sources",
    "result.related": "Related reading", "result.relatedHint": "These documents bear on your situation less directly; no suggestion comes from them.",
    "result.why": "Why this question", "result.cites": "Source:", "result.notes": "Notes",
    "kind.improve": "Improve", "kind.innovate": "Innovate", "kind.skill": "Skill",
    "kind.consult": "Consult",
    "ungrounded.title": "The coach found nothing on this",
    "ungrounded.text": "Nothing in the procedures and lessons learned gives the coach a reliable basis for advice. Describe your situation more concretely (what happens, in which work), talk it over with a colleague or your manager, or record later what you tried: it becomes a lesson for others. L&D counts this question as a possible gap; L&D sees its text only if you allow it under ‘My data’, and never with your name.",
    "feedback.title": "Was this helpful?", "feedback.yes": "Yes, helpful", "feedback.no": "Not helpful",
    "feedback.comment": "Comment (optional)", "feedback.submit": "Send feedback",
    "feedback.thanks": "Thank you, your feedback is saved.",
    "lesson.title": "Record what you tried and learned",
    "lesson.intro": "Your story becomes a draft lesson that L&D reviews; then the coach can suggest it to others.",
    "lesson.tried": "What did you try?", "lesson.worked": "What worked?", "lesson.not": "What did not work?",
    "lesson.lesson": "The lesson in one or two sentences", "lesson.submit": "Send lesson",
    "lesson.owner": "Name shown as owner (empty: an anonymous colleague)",
    "lesson.ownerHint": "Approved lessons can be read by everyone in the organisation, under this name. Colleagues can then ask you for advice.",
    "lesson.situation": "Include my situation in the lesson",
    "lesson.preview": "See what will be published",
    "lesson.previewTitle": "This is how your lesson will be published",
    "lesson.publishedAs": "Owner: {name}", "lesson.anonymous": "an anonymous colleague (no name)",
    "lesson.changed": "You changed something: look at the preview again before you send.",
    "lesson.sent": "Thank you: your lesson is a draft waiting for review ({id}).",
    "sessions.title": "My sessions", "sessions.none": "You have no sessions yet.",
    "sessions.open": "Open", "sessions.export": "Export (Markdown)", "sessions.delete": "Delete",
    "sessions.confirm": "Delete this session for good?", "sessions.deleted": "Session deleted.",
    "sessions.grounded": "grounded", "sessions.ungrounded": "no sources",
    "sessions.back": "Back to my sessions", "sessions.date": "Date", "sessions.situation": "Situation",
    "sessions.state": "Result", "sessions.actions": "Actions",
    "portfolio.title": "Portfolio",
    "portfolio.intro": "Your talent development over a period: to keep, print or discuss.",
    "portfolio.from": "From", "portfolio.to": "To (inclusive)", "portfolio.markdown": "Markdown",
    "portfolio.html": "Printable version", "portfolio.order": "Choose a start date that is not after the end date.",
    "doc.back": "Back", "doc.owner": "Owner", "doc.team": "Team", "doc.updated": "Updated",
    "docs.title": "Documents", "docs.search": "Search id or title", "docs.type": "Type",
    "docs.team": "Team", "docs.language": "Language", "docs.status": "Status", "docs.any": "Any",
    "docs.filter": "Filter", "docs.count": "{n} documents", "docs.id": "Id", "docs.titlecol": "Title",
    "type.procedure": "Procedure", "type.lesson": "Lesson",
    "status.active": "Active", "status.draft": "Draft", "status.retired": "Retired",
    "lang.nl": "Dutch", "lang.en": "English",
    "edit.title": "Edit document", "edit.doctitle": "Title", "edit.owner": "Owner",
    "edit.tags": "Tags (separated by commas)", "edit.body": "Text (Markdown)",
    "edit.save": "Save", "edit.retire": "Retire", "edit.saved": "Saved and re-indexed.",
    "edit.retired": "The document is retired.", "edit.invalid": "The document was not saved: fix the marked fields.",
    "edit.conflict": "Someone else changed this document in the meantime. Your change was not saved. Reload the document and make your change again.",
    "edit.reload": "Reload document", "edit.other": "Other problems",
    "drafts.title": "Draft lessons", "drafts.none": "No drafts are waiting for review.",
    "drafts.by": "By {user}, {date}", "drafts.edit": "Edit", "drafts.approve": "Approve",
    "drafts.reason": "Reason for rejecting", "drafts.reject": "Reject",
    "drafts.approved": "Approved: the lesson is active and indexed.", "drafts.rejected": "Rejected.",
    "drafts.needreason": "Give a reason to reject.",
    "insights.title": "Insights", "insights.sessions": "{n} sessions in all",
    "insights.ungrounded": "Situations without sources (gaps in the corpus)",
    "insights.themes": "Frequent themes", "insights.feedback": "Feedback per document",
    "insights.retrieved": "Most used documents", "insights.none": "Nothing yet.",
    "insights.helpful": "Helpful", "insights.nothelpful": "Not helpful", "insights.theme": "Theme",
    "insights.count": "Sessions",
    "insights.cycles": "Vital week cycles",
    "insights.cyclecount": "{n} cycles: {completed} completed, {cancelled} cancelled, {planned} planned or under way. {ungrounded} of the {situations} situations brought found nothing in the corpus.",
    "insights.cyclesn": "Cycles",
    "insights.cycledocs": "Most cited in cycles",
    "insights.gapcount": "{n} sessions without sources. Only situations of colleagues who allow it are listed below, without names.",
    "privacy.title": "My data",
    "privacy.intro": "What the coach keeps about you: your sessions with your feedback, your lessons and this setting.",
    "privacy.share": "L&D may read my situations the coach found nothing on (without my name)",
    "privacy.shareHint": "Off unless you turn it on. L&D always counts numbers, without the text; your words count towards themes only when this is on, and a word becomes a theme only when several people used it.",
    "privacy.records": "Record what I learn with the coach in the organisation's learning record store (LRS)",
    "privacy.recordsHint": "On unless you turn it off, and only when the organisation has an LRS: under a code, not your name; a situation's text only if you share it above.",
    "privacy.save": "Save setting", "privacy.saved": "Your setting is saved.",
    "privacy.exportTitle": "Download everything", "privacy.export": "Download my data (JSON)",
    "privacy.deleteTitle": "Delete everything",
    "privacy.deleteIntro": "Deletes your sessions, feedback, setting and your lessons that are not yet published. Approved lessons stay in the knowledge base, under the name you chose.",
    "privacy.delete": "Delete all my data",
    "privacy.confirm": "Delete all your data for good? This cannot be undone.",
    "privacy.deleted": "Your data is deleted: {sessions} sessions, {drafts} lessons.",
    "err.network": "The coach cannot be reached. Check your connection and try again.",
    "err.401": "Your API key is missing or wrong. Enter your key under ‘API key’.",
    "err.403": "Your role does not allow this.", "err.404": "Not found.",
    "err.413": "Your text is too long.", "err.422": "This is not right yet:",
    "err.503": "The coach is unavailable for a moment. Try again in a minute.",
    "err.other": "Something went wrong.", "loading": "Loading…",
  },
};

const state = { lang: localStorage.getItem("coach.lang") || "nl", me: null, teams: [], last: null, flash: "" };

function t(key, vars) {
  let text = TEXT[state.lang][key] ?? TEXT.nl[key] ?? key;
  for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
  return text;
}

// ---------- DOM helpers ----------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const $ = (selector) => document.querySelector(selector);
let fieldCounter = 0;
function field(labelText, control, hint) {
  const id = control.id || `f${++fieldCounter}`;
  control.id = id;
  const parts = [h("label", { for: id }, labelText), control];
  if (hint) parts.push(h("p", { class: "hint" }, hint));
  parts.push(h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
  control.setAttribute("aria-describedby", `${id}-error`);
  return h("div", { class: "field" }, parts);
}
function setFieldError(control, message) {
  const box = document.getElementById(`${control.id}-error`);
  control.setAttribute("aria-invalid", message ? "true" : "false");
  if (box) { box.textContent = message || ""; box.hidden = !message; }
}
function select(name, options, value) {
  return h("select", { name },
    options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)));
}
// A day as the API and <input type="date"> write it (YYYY-MM-DD), in local time.
function isoDay(day) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}
function setStatus(text) { $("#status").textContent = text || ""; }
function showError(error) {
  const box = $("#error");
  if (!error) { box.hidden = true; box.textContent = ""; return; }
  box.replaceChildren(...errorNodes(error));
  box.hidden = false;
}
function errorNodes(error) {
  if (!(error instanceof ApiError)) return [t("err.network")];
  const lead = TEXT[state.lang][`err.${error.status}`] ? t(`err.${error.status}`) : t("err.other");
  const nodes = [h("strong", {}, lead), " ", error.detail || ""];
  if (error.errors && error.errors.length) {
    nodes.push(h("ul", {}, error.errors.map((e) => h("li", {}, e.field ? `${e.field}: ${e.message}` : e.message))));
  }
  return nodes;
}

// ---------- API ----------
class ApiError extends Error {
  constructor(status, detail, errors) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.errors = errors || [];
  }
}
function authHeaders() {
  const key = sessionStorage.getItem("coach.key");
  return key ? { Authorization: `Bearer ${key}` } : {};
}
async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...authHeaders(), ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    throw new Error("network");
  }
  if (!response.ok) throw await apiError(response);
  if (raw || response.status === 204) return response;
  return response.json();
}
// A file from the API saved by the browser: fetched with the key (a plain link would go without
// it), then handed over as a blob URL, under the server's file name when it gives one.
async function download(path, fallbackName) {
  const response = await api(path, { raw: true });
  const named = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: named ? named[1] : fallbackName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
async function apiError(response) {
  let detail = response.statusText;
  let errors = [];
  try {
    const problem = await response.json();
    detail = problem.detail || problem.title || detail;
    errors = problem.errors || [];
  } catch (exc) { /* not JSON: keep the status text */ }
  return new ApiError(response.status, detail, errors);
}

// ---------- routing ----------
const ROUTES = [
  [/^#?\/?$/, viewAsk, "ask"],
  [/^#\/doc\/(.+)$/, viewSource, "ask"],
  [/^#\/sessions$/, viewSessions, "sessions"],
  [/^#\/sessions\/(.+)$/, viewSession, "sessions"],
  [/^#\/documents$/, viewDocuments, "documents"],
  [/^#\/documents\/(.+)$/, viewEditDocument, "documents"],
  [/^#\/drafts$/, viewDrafts, "drafts"],
  [/^#\/insights$/, viewInsights, "insights"],
  [/^#\/privacy$/, viewPrivacy, "privacy"],
  [/^#\/key$/, viewKey, null],
];
const NAV = [
  ["ask", "#/", "professional"], ["sessions", "#/sessions", "professional"],
  ["documents", "#/documents", "curator"], ["drafts", "#/drafts", "curator"],
  ["insights", "#/insights", "curator"], ["privacy", "#/privacy", "anyone"],
];
function allowed(role) {
  if (!state.me) return role === "professional";
  if (role === "anyone") return true;
  return state.me.role === "admin" || state.me.role === role;
}
function renderChrome(current) {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-label]")) el.setAttribute("aria-label", t(el.dataset.tLabel));
  const other = state.lang === "nl" ? "en" : "nl";
  const langButton = $("#lang-button");
  langButton.textContent = other === "en" ? "English" : "Nederlands";
  langButton.setAttribute("lang", other);
  $("#nav").replaceChildren(...NAV.filter(([, , role]) => allowed(role)).map(([name, href]) =>
    h("a", { href, "aria-current": name === current ? "page" : null }, t(`nav.${name}`))));
  const me = state.me;
  $("#who").textContent = me ? t(me.local_mode ? "who.local" : "who", { user: me.user, role: me.role }) : "";
}
let navigation = 0; // the newest route() call; an older view still loading must not draw over it
async function route() {
  const hash = location.hash || "#/";
  const ticket = ++navigation;
  showError(null);
  for (const [pattern, view, name] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    renderChrome(name);
    // Each navigation draws into its own pane: a view that finishes after the user moved on
    // (a language switch while the teams load) fills a pane that is no longer on the page.
    const main = h("div", { class: "view" }, h("p", { class: "progress" }, t("loading")));
    $("#main").replaceChildren(main);
    try {
      await view(main, ...match.slice(1).map(decodeURIComponent));
      if (ticket !== navigation) return;
      setStatus(state.flash);
      state.flash = "";
    } catch (error) {
      if (ticket !== navigation) return;
      main.replaceChildren();
      showError(error);
    }
    return;
  }
  location.hash = "#/";
}
function focusHeading(main) {
  const heading = main.querySelector("h1");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
}

// ---------- identity ----------
async function loadMe() {
  try {
    state.me = await api("/v1/me");
  } catch (error) {
    state.me = null;
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
}

function viewKey(main) {
  const input = h("input", { type: "password", name: "key", autocomplete: "off", value: sessionStorage.getItem("coach.key") || "" });
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      sessionStorage.setItem("coach.key", input.value.trim());
      await loadMe();
      if (!state.me) { showError(new ApiError(401, "")); return; }
      state.flash = t("key.saved");
      location.hash = state.me.role === "curator" ? "#/documents" : "#/";
    },
  },
  field(t("key.label"), input),
  h("div", { class: "actions" },
    h("button", { type: "submit" }, t("key.save")),
    h("button", { type: "button", class: "secondary", onclick: () => { sessionStorage.removeItem("coach.key"); input.value = ""; state.me = null; renderChrome(null); } }, t("key.forget"))));
  main.replaceChildren(h("h1", {}, t("key.title")),
    state.me && state.me.local_mode ? h("p", { class: "notice" }, t("key.local")) : h("p", {}, t("key.intro")),
    form);
  input.focus();
}

// ---------- the professional: ask ----------
async function viewAsk(main) {
  if (!state.teams.length) {
    try { state.teams = (await api("/v1/teams")).teams; } catch (error) { state.teams = []; }
  }
  const situation = h("textarea", { name: "situation", required: true, maxlength: "4000", rows: "6" });
  const team = select("team", [["", t("ask.anyteam")], ...state.teams.map((name) => [name, name])], "");
  const submit = h("button", { type: "submit" }, t("ask.submit"));
  const progress = h("div", { class: "progress", "aria-live": "polite" });
  const output = h("div", { id: "answer" });
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      if (!situation.value.trim()) { situation.focus(); return; }
      submit.disabled = true;
      output.replaceChildren();
      progress.textContent = t("ask.busy");
      try {
        const seen = [];
        const result = await askStreaming({ situation: situation.value, team: team.value || null }, (stage) => {
          seen.push(stage);
          progress.textContent = t(`stage.${stage}`);
        });
        output.dataset.stages = seen.join(" "); // what streamed in, for the curious (and the tests)
        progress.textContent = "";
        state.last = result; // back from a cited document, the answer is still here
        output.replaceChildren(renderResult(result, result.session_id));
        output.querySelector("h2")?.focus();
      } catch (error) {
        progress.textContent = "";
        showError(error);
      } finally {
        submit.disabled = false;
      }
    },
  },
  field(t("ask.situation"), situation),
  field(t("ask.team"), team),
  h("div", { class: "actions" }, submit));
  main.replaceChildren(h("h1", {}, t("ask.title")), h("p", {}, t("ask.intro")), form, progress, output);
  if (state.last) {
    situation.value = state.last.situation;
    output.replaceChildren(renderResult(state.last, state.last.session_id));
  }
  situation.focus();
}

async function askStreaming(body, onStage) {
  let response;
  try {
    response = await fetch("/v1/coach", {
      method: "POST",
      headers: { ...authHeaders(), "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
  } catch (exc) {
    throw new Error("network");
  }
  if (!response.ok) throw await apiError(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const kind = (block.match(/^event: (.*)$/m) || [])[1] || "message";
      const data = JSON.parse(block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n") || "null");
      if (kind === "progress") onStage(data.stage);
      else if (kind === "result") return data;
      else if (kind === "error") throw new ApiError(data.status, data.detail);
    }
  }
  throw new Error("network");
}

function renderResult(result, sessionId) {
  const parts = [];
  if (!result.grounded) {
    parts.push(h("section", { class: "notice", id: "ungrounded" },
      h("h2", { tabindex: "-1" }, t("ungrounded.title")), h("p", {}, t("ungrounded.text"))));
  } else {
    parts.push(h("h2", { tabindex: "-1" }, t("result.suggestions")));
    parts.push(h("ol", { class: "plain suggestions" }, result.suggestions.map((s) => suggestionCard(s, result, "h3"))));
  }
  if (result.didactic_questions.length) {
    parts.push(h("h2", {}, t("result.questions")));
    parts.push(h("ul", { class: "plain questions" }, result.didactic_questions.map((q) => questionCard(q))));
  }
  if (result.colleagues.length) {
    parts.push(h("h2", {}, t("result.colleagues")));
    parts.push(h("ul", {}, result.colleagues.map((c) => h("li", {}, c.owner, " — ",
      c.documents.map((id, i) => [i ? ", " : "", h("a", { href: `#/doc/${encodeURIComponent(id)}` }, titleOf(result, id))])))));
  }
  if (result.related && result.related.length) {
    parts.push(h("section", { class: "related", "aria-labelledby": "related-title" },
      h("h2", { id: "related-title" }, t("result.related")),
      h("p", { class: "meta" }, t("result.relatedHint")),
      h("ul", {}, result.related.map((s) => h("li", {},
        h("a", { href: `#/doc/${encodeURIComponent(s.id)}`, class: "related-doc" }, s.title))))));
  }
  if (result.notes && result.notes.length) {
    parts.push(h("h2", {}, t("result.notes")), h("ul", {}, result.notes.map((n) => h("li", {}, n))));
  }
  if (sessionId) parts.push(feedbackForm(sessionId), lessonForm(sessionId));
  return h("div", {}, parts);
}
// A suggestion with links to the documents it cites; `result` holds their titles (a coaching
// result, or a member's item in a cycle's agenda), `level` the heading that fits the page.
function suggestionCard(suggestion, result, level) {
  return h("li", { class: "card suggestion" },
    h(level, {}, h("span", { class: "kind" }, t(`kind.${suggestion.kind}`)), suggestion.title),
    h("p", {}, suggestion.action),
    h("p", { class: "citations" }, t("result.cites"), " ",
      suggestion.citations.map((id, i) => [i ? ", " : "", h("a", { href: `#/doc/${encodeURIComponent(id)}`, class: "citation" }, titleOf(result, id))])));
}
// `language`: the question's, when it may differ from the page's (a colleague's in a cycle).
function questionCard(question, language) {
  return h("li", { class: "card" }, h("p", {}, h("strong", { lang: language }, question.text)),
    h("p", { class: "meta" }, `${t("result.why")}: `, h("span", { lang: language }, question.why)));
}
function titleOf(result, id) {
  const source = result.sources.find((s) => s.id === id) || (result.related || []).find((s) => s.id === id);
  return source ? source.title : id;
}

function feedbackForm(sessionId) {
  const yes = h("input", { type: "radio", name: "helpful", value: "yes", id: `helpful-yes-${sessionId}` });
  const no = h("input", { type: "radio", name: "helpful", value: "no", id: `helpful-no-${sessionId}` });
  const comment = h("textarea", { name: "comment", rows: "3", maxlength: "4000" });
  const done = h("div", { "aria-live": "polite" });
  return h("form", {
    class: "feedback",
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      if (!yes.checked && !no.checked) { yes.focus(); return; }
      try {
        await api(`/v1/sessions/${sessionId}/feedback`, { method: "POST", body: { helpful: yes.checked, comment: comment.value || null } });
        done.replaceChildren(h("p", { class: "success" }, t("feedback.thanks")));
      } catch (error) { showError(error); }
    },
  },
  h("fieldset", {},
    h("legend", {}, t("feedback.title")),
    h("label", { class: "radio", for: yes.id }, yes, t("feedback.yes")),
    h("label", { class: "radio", for: no.id }, no, t("feedback.no")),
    field(t("feedback.comment"), comment),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("feedback.submit"))),
    done));
}

// The lesson is previewed on the session it comes from; `sendTo` is where it goes (a cycle's
// day-4 lesson goes through the cycle).
function lessonForm(sessionId, sendTo = `/v1/sessions/${sessionId}/lesson`) {
  const tried = h("textarea", { name: "what_tried", rows: "3", maxlength: "4000" });
  const worked = h("textarea", { name: "what_worked", rows: "3", maxlength: "4000" });
  const failed = h("textarea", { name: "what_not", rows: "3", maxlength: "4000" });
  const lesson = h("textarea", { name: "lesson", rows: "3", maxlength: "4000", required: true });
  const owner = h("input", { type: "text", name: "owner", maxlength: "120", autocomplete: "name" });
  const situation = h("input", { type: "checkbox", name: "include_situation", id: `include-situation-${sessionId}` });
  const preview = h("section", { class: "card preview", "aria-live": "polite", hidden: true });
  const send = h("button", { type: "button", hidden: true, onclick: submit }, t("lesson.submit"));
  const done = h("div", { "aria-live": "polite" });
  let shown = null; // the request the preview on screen was made from: only that one is sent
  const request = () => ({
    what_tried: tried.value, what_worked: worked.value, what_not: failed.value, lesson: lesson.value,
    owner: owner.value.trim() || null, include_situation: situation.checked,
  });
  function changed() {
    if (!shown) return;
    shown = null;
    send.hidden = true;
    preview.replaceChildren(h("p", { class: "meta" }, t("lesson.changed")));
  }
  async function showPreview(event) {
    event.preventDefault();
    showError(null);
    const body = request();
    try {
      const draft = await api(`/v1/sessions/${sessionId}/lesson/preview`, { method: "POST", body });
      shown = body;
      preview.hidden = false;
      preview.replaceChildren(
        h("h3", {}, t("lesson.previewTitle")),
        h("p", { class: "published-as" }, t("lesson.publishedAs", { name: draft.owner || t("lesson.anonymous") })),
        h("h4", { lang: draft.language }, draft.title),
        h("div", { class: "doc-body", lang: draft.language }, markdown(draft.body)));
      send.hidden = false;
      send.focus();
    } catch (error) { showError(error); }
  }
  async function submit() {
    showError(null);
    if (!shown) return;
    try {
      const draft = await api(sendTo, { method: "POST", body: shown });
      send.hidden = true;
      done.replaceChildren(h("p", { class: "success" }, t("lesson.sent", { id: draft.doc_id })));
    } catch (error) { showError(error); }
  }
  const form = h("form", { class: "lesson", oninput: changed, onchange: changed, onsubmit: showPreview },
    h("fieldset", {},
      h("legend", {}, t("lesson.title")),
      h("p", { class: "hint" }, t("lesson.intro")),
      field(t("lesson.tried"), tried), field(t("lesson.worked"), worked), field(t("lesson.not"), failed),
      field(t("lesson.lesson"), lesson),
      field(t("lesson.owner"), owner, t("lesson.ownerHint")),
      h("label", { class: "radio", for: situation.id }, situation, t("lesson.situation")),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("lesson.preview"))),
      preview,
      h("div", { class: "actions" }, send),
      done));
  return form;
}

// ---------- a cited document ----------
async function viewSource(main, id) {
  const doc = await api(`/v1/sources/${encodeURIComponent(id)}`);
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/", onclick: (event) => { if (history.length > 1) { event.preventDefault(); history.back(); } } }, `← ${t("doc.back")}`)),
    h("h1", {}, doc.title),
    h("p", { class: "meta" }, [t(`type.${doc.type}`), doc.team && `${t("doc.team")}: ${doc.team}`,
      doc.owner && `${t("doc.owner")}: ${doc.owner}`, doc.updated && `${t("doc.updated")}: ${doc.updated}`].filter(Boolean).join(" · ")),
    h("article", { class: "doc-body", lang: doc.language }, markdown(doc.body || "")));
  focusHeading(main);
}

// Just enough Markdown for the corpus: headings, lists, paragraphs, bold. Text is never HTML.
function markdown(text) {
  const root = document.createDocumentFragment();
  let list = null;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) root.append(h("p", {}, inline(paragraph.join(" "))));
    paragraph = [];
  };
  for (const line of text.split("\n")) {
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    const item = line.match(/^\s*(?:[-*]|\d+\.)\s+(.*)$/);
    if (heading) {
      flush(); list = null;
      root.append(h(`h${Math.min(6, heading[1].length + 1)}`, {}, inline(heading[2])));
    } else if (item) {
      flush();
      if (!list) { list = h("ul"); root.append(list); }
      list.append(h("li", {}, inline(item[1])));
    } else if (!line.trim()) {
      flush(); list = null;
    } else {
      list = null; paragraph.push(line.trim());
    }
  }
  flush();
  return root;
}
function inline(text) {
  return text.split(/(\*\*[^*]+\*\*)/).map((part) =>
    part.startsWith("**") && part.endsWith("**") ? h("strong", {}, part.slice(2, -2)) : part);
}

// ---------- sessions ----------
async function viewSessions(main) {
  const list = await api("/v1/sessions?limit=100");
  const rows = list.items.map((s) => h("tr", { "data-session": s.id },
    h("td", {}, new Date(s.created_at).toLocaleString(state.lang)),
    h("td", {}, s.situation.length > 120 ? `${s.situation.slice(0, 117)}…` : s.situation),
    h("td", {}, t(s.grounded ? "sessions.grounded" : "sessions.ungrounded")),
    h("td", {}, h("div", { class: "actions" },
      h("a", { class: "button secondary", href: `#/sessions/${s.id}` }, t("sessions.open")),
      h("button", { type: "button", class: "secondary", onclick: () => exportSession(s.id) }, t("sessions.export")),
      h("button", { type: "button", class: "danger", onclick: () => deleteSession(s.id) }, t("sessions.delete"))))));
  main.replaceChildren(h("h1", {}, t("sessions.title")),
    list.items.length
      ? h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["sessions.date", "sessions.situation", "sessions.state", "sessions.actions"].map((k) => h("th", { scope: "col" }, t(k))))),
          h("tbody", {}, rows)))
      : h("p", {}, t("sessions.none")),
    portfolioExport());
  focusHeading(main);
}
// The talent development portfolio over a period, as Markdown or as a page to print.
function portfolioExport() {
  const today = new Date();
  const yearAgo = new Date(today.getFullYear() - 1, today.getMonth(), today.getDate());
  const from = h("input", { type: "date", name: "from", required: true, value: isoDay(yearAgo) });
  const to = h("input", { type: "date", name: "to", required: true, value: isoDay(today) });
  async function save(format, extension) {
    showError(null);
    setFieldError(from, "");
    if (!from.value || !to.value || from.value > to.value) {
      setFieldError(from, t("portfolio.order"));
      from.focus();
      return;
    }
    const query = new URLSearchParams({ from: from.value, to: to.value, format, lang: state.lang });
    try {
      await download(`/v1/portfolio?${query}`, `coach-portfolio-${from.value}-${to.value}.${extension}`);
    } catch (error) {
      showError(error);
      const refused = error instanceof ApiError && error.errors.find((e) => e.field === "from" || e.field === "to");
      if (refused) { const control = refused.field === "from" ? from : to; setFieldError(control, refused.message); control.focus(); }
    }
  }
  return h("section", { class: "portfolio", "aria-labelledby": "portfolio-title" },
    h("h2", { id: "portfolio-title" }, t("portfolio.title")),
    h("p", { class: "hint" }, t("portfolio.intro")),
    h("div", { class: "row" }, field(t("portfolio.from"), from), field(t("portfolio.to"), to)),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => save("markdown", "md") }, t("portfolio.markdown")),
      h("button", { type: "button", class: "secondary", onclick: () => save("html", "html") }, t("portfolio.html"))));
}
async function viewSession(main, id) {
  const stored = await api(`/v1/sessions/${encodeURIComponent(id)}`);
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/sessions" }, `← ${t("sessions.back")}`)),
    h("h1", {}, new Date(stored.created_at).toLocaleString(state.lang)),
    h("blockquote", { class: "card" }, stored.situation),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => exportSession(id) }, t("sessions.export")),
      h("button", { type: "button", class: "danger", onclick: () => deleteSession(id) }, t("sessions.delete"))),
    renderResult(stored.result, id));
  focusHeading(main);
}
async function exportSession(id) {
  try {
    await download(`/v1/sessions/${encodeURIComponent(id)}/summary`, `coach-session-${id}.md`);
  } catch (error) { showError(error); }
}
async function deleteSession(id) {
  if (!confirm(t("sessions.confirm"))) return;
  try {
    await api(`/v1/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
    state.flash = t("sessions.deleted");
    if (location.hash === "#/sessions") route(); else location.hash = "#/sessions";
  } catch (error) { showError(error); }
}

// ---------- curators: documents ----------
async function viewDocuments(main) {
  const params = new URLSearchParams(sessionStorage.getItem("coach.docfilter") || "");
  const q = h("input", { type: "search", name: "q", value: params.get("q") || "" });
  const type = select("type", [["", t("docs.any")], ["procedure", t("type.procedure")], ["lesson", t("type.lesson")]], params.get("type") || "");
  if (!state.teams.length) {
    try { state.teams = (await api("/v1/teams")).teams; } catch (error) { state.teams = []; }
  }
  const team = select("team", [["", t("docs.any")], ...state.teams.map((n) => [n, n])], params.get("team") || "");
  const language = select("language", [["", t("docs.any")], ["nl", t("lang.nl")], ["en", t("lang.en")]], params.get("language") || "");
  const status = select("status", [["", t("docs.any")], ["active", t("status.active")], ["draft", t("status.draft")], ["retired", t("status.retired")]], params.get("status") || "");
  const results = h("div", { "aria-live": "polite" });
  let latest = 0; // the newest list asked for: an older answer arriving late must not overwrite it
  async function load() {
    const mine = ++latest;
    const query = new URLSearchParams({ limit: "200" });
    for (const [name, control] of Object.entries({ q, type, team, language, status })) if (control.value) query.set(name, control.value);
    sessionStorage.setItem("coach.docfilter", query.toString());
    const list = await api(`/v1/documents?${query}`);
    if (mine !== latest) return;
    results.replaceChildren(h("p", { class: "meta" }, t("docs.count", { n: list.total })),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["docs.id", "docs.titlecol", "docs.type", "docs.team", "docs.language", "docs.status"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, list.items.map((d) => h("tr", {},
          h("td", {}, h("a", { href: `#/documents/${encodeURIComponent(d.id)}` }, d.id)),
          h("td", {}, d.title), h("td", {}, t(`type.${d.type}`)), h("td", {}, d.team || ""),
          h("td", {}, d.language), h("td", {}, t(`status.${d.status}`))))))));
  }
  const form = h("form", {
    class: "filters", role: "search",
    onsubmit: async (event) => { event.preventDefault(); showError(null); try { await load(); } catch (error) { showError(error); } },
  },
  field(t("docs.search"), q), field(t("docs.type"), type), field(t("docs.team"), team),
  field(t("docs.language"), language), field(t("docs.status"), status),
  h("div", { class: "actions" }, h("button", { type: "submit" }, t("docs.filter"))));
  main.replaceChildren(h("h1", {}, t("docs.title")), form, results);
  await load();
  focusHeading(main);
}

const DOC_FIELDS = ["title", "type", "language", "team", "owner", "tags", "status", "body"];
// Lint rules that concern the whole file, shown under the body.
async function viewEditDocument(main, id) {
  const response = await api(`/v1/documents/${encodeURIComponent(id)}`, { raw: true });
  const doc = await response.json();
  let etag = response.headers.get("ETag");
  const controls = {
    title: h("input", { type: "text", name: "title", value: doc.title }),
    type: select("type", [["procedure", t("type.procedure")], ["lesson", t("type.lesson")]], doc.type),
    language: select("language", [["nl", t("lang.nl")], ["en", t("lang.en")]], doc.language),
    team: h("input", { type: "text", name: "team", value: doc.team || "" }),
    owner: h("input", { type: "text", name: "owner", value: doc.owner || "" }),
    tags: h("input", { type: "text", name: "tags", value: (doc.tags || []).join(", ") }),
    status: select("status", [["active", t("status.active")], ["draft", t("status.draft")], ["retired", t("status.retired")]], doc.status),
    body: h("textarea", { name: "body", class: "body" }),
  };
  controls.body.value = doc.body || "";
  const labels = { title: "edit.doctitle", type: "docs.type", language: "docs.language", team: "docs.team", owner: "edit.owner", tags: "edit.tags", status: "docs.status", body: "edit.body" };
  const other = h("div", { id: "other-problems" });
  const message = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit" }, t("edit.save"));
  function clearErrors() {
    for (const control of Object.values(controls)) setFieldError(control, "");
    other.replaceChildren();
    message.replaceChildren();
  }
  function conflict() {
    message.replaceChildren(h("div", { class: "notice", role: "alert" }, h("p", {}, t("edit.conflict")),
      h("button", { type: "button", class: "secondary", onclick: () => route() }, t("edit.reload"))));
  }
  const form = h("form", {
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      clearErrors();
      const body = {
        title: controls.title.value, type: controls.type.value, language: controls.language.value,
        team: controls.team.value || null, owner: controls.owner.value || null,
        tags: controls.tags.value.split(",").map((tag) => tag.trim()).filter(Boolean),
        status: controls.status.value, body: controls.body.value, updated: doc.updated,
      };
      save.disabled = true;
      try {
        const saved = await api(`/v1/documents/${encodeURIComponent(id)}`, { method: "PUT", body, headers: { "If-Match": etag }, raw: true });
        etag = saved.headers.get("ETag");
        message.replaceChildren(h("p", { class: "success" }, t("edit.saved")));
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) conflict();
        else if (error instanceof ApiError && error.status === 422) showProblems(error);
        else showError(error);
      } finally {
        save.disabled = false;
      }
    },
  },
  h("div", { class: "row" }, ["title", "type", "language", "status"].map((name) => field(t(labels[name]), controls[name]))),
  h("div", { class: "row" }, ["team", "owner", "tags"].map((name) => field(t(labels[name]), controls[name]))),
  field(t(labels.body), controls.body),
  other,
  h("div", { class: "actions" }, save,
    h("button", { type: "button", class: "danger", onclick: retire }, t("edit.retire"))),
  message);
  function showProblems(error) {
    const leftover = [];
    let first = null;
    for (const problem of error.errors) {
      const name = DOC_FIELDS.find((f) => f === problem.field) || (problem.field === "empty-body" ? "body" : null);
      if (name) {
        const control = controls[name];
        const box = document.getElementById(`${control.id}-error`);
        setFieldError(control, box && box.textContent ? `${box.textContent} ${problem.message}` : problem.message);
        first = first || control;
      } else {
        leftover.push(problem.message);
      }
    }
    message.replaceChildren(h("p", { class: "field-error", role: "alert" }, t("edit.invalid")));
    if (leftover.length) other.replaceChildren(h("h2", {}, t("edit.other")), h("ul", {}, leftover.map((m) => h("li", { class: "field-error" }, m))));
    (first || controls.title).focus();
  }
  async function retire() {
    showError(null);
    clearErrors();
    try {
      const retired = await api(`/v1/documents/${encodeURIComponent(id)}`, { method: "DELETE", headers: { "If-Match": etag }, raw: true });
      etag = retired.headers.get("ETag");
      controls.status.value = "retired";
      message.replaceChildren(h("p", { class: "success" }, t("edit.retired")));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 412 || error.status === 409)) conflict();
      else showError(error);
    }
  }
  main.replaceChildren(h("p", {}, h("a", { href: "#/documents" }, `← ${t("docs.title")}`)),
    h("h1", {}, `${t("edit.title")}: ${id}`), h("p", { class: "meta" }, doc.path), form);
  focusHeading(main);
}

// ---------- curators: drafts ----------
async function viewDrafts(main) {
  const drafts = await api("/v1/drafts");
  const items = drafts.map((draft) => {
    const reason = h("input", { type: "text", name: "reason" });
    const done = h("div", { "aria-live": "polite" });
    const decide = async (verb) => {
      showError(null);
      if (verb === "reject" && !reason.value.trim()) { setFieldError(reason, t("drafts.needreason")); reason.focus(); return; }
      try {
        // Only the version shown: a draft edited meanwhile gets 412, and the curator reloads.
        const ifMatch = draft.document && draft.document.etag ? { "If-Match": draft.document.etag } : {};
        await api(`/v1/drafts/${draft.id}/${verb}`, { method: "POST", headers: ifMatch, body: verb === "reject" ? { reason: reason.value } : undefined });
        done.replaceChildren(h("p", { class: "success" }, t(verb === "approve" ? "drafts.approved" : "drafts.rejected")));
        for (const button of item.querySelectorAll("button")) button.disabled = true;
      } catch (error) { showError(error); }
    };
    const doc = draft.document;
    const item = h("li", { class: "card draft", "data-draft": draft.id },
      h("h2", {}, doc ? doc.title : draft.doc_id),
      h("p", { class: "meta" }, t("drafts.by", { user: draft.user_id, date: new Date(draft.created_at).toLocaleString(state.lang) })),
      doc ? h("div", { class: "doc-body", lang: doc.language }, markdown(doc.body || "")) : null,
      h("div", { class: "actions" },
        h("a", { class: "button secondary", href: `#/documents/${encodeURIComponent(draft.doc_id)}` }, t("drafts.edit")),
        h("button", { type: "button", onclick: () => decide("approve") }, t("drafts.approve"))),
      field(t("drafts.reason"), reason),
      h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: () => decide("reject") }, t("drafts.reject"))),
      done);
    return item;
  });
  main.replaceChildren(h("h1", {}, t("drafts.title")),
    items.length ? h("ul", { class: "plain" }, items) : h("p", {}, t("drafts.none")));
  focusHeading(main);
}

// ---------- curators: insights ----------
async function viewInsights(main) {
  const data = await api("/v1/insights");
  const none = () => h("p", { class: "meta" }, t("insights.none"));
  const table = (headers, rows) => h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, headers.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, rows)));
  main.replaceChildren(
    h("h1", {}, t("insights.title")),
    h("p", { class: "meta" }, t("insights.sessions", { n: data.sessions })),
    h("h2", {}, t("insights.ungrounded")),
    h("p", { class: "meta" }, t("insights.gapcount", { n: data.ungrounded_sessions })),
    data.ungrounded.length ? h("ul", { id: "gaps" }, data.ungrounded.map((u) => h("li", { lang: u.language }, u.situation))) : none(),
    h("h2", {}, t("insights.themes")),
    data.themes.length ? table(["insights.theme", "insights.count"], data.themes.map((th) => h("tr", {}, h("td", {}, th.theme), h("td", {}, th.sessions)))) : none(),
    h("h2", {}, t("insights.feedback")),
    data.feedback_by_document.length
      ? table(["docs.id", "insights.helpful", "insights.nothelpful"], data.feedback_by_document.map((f) =>
          h("tr", {}, h("td", {}, h("a", { href: `#/doc/${encodeURIComponent(f.id)}` }, f.id)), h("td", {}, f.helpful), h("td", {}, f.not_helpful))))
      : none(),
    h("h2", {}, t("insights.retrieved")),
    data.most_retrieved_documents.length
      ? table(["docs.id", "insights.count"], data.most_retrieved_documents.map((d) =>
          h("tr", {}, h("td", {}, h("a", { href: `#/doc/${encodeURIComponent(d.id)}` }, d.id)), h("td", {}, d.sessions))))
      : none(),
    ...cycleInsights(data.cycles, table, none));
  focusHeading(main);
}
// Vital week cycles in counts only (no team: a group's is free text), the documents their agendas cited, their gaps.
function cycleInsights(cycles, table, none) {
  return [
    h("h2", {}, t("insights.cycles")),
    h("p", { class: "meta", id: "cycle-counts" }, t("insights.cyclecount", {
      n: cycles.cycles, completed: cycles.completed, cancelled: cycles.cancelled,
      planned: cycles.planned, ungrounded: cycles.ungrounded_situations, situations: cycles.situations })),
    h("h3", {}, t("insights.cycledocs")),
    cycles.most_cited_documents.length
      ? table(["docs.id", "insights.cyclesn"], cycles.most_cited_documents.map((d) =>
          h("tr", {}, h("td", {}, h("a", { href: `#/doc/${encodeURIComponent(d.id)}` }, d.id)), h("td", {}, d.cycles))))
      : none(),
  ];
}

// ---------- everyone: my data ----------
async function viewPrivacy(main) {
  const settings = await api("/v1/me/settings");
  const share = h("input", { type: "checkbox", name: "share_situations", id: "share-situations", checked: settings.share_situations });
  const records = h("input", { type: "checkbox", name: "learning_records", id: "learning-records", checked: settings.learning_records });
  const saved = h("div", { "aria-live": "polite" });
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      try {
        await api("/v1/me/settings", { method: "PUT", body: { share_situations: share.checked, learning_records: records.checked } });
        saved.replaceChildren(h("p", { class: "success" }, t("privacy.saved")));
      } catch (error) { showError(error); }
    },
  },
  h("label", { class: "radio", for: share.id }, share, t("privacy.share")),
  h("p", { class: "hint" }, t("privacy.shareHint")),
  h("label", { class: "radio", for: records.id }, records, t("privacy.records")),
  h("p", { class: "hint" }, t("privacy.recordsHint")),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("privacy.save"))),
  saved);
  async function exportData() {
    showError(null);
    try { await download("/v1/me/export", "coach-my-data.json"); } catch (error) { showError(error); }
  }
  async function forget() {
    if (!confirm(t("privacy.confirm"))) return;
    showError(null);
    try {
      const gone = await api("/v1/me/data", { method: "DELETE" });
      state.last = null;
      share.checked = false;
      records.checked = true;
      result.replaceChildren(h("p", { class: "success" }, t("privacy.deleted", { sessions: gone.sessions, drafts: gone.drafts })));
    } catch (error) { showError(error); }
  }
  main.replaceChildren(h("h1", {}, t("privacy.title")), h("p", {}, t("privacy.intro")), form,
    h("h2", {}, t("privacy.exportTitle")),
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: exportData }, t("privacy.export"))),
    h("h2", {}, t("privacy.deleteTitle")), h("p", {}, t("privacy.deleteIntro")),
    h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: forget }, t("privacy.delete"))),
    result);
  focusHeading(main);
}

// ---------- start ----------
async function start() {
  $("#lang-button").addEventListener("click", () => {
    state.lang = state.lang === "nl" ? "en" : "nl";
    localStorage.setItem("coach.lang", state.lang);
    route();
  });
  $("#key-button").addEventListener("click", () => { location.hash = "#/key"; });
  window.addEventListener("hashchange", route);
  try {
    await loadMe();
  } catch (error) {
    showError(error);
  }
  let target = location.hash || "#/";
  if (!state.me) target = "#/key";
  else if (state.me.role === "curator" && target === "#/") target = "#/documents";
  if (target !== (location.hash || "#/")) location.hash = target; // routes on hashchange
  else await route();
}
// After every deferred script has run: groups.js adds its routes and texts first.
document.addEventListener("DOMContentLoaded", start);
