// Learning groups and their vital week cycles, for professionals: the groups you are in or are
// invited to, a group with its cycles and the form that plans a week, and a week day by day.
// Loaded after app.js (both deferred, before the page starts): it uses app.js's helpers and
// adds its own texts, routes and menu item.
"use strict";

Object.assign(TEXT.nl, {
  "nav.groups": "Groepen",
  "groups.title": "Mijn leergroepen",
  "groups.intro": "In een leergroep van twee tot acht collega's werkt ieder aan de eigen werksituatie, in een vitale week van vier bijeenkomsten van een uur.",
  "groups.none": "Je zit nog niet in een leergroep.",
  "groups.team": "Team: {team}", "groups.facilitator": "Begeleider: {user}", "groups.you": "{user} (jij)",
  "groups.mystate": "Jij: {state}", "groups.members": "Leden",
  "state.member": "lid", "state.invited": "uitgenodigd", "state.facilitator": "begeleider",
  "state.invited_facilitator": "uitgenodigd als begeleider",
  "groups.asFacilitator": "Als begeleider uitnodigen (leest mee, brengt geen situatie in)",
  "groups.accept": "Uitnodiging aannemen", "groups.decline": "Uitnodiging afslaan",
  "groups.accepted": "Je bent nu lid van {name}.", "groups.declined": "Je hebt de uitnodiging afgeslagen.",
  "groups.leave": "Groep verlaten", "groups.leaveConfirm": "De groep ‘{name}’ verlaten?",
  "groups.left": "Je hebt de groep verlaten.",
  "groups.inviteLabel": "Collega uitnodigen (gebruikers-id)", "groups.inviteButton": "Uitnodigen",
  "groups.invited": "{user} is uitgenodigd.", "groups.needUser": "Vul de gebruikers-id van een collega in.",
  "groups.create": "Nieuwe leergroep", "groups.name": "Naam van de groep", "groups.teamField": "Team (optioneel)",
  "groups.membersField": "Collega's om uit te nodigen",
  "groups.membersHint": "Hun gebruikers-id's, gescheiden door komma's of spaties; samen met jou zijn jullie met twee tot acht.",
  "groups.facilitatorField": "Begeleider (optioneel)",
  "groups.facilitatorHint": "Een ervaren collega, expert of iemand van L&D: leest mee, maar brengt geen eigen situatie in.",
  "groups.createButton": "Groep aanmaken", "groups.created": "Groep ‘{name}’ aangemaakt; je collega's zijn uitgenodigd.",
  "groups.needName": "Geef de groep een naam.", "groups.needMembers": "Noem ten minste één collega.",
  "groups.back": "Terug naar mijn leergroepen",
  "groups.cycles": "Vitale weken", "groups.noCycles": "Nog geen vitale week gepland.",
  "cycle.planned": "gepland", "cycle.cancelled": "geannuleerd", "cycle.completed": "afgerond",
  "cycle.range": "{first} t/m {last}",
  "plan.title": "Week plannen",
  "plan.intro": "Vier bijeenkomsten van een uur op vier opeenvolgende werkdagen. De coach stelt de agenda op uit ieders situatie.",
  "plan.accept": "Neem eerst de uitnodiging aan om een week te plannen.",
  "plan.start": "Eerste dag", "plan.startHint": "Valt die in het weekend of op een vrije dag, dan begint de week op de volgende werkdag.",
  "plan.time": "Tijd", "plan.place": "Plaats (optioneel)", "plan.holidays": "Vrije dagen (optioneel)",
  "plan.holidaysHint": "Data zoals 2026-04-06, gescheiden door komma's: die dagen worden overgeslagen.",
  "plan.badHoliday": "Dit is geen datum (JJJJ-MM-DD): {value}",
  "plan.situations": "Situaties", "plan.situationsHint": "Ieder brengt zelf een situatie in. Je kunt je eigen situatie nu al geven, en collega's iets voorstellen: alleen zij zien je voorstel, en het wordt pas van hen als zij het inbrengen.",
  "plan.situationOf": "Voorstel voor {user} (optioneel)", "plan.yours": "Jouw situatie (optioneel)",
  "plan.session": "Jouw situatie uit een eerdere sessie", "plan.newSituation": "Geen: ik typ een nieuwe situatie",
  "plan.submit": "Week voorstellen", "plan.busy": "De coach bekijkt je situatie…",
  "plan.needStart": "Kies de eerste dag.",
  "plan.needTime": "Kies een tijd.", "plan.planned": "De week is voorgesteld. Je collega's brengen nu hun eigen situatie in.",
  "bring.title": "Situaties voor deze week",
  "bring.waiting": "De agenda wordt opgesteld zodra iedereen heeft geantwoord, of uiterlijk {when}.",
  "bring.waitingNoTime": "De agenda wordt opgesteld zodra iedereen heeft geantwoord.",
  "bring.answered": "Geantwoord: {names}.", "bring.nobody": "Nog niemand heeft geantwoord.",
  "bring.yours": "Jouw situatie", "bring.suggested": "{by} stelde deze situatie voor je voor. Pas haar aan of vervang haar: alleen wat jij inbrengt, komt op je naam.",
  "bring.now": "Jij brengt in: ", "bring.none": "Jij brengt deze week niets in.",
  "bring.change": "Iets anders inbrengen", "bring.submit": "Situatie inbrengen", "bring.skip": "Ik breng deze week niets in",
  "bring.busy": "De coach bekijkt je situatie…", "bring.need": "Beschrijf je situatie, of kies een eerdere sessie.",
  "bring.done": "Je situatie is ingebracht.", "bring.skipped": "Genoteerd: je brengt deze week niets in.",
  "bring.build": "Agenda nu opstellen", "bring.built": "De agenda is opgesteld met de situaties die er nu zijn.",
  "bring.buildHint": "Je stelde deze week voor: je kunt de agenda ook nu al opstellen, met wat er is ingebracht.",
  "cycle.title": "Vitale week: {name}", "cycle.place": "Plaats: {place}", "cycle.zone": "Tijdzone: {zone}",
  "cycle.cancelledNotice": "Deze week is geannuleerd. Het plan en de aantekeningen blijven bewaard.",
  "cycle.completedNotice": "Deze week is afgerond.",
  "cycle.ics": "Agenda downloaden (.ics)", "cycle.moveStart": "Nieuwe eerste dag", "cycle.move": "Verplaatsen",
  "cycle.moved": "De week is verplaatst. Download de agenda opnieuw: je kalender werkt de afspraken dan bij.",
  "cycle.cancel": "Week annuleren",
  "cycle.cancelConfirm": "Deze vitale week annuleren? Het plan en de aantekeningen blijven bewaard.",
  "cycle.cancelledDone": "De week is geannuleerd. Download de agenda opnieuw om de afspraken uit je kalender te halen.",
  "cycle.facilitating": "Je begeleidt deze groep: je leest mee; aantekeningen en check-ins zijn voor de leden.",
  "cycle.day": "Dag {day}: {title}", "cycle.checkIn": "Check-in", "cycle.situation": "Situatie",
  "cycle.questions": "Vragen", "cycle.coachNotes": "Opmerkingen van de coach",
  "cycle.lessonHint": "Schrijf vandaag op wat je geleerd hebt: je les gaat als concept naar de beoordeling.",
  "cycle.records": "Aantekeningen en check-ins", "cycle.noNotes": "Nog geen aantekeningen.",
  "cycle.did": "Gedaan", "cycle.noticed": "Opgevallen",
  "notes.title": "Jouw aantekeningen voor dag {day}", "notes.did": "Wat heb je gedaan?",
  "notes.noticed": "Wat viel je op?", "notes.save": "Aantekeningen opslaan", "notes.saved": "Je aantekeningen zijn opgeslagen.",
  "notes.empty": "Schrijf op wat je gedaan hebt of wat je opviel.",
  "checkin.title": "Jouw check-in voor dag {day}", "checkin.energy": "Energie (1 = laag, 5 = hoog)",
  "checkin.word": "Eén woord (optioneel)", "checkin.share": "Delen met de groep",
  "checkin.shareHint": "Zonder vinkje ziet alleen jij je check-in.", "checkin.save": "Check-in opslaan",
  "checkin.saved": "Je check-in is opgeslagen.", "checkin.needEnergy": "Kies je energie van 1 tot 5.",
  "checkin.none": "Nog geen check-ins.", "checkin.line": "energie {energy}/5",
  "checkin.private": "alleen voor jou", "checkin.shared": "gedeeld met de groep",
});
Object.assign(TEXT.en, {
  "nav.groups": "Groups",
  "groups.title": "My learning groups",
  "groups.intro": "In a learning group of two to eight colleagues everyone works on their own work situation, in a vital week of four one-hour meetings.",
  "groups.none": "You are not in a learning group yet.",
  "groups.team": "Team: {team}", "groups.facilitator": "Facilitator: {user}", "groups.you": "{user} (you)",
  "groups.mystate": "You: {state}", "groups.members": "Members",
  "state.member": "member", "state.invited": "invited", "state.facilitator": "facilitator",
  "state.invited_facilitator": "invited as facilitator",
  "groups.asFacilitator": "Invite as facilitator (reads along, brings no situation)",
  "groups.accept": "Accept invitation", "groups.decline": "Decline invitation",
  "groups.accepted": "You are now a member of {name}.", "groups.declined": "You declined the invitation.",
  "groups.leave": "Leave group", "groups.leaveConfirm": "Leave the group ‘{name}’?",
  "groups.left": "You left the group.",
  "groups.inviteLabel": "Invite a colleague (user id)", "groups.inviteButton": "Invite",
  "groups.invited": "{user} is invited.", "groups.needUser": "Enter a colleague's user id.",
  "groups.create": "New learning group", "groups.name": "Group name", "groups.teamField": "Team (optional)",
  "groups.membersField": "Colleagues to invite",
  "groups.membersHint": "Their user ids, separated by commas or spaces; counting you, you are two to eight.",
  "groups.facilitatorField": "Facilitator (optional)",
  "groups.facilitatorHint": "An experienced colleague, an expert or someone from L&D: reads along but brings no situation of their own.",
  "groups.createButton": "Create group", "groups.created": "Group ‘{name}’ created; your colleagues are invited.",
  "groups.needName": "Give the group a name.", "groups.needMembers": "Name at least one colleague.",
  "groups.back": "Back to my learning groups",
  "groups.cycles": "Vital weeks", "groups.noCycles": "No vital week planned yet.",
  "cycle.planned": "planned", "cycle.cancelled": "cancelled", "cycle.completed": "completed",
  "cycle.range": "{first} to {last}",
  "plan.title": "Plan a week",
  "plan.intro": "Four one-hour meetings on four consecutive working days. The coach builds the agenda from everyone's situation.",
  "plan.accept": "Accept the invitation first to plan a week.",
  "plan.start": "First day", "plan.startHint": "On a weekend or a holiday, the week starts on the next working day.",
  "plan.time": "Time", "plan.place": "Place (optional)", "plan.holidays": "Holidays (optional)",
  "plan.holidaysHint": "Dates such as 2026-04-06, separated by commas: those days are skipped.",
  "plan.badHoliday": "This is not a date (YYYY-MM-DD): {value}",
  "plan.situations": "Situations", "plan.situationsHint": "Everyone brings their own situation. You may give yours now, and suggest one to colleagues: only they see your suggestion, and it becomes theirs only when they bring it.",
  "plan.situationOf": "Suggestion for {user} (optional)", "plan.yours": "Your situation (optional)",
  "plan.session": "Your situation from an earlier session", "plan.newSituation": "None: I type a new situation",
  "plan.submit": "Propose the week", "plan.busy": "The coach is looking at your situation…",
  "plan.needStart": "Choose the first day.",
  "plan.needTime": "Choose a time.", "plan.planned": "The week is proposed. Your colleagues now bring their own situations.",
  "bring.title": "Situations for this week",
  "bring.waiting": "The agenda is built once everyone has answered, or at {when} at the latest.",
  "bring.waitingNoTime": "The agenda is built once everyone has answered.",
  "bring.answered": "Answered: {names}.", "bring.nobody": "Nobody has answered yet.",
  "bring.yours": "Your situation", "bring.suggested": "{by} suggested this situation for you. Edit or replace it: only what you bring goes in your name.",
  "bring.now": "You bring: ", "bring.none": "You bring nothing this week.",
  "bring.change": "Bring something else", "bring.submit": "Bring situation", "bring.skip": "I bring nothing this week",
  "bring.busy": "The coach is looking at your situation…", "bring.need": "Describe your situation, or choose an earlier session.",
  "bring.done": "Your situation is in.", "bring.skipped": "Noted: you bring nothing this week.",
  "bring.build": "Build the agenda now", "bring.built": "The agenda is built with the situations given so far.",
  "bring.buildHint": "You proposed this week: you may build the agenda now, with what has been brought.",
  "cycle.title": "Vital week: {name}", "cycle.place": "Place: {place}", "cycle.zone": "Time zone: {zone}",
  "cycle.cancelledNotice": "This week is cancelled. Its plan and notes are kept.",
  "cycle.completedNotice": "This week is completed.",
  "cycle.ics": "Download agenda (.ics)", "cycle.moveStart": "New first day", "cycle.move": "Move",
  "cycle.moved": "The week is moved. Download the agenda again: your calendar then updates the meetings.",
  "cycle.cancel": "Cancel the week",
  "cycle.cancelConfirm": "Cancel this vital week? Its plan and notes are kept.",
  "cycle.cancelledDone": "The week is cancelled. Download the agenda again to take the meetings out of your calendar.",
  "cycle.facilitating": "You facilitate this group: you read along; notes and check-ins are for the members.",
  "cycle.day": "Day {day}: {title}", "cycle.checkIn": "Check-in", "cycle.situation": "Situation",
  "cycle.questions": "Questions", "cycle.coachNotes": "Notes from the coach",
  "cycle.lessonHint": "Write down today what you learned: your lesson goes into a draft for review.",
  "cycle.records": "Notes and check-ins", "cycle.noNotes": "No notes yet.",
  "cycle.did": "Did", "cycle.noticed": "Noticed",
  "notes.title": "Your notes for day {day}", "notes.did": "What did you do?",
  "notes.noticed": "What did you notice?", "notes.save": "Save notes", "notes.saved": "Your notes are saved.",
  "notes.empty": "Write down what you did or what you noticed.",
  "checkin.title": "Your check-in for day {day}", "checkin.energy": "Energy (1 = low, 5 = high)",
  "checkin.word": "One word (optional)", "checkin.share": "Share with the group",
  "checkin.shareHint": "Unticked, only you see your check-in.", "checkin.save": "Save check-in",
  "checkin.saved": "Your check-in is saved.", "checkin.needEnergy": "Choose your energy from 1 to 5.",
  "checkin.none": "No check-ins yet.", "checkin.line": "energy {energy}/5",
  "checkin.private": "only you", "checkin.shared": "shared with the group",
});

ROUTES.push(
  [/^#\/groups$/, viewGroups, "groups"],
  [/^#\/groups\/(.+)$/, viewGroup, "groups"],
  [/^#\/cycles\/(.+)$/, viewCycle, "groups"],
);
NAV.splice(NAV.findIndex(([name]) => name === "sessions") + 1, 0, ["groups", "#/groups", "professional"]);

// ---------- shared bits ----------
const groupPath = (id) => `/v1/groups/${encodeURIComponent(id)}`;
const cyclePath = (id) => `/v1/cycles/${encodeURIComponent(id)}`;
const userIds = (text) => text.split(/[\s,]+/).filter(Boolean);
// What a view puts on the page, nested lists and left-out parts (null) as h() takes children.
const nodes = (...parts) => parts.flat(Infinity).filter((part) => part !== null && part !== undefined && part !== false);
const withYou = (user) => (state.me && user === state.me.user ? t("groups.you", { user }) : user);
// A day the API names (YYYY-MM-DD) as a reader would, at noon so no time zone moves it.
const dayLabel = (iso) => new Date(`${iso}T12:00:00`).toLocaleDateString(state.lang, { day: "numeric", month: "long", year: "numeric" });
function success(box, text) {
  box.replaceChildren(h("p", { class: "success" }, text));
}
// A refused request: the fields it names are marked (the first gets the focus), the whole
// message goes to the error box. `controlFor` finds the control of a field's path.
function showProblems(error, controlFor) {
  showError(error);
  if (!(error instanceof ApiError)) return;
  let first = null;
  for (const problem of error.errors) {
    const control = controlFor(problem.field || "");
    if (!control) continue;
    setFieldError(control, problem.message);
    first = first || control;
  }
  if (first) first.focus();
}
// Runs a group change; on success the view is drawn again with `message` in the status line.
async function changeGroup(path, message, target) {
  showError(null);
  try {
    await api(path, { method: "POST" });
    state.flash = message;
    if (location.hash === target) route(); else location.hash = target;
  } catch (error) { showError(error); }
}

// ---------- #/groups ----------
async function viewGroups(main) {
  const groups = (await api("/v1/groups?limit=100")).items; // at most 20 as a member
  if (!state.teams.length) {
    try { state.teams = (await api("/v1/teams")).teams; } catch (error) { state.teams = []; }
  }
  main.replaceChildren(...nodes(
    h("h1", {}, t("groups.title")),
    h("p", {}, t("groups.intro")),
    groups.length ? h("ul", { class: "plain groups" }, groups.map((group) => groupCard(group, "#/groups")))
      : h("p", {}, t("groups.none")),
    createGroupForm()));
  focusHeading(main);
}

function groupCard(group, here) {
  return h("li", { class: "card group", "data-group": group.id },
    h("h2", {}, h("a", { href: `#/groups/${encodeURIComponent(group.id)}` }, group.name)),
    groupFacts(group),
    groupActions(group, here));
}
function groupFacts(group) {
  const facts = [t("groups.mystate", { state: t(`state.${group.my_state}`) })];
  if (group.team) facts.push(t("groups.team", { team: group.team }));
  if (group.facilitator) facts.push(t("groups.facilitator", { user: withYou(group.facilitator) }));
  return [
    h("p", { class: "meta" }, facts.join(" · ")),
    h("h3", {}, t("groups.members")),
    h("ul", { class: "members" }, group.members.map((person) =>
      h("li", { "data-user": person.user }, withYou(person.user), " — ", t(`state.${person.state}`)))),
  ];
}
// What you can do in a group: answer an invitation, or invite a colleague and leave.
function groupActions(group, here) {
  const path = groupPath(group.id);
  if (group.my_state === "invited" || group.my_state === "invited_facilitator") {
    return h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => changeGroup(`${path}/accept`, t("groups.accepted", { name: group.name }), here) }, t("groups.accept")),
      h("button", { type: "button", class: "secondary", onclick: () => changeGroup(`${path}/decline`, t("groups.declined"), "#/groups") }, t("groups.decline")));
  }
  const leave = () => {
    if (confirm(t("groups.leaveConfirm", { name: group.name }))) changeGroup(`${path}/leave`, t("groups.left"), "#/groups");
  };
  return [
    group.my_state === "member" ? inviteForm(group, here) : null,
    h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: leave }, t("groups.leave"))),
  ];
}
function inviteForm(group, here) {
  const user = h("input", { type: "text", name: "user", autocomplete: "off", maxlength: "200" });
  const asFacilitator = h("input", { type: "checkbox", name: "facilitator", id: `invite-facilitator-${group.id}` });
  return h("form", {
    class: "invite",
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      setFieldError(user, "");
      const invitee = user.value.trim();
      if (!invitee) { setFieldError(user, t("groups.needUser")); user.focus(); return; }
      try {
        const role = asFacilitator.checked ? "facilitator" : "member";
        await api(`${groupPath(group.id)}/members`, { method: "POST", body: { user: invitee, role } });
        state.flash = t("groups.invited", { user: invitee });
        if (location.hash === here) route(); else location.hash = here;
      } catch (error) { showProblems(error, (name) => (name === "user" ? user : null)); }
    },
  },
  field(t("groups.inviteLabel"), user),
  group.facilitator ? null : h("label", { class: "radio", for: asFacilitator.id }, asFacilitator, t("groups.asFacilitator")),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("groups.inviteButton"))));
}

function createGroupForm() {
  const controls = {
    name: h("input", { type: "text", name: "name", required: true, maxlength: "80" }),
    team: h("input", { type: "text", name: "team", maxlength: "80", list: "group-teams" }),
    members: h("input", { type: "text", name: "members", required: true, autocomplete: "off" }),
    facilitator: h("input", { type: "text", name: "facilitator", autocomplete: "off", maxlength: "200" }),
  };
  const teams = h("datalist", { id: "group-teams" }, state.teams.map((name) => h("option", { value: name })));
  const submit = h("button", { type: "submit" }, t("groups.createButton"));
  return h("form", {
    class: "create-group",
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      for (const control of Object.values(controls)) setFieldError(control, "");
      const name = controls.name.value.trim();
      const members = userIds(controls.members.value);
      if (!name) { setFieldError(controls.name, t("groups.needName")); controls.name.focus(); return; }
      if (!members.length) { setFieldError(controls.members, t("groups.needMembers")); controls.members.focus(); return; }
      const body = { name, members, team: controls.team.value.trim() || null, facilitator: controls.facilitator.value.trim() || null };
      submit.disabled = true;
      try {
        await api("/v1/groups", { method: "POST", body });
        state.flash = t("groups.created", { name });
        route();
      } catch (error) {
        showProblems(error, (path) => controls[path.split(".")[0]] || null);
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("fieldset", {},
    h("legend", {}, t("groups.create")),
    field(t("groups.name"), controls.name),
    field(t("groups.teamField"), controls.team), teams,
    field(t("groups.membersField"), controls.members, t("groups.membersHint")),
    field(t("groups.facilitatorField"), controls.facilitator, t("groups.facilitatorHint")),
    h("div", { class: "actions" }, submit)));
}

// ---------- #/groups/{id} ----------
async function viewGroup(main, id) {
  const group = await api(groupPath(id));
  const here = `#/groups/${encodeURIComponent(id)}`;
  // Your own earlier sessions, to bring one of them as your situation (members only).
  const sessions = group.my_state === "member" ? (await api("/v1/sessions?limit=100")).items : [];
  main.replaceChildren(...nodes(
    h("p", {}, h("a", { href: "#/groups" }, `← ${t("groups.back")}`)),
    h("h1", {}, group.name),
    groupFacts(group),
    groupActions(group, here),
    h("h2", {}, t("groups.cycles")),
    group.cycles.length
      ? h("ul", { class: "cycles" }, group.cycles.map((cycle) => h("li", { "data-cycle": cycle.id },
          h("a", { href: `#/cycles/${encodeURIComponent(cycle.id)}` }, t("cycle.range", { first: dayLabel(cycle.first_day), last: dayLabel(cycle.last_day) })),
          " — ", t(`cycle.${cycle.state === "cancelled" ? "cancelled" : cycle.completed ? "completed" : "planned"}`))))
      : h("p", { class: "meta" }, t("groups.noCycles")),
    h("h2", {}, t("plan.title")),
    group.my_state === "member" ? planForm(group, sessions) : h("p", {}, t(group.my_state === "facilitator" ? "cycle.facilitating" : "plan.accept"))));
  focusHeading(main);
}

// Your own situation: typed, or one of your earlier sessions (a select, when you have some).
function situationChoice(sessions, label, text) {
  const textField = field(label, text);
  if (!sessions.length) return { text, session: null, parts: [textField] };
  const session = select("session", [["", t("plan.newSituation")], ...sessions.map((s) =>
    [s.id, `${new Date(s.created_at).toLocaleDateString(state.lang)}: ${s.situation.length > 80 ? `${s.situation.slice(0, 77)}…` : s.situation}`])], "");
  session.addEventListener("change", () => { textField.hidden = Boolean(session.value); });
  return { text, session, parts: [field(t("plan.session"), session), textField] };
}

// The form that proposes a vital week: when, where, your own situation if you give it now (or
// one of your earlier sessions), and suggestions for colleagues, which only they see.
function planForm(group, sessions) {
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  const start = h("input", { type: "date", name: "start", required: true, value: isoDay(tomorrow) });
  const time = h("input", { type: "time", name: "time", required: true, value: "09:00" });
  const place = h("input", { type: "text", name: "place", maxlength: "200" });
  const holidays = h("input", { type: "text", name: "holidays", autocomplete: "off", inputmode: "numeric" });
  const me = state.me && state.me.user;
  const own = situationChoice(sessions, t("plan.yours"), h("textarea", { name: "situation", rows: "3", maxlength: "4000", "data-member": me }));
  const others = group.members.filter((person) => person.state === "member" && person.user !== me).map((person) => ({
    member: person.user,
    text: h("textarea", { name: `suggestion-${person.user}`, rows: "2", maxlength: "4000", "data-member": person.user }),
  }));
  const progress = h("p", { class: "progress", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, t("plan.submit"));
  let sent = []; // the suggestions in the order they were sent, to find a refused one
  const controlFor = (path) => {
    const which = path.match(/^suggestions[.[](\d+)/);
    if (which) { const entry = sent[Number(which[1])]; return entry && entry.text; }
    if (path === "session_id") return own.session || own.text;
    return { start, time, place, holidays, situation: own.text }[path.split(".")[0]] || null;
  };
  return h("form", {
    class: "plan",
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      for (const control of [start, time, place, holidays, own.text, ...others.map((e) => e.text)]) setFieldError(control, "");
      const days = userIds(holidays.value);
      const wrong = days.find((day) => !/^\d{4}-\d{2}-\d{2}$/.test(day));
      const problem = !start.value ? [start, t("plan.needStart")] : !time.value ? [time, t("plan.needTime")]
        : wrong ? [holidays, t("plan.badHoliday", { value: wrong })] : null;
      if (problem) { setFieldError(...problem); problem[0].focus(); return; }
      sent = others.filter((e) => e.text.value.trim());
      const body = {
        start: start.value, time: time.value, place: place.value.trim() || null, holidays: days,
        suggestions: sent.map((e) => ({ member: e.member, situation: e.text.value.trim() })),
      };
      if (own.session && own.session.value) body.session_id = own.session.value;
      else if (own.text.value.trim()) body.situation = own.text.value.trim();
      submit.disabled = true;
      progress.textContent = t("plan.busy");
      try {
        const cycle = await api(`${groupPath(group.id)}/cycles`, { method: "POST", body });
        state.flash = t("plan.planned");
        location.hash = `#/cycles/${encodeURIComponent(cycle.id)}`;
      } catch (error) {
        showProblems(error, controlFor);
      } finally {
        submit.disabled = false;
        progress.textContent = "";
      }
    },
  },
  h("p", { class: "hint" }, t("plan.intro")),
  h("div", { class: "row" }, field(t("plan.start"), start, t("plan.startHint")), field(t("plan.time"), time)),
  h("div", { class: "row" }, field(t("plan.place"), place), field(t("plan.holidays"), holidays, t("plan.holidaysHint"))),
  h("fieldset", { class: "situations" },
    h("legend", {}, t("plan.situations")),
    h("p", { class: "hint" }, t("plan.situationsHint")),
    h("div", { class: "situation", "data-member": me }, own.parts),
    others.map((e) => h("div", { class: "situation", "data-member": e.member },
      field(t("plan.situationOf", { user: e.member }), e.text)))),
  h("div", { class: "actions" }, submit),
  progress);
}

// A proposed week whose agenda is not built yet: who answered, and (for a member) what they
// bring: a situation (the proposer's suggestion filled in, theirs to edit), an earlier session,
// or nothing; the proposer may build the agenda now.
function bringPanel(main, cycle, group, sessions) {
  const me = state.me && state.me.user;
  const names = Object.keys(cycle.answers).map(withYou);
  const when = cycle.agenda_at ? new Date(cycle.agenda_at).toLocaleString(state.lang, { dateStyle: "long", timeStyle: "short", timeZone: cycle.time_zone }) : null;
  const redraw = (updated, message) => {
    drawCycle(main, updated, group, sessions);
    setStatus(message);
    focusHeading(main);
  };
  const parts = [
    h("h2", {}, t("bring.title")),
    h("p", {}, when ? t("bring.waiting", { when }) : t("bring.waitingNoTime")),
    h("p", { class: "meta answers" }, names.length ? t("bring.answered", { names: names.join(", ") }) : t("bring.nobody")),
  ];
  if (group.my_state !== "member" || cycle.state === "cancelled") return h("section", { class: "card bring" }, parts);
  const mine = cycle.answers[me];
  if (mine) parts.push(h("p", { class: "success" }, mine === "none" ? t("bring.none") : t("bring.now"), mine === "none" ? null : h("span", {}, cycle.your_session_id ? sessionLabel(sessions, cycle.your_session_id) : "")));
  const own = situationChoice(sessions, t("bring.yours"), h("textarea", { name: "situation", rows: "4", maxlength: "4000" }));
  if (cycle.your_suggestion) own.text.value = cycle.your_suggestion.situation;
  const progress = h("p", { class: "progress", "aria-live": "polite" });
  const send = async (body, message) => {
    showError(null);
    setFieldError(own.text, "");
    progress.textContent = body.situation ? t("bring.busy") : "";
    try {
      redraw(await api(`${cyclePath(cycle.id)}/situation`, { method: "PUT", body }), message);
    } catch (error) {
      showProblems(error, (name) => (name === "session_id" ? own.session || own.text : own.text));
    } finally { progress.textContent = ""; }
  };
  const form = h("form", {
    class: "bring-form",
    novalidate: true,
    onsubmit: (event) => {
      event.preventDefault();
      if (own.session && own.session.value) { send({ session_id: own.session.value }, t("bring.done")); return; }
      const text = own.text.value.trim();
      if (!text) { setFieldError(own.text, t("bring.need")); own.text.focus(); return; }
      send({ situation: text }, t("bring.done"));
    },
  },
  cycle.your_suggestion ? h("p", { class: "hint" }, t("bring.suggested", { by: cycle.your_suggestion.by })) : null,
  own.parts,
  h("div", { class: "actions" },
    h("button", { type: "submit" }, t("bring.submit")),
    h("button", { type: "button", class: "secondary", onclick: () => send({ none: true }, t("bring.skipped")) }, t("bring.skip"))),
  progress);
  // Once you answered, changing it is one step further away.
  parts.push(mine ? h("details", { class: "bring-change" }, h("summary", {}, t("bring.change")), form) : form);
  if (cycle.proposed_by === me) {
    parts.push(h("p", { class: "hint" }, t("bring.buildHint")), h("div", { class: "actions" }, h("button", {
      type: "button", class: "secondary",
      onclick: async () => {
        showError(null);
        try { redraw(await api(`${cyclePath(cycle.id)}/agenda`, { method: "POST" }), t("bring.built")); } catch (error) { showError(error); }
      },
    }, t("bring.build"))));
  }
  return h("section", { class: "card bring" }, parts);
}
function sessionLabel(sessions, id) {
  const found = sessions.find((s) => s.id === id);
  return found ? found.situation : "";
}

// ---------- #/cycles/{id} ----------
async function viewCycle(main, id) {
  const cycle = await api(cyclePath(id));
  const group = await api(groupPath(cycle.group_id));
  const sessions = group.my_state === "member" && !cycle.agenda_ready ? (await api("/v1/sessions?limit=100")).items : [];
  drawCycle(main, cycle, group, sessions);
  focusHeading(main);
}

function drawCycle(main, cycle, group, sessions = []) {
  const cancelled = cycle.state === "cancelled";
  const member = group.my_state === "member";
  const records = new Map(); // day number -> the box with everyone's notes and check-ins
  const refresh = (updated) => {
    for (const day of updated.days) records.get(day.day).replaceChildren(...dayRecords(day));
  };
  const facts = [cycle.place && t("cycle.place", { place: cycle.place }), t("cycle.zone", { zone: cycle.time_zone })];
  main.replaceChildren(...nodes(
    h("p", {}, h("a", { href: `#/groups/${encodeURIComponent(cycle.group_id)}` }, `← ${cycle.group_name}`)),
    h("h1", {}, t("cycle.title", { name: cycle.group_name })),
    h("p", { class: "meta" }, facts.filter(Boolean).join(" · ")),
    cancelled ? h("p", { class: "notice cycle-state" }, t("cycle.cancelledNotice"))
      : cycle.completed ? h("p", { class: "success cycle-state" }, t("cycle.completedNotice")) : null,
    group.my_state === "facilitator" ? h("p", { class: "hint" }, t("cycle.facilitating")) : null,
    cycle.agenda_ready ? null : bringPanel(main, cycle, group, sessions),
    cycleActions(main, cycle, group),
    cycle.days.map((day) => {
      const box = h("div", { class: "records" }, dayRecords(day));
      records.set(day.day, box);
      const writable = member && !cancelled;
      return h("section", { class: "day", "data-day": day.day, "aria-labelledby": `day-${day.day}` },
        h("h2", { id: `day-${day.day}` }, t("cycle.day", { day: day.day, title: day.agenda.title[state.lang] })),
        h("p", { class: "meta when" }, meetingTime(day, cycle.time_zone)),
        h("p", {}, day.agenda.purpose[state.lang]),
        h("div", { class: "card check-in-question" }, h("h3", {}, t("cycle.checkIn")), h("p", {}, day.agenda.check_in[state.lang])),
        day.agenda.items.map((item) => memberItem(day.day, item)),
        h("h3", {}, t("cycle.records")),
        box,
        writable ? notesForm(cycle, day, refresh) : null,
        writable ? checkInForm(cycle, day, refresh) : null,
        writable && day.day === cycle.days.length && cycle.your_session_id
          ? lessonForm(cycle.your_session_id, `${cyclePath(cycle.id)}/lesson`) : null);
    })));
}

function meetingTime(day, zone) {
  const clock = (iso) => new Date(iso).toLocaleTimeString(state.lang, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  const date = new Date(day.start).toLocaleDateString(state.lang, { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: zone });
  return `${date}, ${clock(day.start)}–${clock(day.end)}`;
}

// One member's part of a day: their situation (day 1), the questions with why they are asked,
// the coach's suggestions with the documents they cite (day 2), colleagues and the coach's notes.
function memberItem(day, item) {
  const language = item.language; // the member's situation's: their questions and advice are in it
  return h("article", { class: "card member-item", "data-member": item.member },
    h("h3", {}, withYou(item.member)),
    day === 1 ? [h("h4", {}, t("cycle.situation")), h("blockquote", { class: "situation", lang: language }, item.situation)] : null,
    item.suggestions.length ? [h("h4", {}, t("result.suggestions")),
      h("ol", { class: "plain suggestions" }, item.suggestions.map((s) => suggestionCard(s, item, "h5")))] : null,
    item.colleagues.length ? [h("h4", {}, t("result.colleagues")), h("ul", {}, item.colleagues.map((c) => h("li", {}, c.owner, " — ",
      c.documents.map((id, i) => [i ? ", " : "", h("a", { href: `#/doc/${encodeURIComponent(id)}` }, titleOf(item, id))]))))] : null,
    item.questions.length ? [h("h4", {}, t("cycle.questions")), h("ul", { class: "plain questions" }, item.questions.map((q) => questionCard(q, language)))] : null,
    item.notes.length ? [h("h4", {}, t("cycle.coachNotes")), h("ul", { lang: language }, item.notes.map((note) => h("li", {}, note)))] : null,
    item.lesson_draft && state.me && item.member === state.me.user ? h("p", { class: "hint" }, t("cycle.lessonHint")) : null);
}

// Everyone's notes for a day, and the check-ins you may see (yours, and the ones shared).
function dayRecords(day) {
  const me = state.me && state.me.user;
  return [
    day.notes.length
      ? h("ul", { class: "plain notes" }, day.notes.map((note) => h("li", { class: "card note", "data-member": note.member },
          h("p", {}, h("strong", {}, withYou(note.member))),
          note.did ? h("p", {}, `${t("cycle.did")}: ${note.did}`) : null,
          note.noticed ? h("p", {}, `${t("cycle.noticed")}: ${note.noticed}`) : null)))
      : h("p", { class: "meta" }, t("cycle.noNotes")),
    day.check_ins.length
      ? h("ul", { class: "check-ins" }, day.check_ins.map((c) => h("li", { "data-member": c.member },
          `${withYou(c.member)}: ${t("checkin.line", { energy: c.energy })}`, c.word ? ` · ${c.word}` : "",
          c.member === me ? ` (${t(c.shared ? "checkin.shared" : "checkin.private")})` : "")))
      : h("p", { class: "meta" }, t("checkin.none")),
  ];
}

function notesForm(cycle, day, refresh) {
  const mine = day.notes.find((note) => state.me && note.member === state.me.user);
  const did = h("textarea", { name: "did", rows: "3", maxlength: "4000" });
  const noticed = h("textarea", { name: "noticed", rows: "3", maxlength: "4000" });
  did.value = mine ? mine.did : "";
  noticed.value = mine ? mine.noticed : "";
  const done = h("div", { "aria-live": "polite" });
  return h("form", {
    class: "notes-form",
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      done.replaceChildren();
      setFieldError(did, "");
      if (!did.value.trim() && !noticed.value.trim()) { setFieldError(did, t("notes.empty")); did.focus(); return; }
      try {
        const updated = await api(`${cyclePath(cycle.id)}/days/${day.day}/notes`, { method: "POST", body: { did: did.value, noticed: noticed.value } });
        refresh(updated);
        success(done, t("notes.saved"));
      } catch (error) { showProblems(error, (name) => ({ did, noticed })[name] || null); }
    },
  },
  h("fieldset", {},
    h("legend", {}, t("notes.title", { day: day.day })),
    field(t("notes.did"), did), field(t("notes.noticed"), noticed),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("notes.save"))),
    done));
}

function checkInForm(cycle, day, refresh) {
  const mine = day.check_ins.find((c) => state.me && c.member === state.me.user);
  const energies = [1, 2, 3, 4, 5].map((n) => h("input", {
    type: "radio", name: `energy-${day.day}`, value: String(n), id: `energy-${day.day}-${n}`, checked: mine && mine.energy === n,
  }));
  const word = h("input", { type: "text", name: "word", maxlength: "40", value: mine && mine.word ? mine.word : "" });
  const share = h("input", { type: "checkbox", name: "shared", id: `share-${day.day}`, checked: Boolean(mine && mine.shared) });
  const energyError = h("p", { class: "field-error", id: `energy-${day.day}-error`, hidden: true });
  const done = h("div", { "aria-live": "polite" });
  return h("form", {
    class: "check-in-form",
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      done.replaceChildren();
      energyError.hidden = true;
      const chosen = energies.find((radio) => radio.checked);
      if (!chosen) { energyError.textContent = t("checkin.needEnergy"); energyError.hidden = false; energies[0].focus(); return; }
      const body = { energy: Number(chosen.value), word: word.value.trim() || null, shared: share.checked };
      try {
        const updated = await api(`${cyclePath(cycle.id)}/days/${day.day}/check-in`, { method: "PUT", body });
        refresh(updated);
        success(done, t("checkin.saved"));
      } catch (error) { showProblems(error, (name) => (name === "word" ? word : null)); }
    },
  },
  h("fieldset", {},
    h("legend", {}, t("checkin.title", { day: day.day })),
    h("fieldset", { class: "energy", "aria-describedby": energyError.id },
      h("legend", {}, t("checkin.energy")),
      energies.map((radio) => h("label", { class: "radio", for: radio.id }, radio, radio.value)),
      energyError),
    field(t("checkin.word"), word),
    h("label", { class: "radio", for: share.id }, share, t("checkin.share")),
    h("p", { class: "hint" }, t("checkin.shareHint")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("checkin.save"))),
    done));
}

// Download the agenda, move the week to another first day, or cancel it (after a confirmation).
function cycleActions(main, cycle, group) {
  const redraw = (updated, message) => {
    drawCycle(main, updated, group);
    setStatus(message);
    focusHeading(main);
  };
  const ics = h("button", {
    type: "button",
    onclick: async () => {
      showError(null);
      try { await download(`${cyclePath(cycle.id)}/calendar.ics`, `vital-week-${cycle.id}.ics`); } catch (error) { showError(error); }
    },
  }, t("cycle.ics"));
  if (cycle.state === "cancelled" || group.my_state !== "member") return h("div", { class: "actions" }, ics);
  const start = h("input", { type: "date", name: "start", required: true, value: cycle.days[0].date });
  const move = h("form", {
    class: "move",
    onsubmit: async (event) => {
      event.preventDefault();
      showError(null);
      setFieldError(start, "");
      if (!start.value) { setFieldError(start, t("plan.needStart")); start.focus(); return; }
      try {
        redraw(await api(`${cyclePath(cycle.id)}/move`, { method: "POST", body: { start: start.value } }), t("cycle.moved"));
      } catch (error) { showProblems(error, (name) => (name === "start" ? start : null)); }
    },
  },
  field(t("cycle.moveStart"), start),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("cycle.move"))));
  const cancel = async () => {
    if (!confirm(t("cycle.cancelConfirm"))) return;
    showError(null);
    try {
      redraw(await api(`${cyclePath(cycle.id)}/cancel`, { method: "POST" }), t("cycle.cancelledDone"));
    } catch (error) { showError(error); }
  };
  return h("div", { class: "cycle-actions" },
    h("div", { class: "actions" }, ics, h("button", { type: "button", class: "danger", onclick: cancel }, t("cycle.cancel"))),
    move);
}
