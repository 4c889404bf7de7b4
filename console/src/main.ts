// "Schedule on behalf": the agent's console. One page, top to bottom as the call goes:
//
//   sign in (API key, this tab only) -> the meeting (a template, or rules set here) and the
//   customer's zone -> the week's available starts on a grid, and the conflicting times ->
//   one start: swap a panelist, who is busy that day, hold it, book it for the customer ->
//   the booking's side effects -> the week's bookings, move one to another start, cancel.
import { create, clone } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromDate, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";

import { Code, describe, isUnauthenticated, schedulingClient, storedKey, storeKey, ConnectError, type Scheduling } from "./client";
import { byId, field, h, ids, replace } from "./dom";
import { BookingConflictDetailsSchema, BookingStatus, SideEffectKind, SideEffectState, type Booking, type Hold }
  from "./gen/convene/v1/booking_pb";
import { PoolKind, type Member, type Pool, type Room } from "./gen/convene/v1/directory_pb";
import { MeetingRulesSchema, SeatSchema, type MeetingRules, type Seat, type Template } from "./gen/convene/v1/meeting_pb";
import { type GetScheduleResponse } from "./gen/convene/v1/schedule_pb";
import { ConflictKind, type Conflict, type Slot } from "./gen/convene/v1/slots_pb";
import { addDays, dayHeading, isZone, localDate, localTime, mondayOf, timestampDate, when, zoneInstant, zoneMidnight }
  from "./time";

// ?template=technical-demo&week=2026-12-07&zone=America/New_York&now=2026-11-30T13:00:00Z preset the form (the demo's
// calendars are of a fixed month: `now` keeps the minimum notice counting from then).
const params = new URLSearchParams(window.location.search);
const PRESET_NOW = params.get("now");
const HOLD_MINUTES = 5;

interface State {
  client: Scheduling | null;
  members: Map<string, Member>;
  rooms: Map<string, Room>;
  pools: Map<string, Pool>;
  templates: Template[];
  rules: MeetingRules; // what the editor shows
  edited: boolean; // the agent changed the template's rules: send them inline
  zone: string;
  week: string; // Monday, YYYY-MM-DD in the customer's zone
  slots: Slot[];
  alternatives: Slot[];
  chosen: { slot: Slot; seats: string[][]; anyway: boolean } | null;
  hold: Hold | null;
  requestId: string | null; // kept across retries of one booking, so a retry cannot book twice
  moving: Booking | null; // a booking to move: the next chosen start is its new time
}

const state: State = {
  client: null, members: new Map(), rooms: new Map(), pools: new Map(), templates: [],
  rules: create(MeetingRulesSchema), edited: false,
  zone: params.get("zone") ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
  week: params.get("week") ?? mondayOf(new Date(), Intl.DateTimeFormat().resolvedOptions().timeZone),
  slots: [], alternatives: [], chosen: null, hold: null, requestId: null, moving: null,
};

const status = byId<HTMLParagraphElement>("status");

function say(text: string, kind: "info" | "error" = "info"): void {
  status.textContent = text;
  status.className = kind;
}

function api(): Scheduling {
  if (!state.client) throw new Error("Sign in first.");
  return state.client;
}

function nameOf(id: string): string {
  return state.members.get(id)?.name || state.rooms.get(id)?.name || id;
}

function nowField(): { now?: Timestamp } {
  return PRESET_NOW ? { now: timestampFromDate(new Date(PRESET_NOW)) } : {};
}

// --- Sign in ------------------------------------------------------------------------------

async function signIn(key: string): Promise<void> {
  const client = schedulingClient(key);
  try {
    const [members, rooms, pools, templates] = await Promise.all([
      client.listMembers({ pageSize: 1000 }), client.listRooms({ pageSize: 1000 }),
      client.listPools({ pageSize: 1000 }), client.listTemplates({ pageSize: 1000 })]);
    state.members = new Map(members.members.map((m) => [m.id, m]));
    state.rooms = new Map(rooms.rooms.map((r) => [r.id, r]));
    state.pools = new Map(pools.pools.map((p) => [p.id, p]));
    state.templates = templates.templates;
  } catch (error) {
    storeKey(null);
    say(isUnauthenticated(error) ? "That API key was not accepted." : describe(error), "error");
    return;
  }
  storeKey(key);
  state.client = client;
  byId("signin").hidden = true;
  byId("workspace").hidden = false;
  byId("sign-out").hidden = false;
  byId("signed-in").textContent = `Signed in (${state.members.size} people, ${state.rooms.size} rooms)`;
  renderMeeting();
  const preset = params.get("template");
  chooseTemplate(state.templates.find((t) => t.id === preset)?.id ?? state.templates[0]?.id ?? "");
  say("Signed in. Pick the meeting and find times.");
  void refreshBookings();
}

function signOut(): void {
  storeKey(null);
  window.location.reload();
}

function renderSignIn(): void {
  const key = h("input", { type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const form = h("form", {
    onsubmit: (event: Event) => { event.preventDefault(); void signIn(key.value.trim()); },
  }, field("API key", key, "Kept in this browser tab only; closing the tab signs you out."),
  h("button", { type: "submit" }, "Sign in"));
  replace(byId("signin"), h("h2", {}, "Sign in"), form);
  key.focus();
}

// --- The meeting ----------------------------------------------------------------------------

function chooseTemplate(id: string): void {
  const template = state.templates.find((t) => t.id === id);
  state.rules = template?.rules ? clone(MeetingRulesSchema, template.rules)
    : create(MeetingRulesSchema, { duration: durationFromMs(3600_000), seats: [] });
  state.edited = !template;
  const select = byId<HTMLSelectElement>("template");
  select.value = id;
  renderRules();
}

function edited(): void {
  state.edited = true;
}

function minutesOf(d: Duration | undefined): number {
  return d ? Math.round(durationMs(d) / 60000) : 0;
}

function numberInput(value: number, onChange: (n: number) => void, min = 0): HTMLInputElement {
  return h("input", {
    type: "number", min, step: 1, value, inputmode: "numeric",
    onchange: (e: Event) => { onChange(Number((e.target as HTMLInputElement).value)); edited(); },
  });
}

function textInput(value: string, onChange: (s: string) => void): HTMLInputElement {
  return h("input", {
    type: "text", value, spellcheck: "false",
    onchange: (e: Event) => { onChange((e.target as HTMLInputElement).value); edited(); },
  });
}

function seatEditor(seat: Seat, index: number): HTMLElement {
  const kind = h("select", {
    onchange: (e: Event) => {
      const which = (e.target as HTMLSelectElement).value;
      seat.kind = which === "pool" ? { case: "pool", value: { $typeName: "convene.v1.PoolSeat", poolId: [...state.pools.keys()][0] ?? "", count: 1 } }
        : which === "room" ? { case: "room", value: { $typeName: "convene.v1.RoomSeat", roomIds: [], poolIds: [] } }
          : { case: "member", value: { $typeName: "convene.v1.MemberSeat", candidates: [] } };
      edited();
      renderRules();
    },
  }, ...["member", "pool", "room"].map((k) => h("option", { value: k, selected: seat.kind.case === k }, k)));
  const parts: HTMLElement[] = [];
  if (seat.kind.case === "member") {
    const member = seat.kind.value;
    parts.push(field("Candidates", textInput(member.candidates.join(", "), (s) => { member.candidates = ids(s); }),
                     "Member ids: the first is the primary, the others alternates in order."));
  } else if (seat.kind.case === "pool") {
    const pool = seat.kind.value;
    const select = h("select", { onchange: (e: Event) => { pool.poolId = (e.target as HTMLSelectElement).value; edited(); } },
      ...[...state.pools.values()].filter((p) => p.kind !== PoolKind.ROOMS)
        .map((p) => h("option", { value: p.id, selected: p.id === pool.poolId }, p.name || p.id)));
    parts.push(field("Pool", select), field("How many", numberInput(pool.count || 1, (n) => { pool.count = n; }, 1)));
  } else if (seat.kind.case === "room") {
    const room = seat.kind.value;
    parts.push(field("Rooms", textInput(room.roomIds.join(", "), (s) => { room.roomIds = ids(s); }), "In order of preference."),
      field("Room pools", textInput(room.poolIds.join(", "), (s) => { room.poolIds = ids(s); })));
  }
  const remove = h("button", {
    type: "button", class: "quiet", "aria-label": `Remove seat ${index + 1}`,
    onclick: () => { state.rules.seats.splice(index, 1); edited(); renderRules(); },
  }, "Remove");
  return h("fieldset", { class: "seat" }, h("legend", {}, `Seat ${index + 1}`),
    field("Label", textInput(seat.label, (s) => { seat.label = s; })), field("Kind", kind), ...parts, remove);
}

function renderRules(): void {
  const rules = state.rules;
  const minutes = (get: () => number, set: (n: number) => void, label: string, hint?: string) =>
    field(label, numberInput(get(), set), hint);
  replace(byId("rules"),
    h("div", { class: "row" },
      minutes(() => minutesOf(rules.duration), (n) => { rules.duration = durationFromMs(n * 60000); }, "Duration (minutes)"),
      minutes(() => minutesOf(rules.bufferBefore), (n) => { rules.bufferBefore = durationFromMs(n * 60000); }, "Buffer before (minutes)"),
      minutes(() => minutesOf(rules.bufferAfter), (n) => { rules.bufferAfter = durationFromMs(n * 60000); }, "Buffer after (minutes)"),
      minutes(() => rules.startIntervalMinutes ?? 15, (n) => { rules.startIntervalMinutes = n; }, "Start every (minutes)"),
      minutes(() => rules.customers ?? 1, (n) => { rules.customers = n; }, "Customers attending")),
    field("Optional members", textInput(rules.optionalMemberIds.join(", "), (s) => { rules.optionalMemberIds = ids(s); }),
          "Invited if free; they never block a time."),
    ...rules.seats.map(seatEditor),
    h("button", {
      type: "button", class: "quiet",
      onclick: () => { rules.seats.push(create(SeatSchema, { kind: { case: "member", value: { candidates: [] } } })); edited(); renderRules(); },
    }, "Add a seat"));
}

function renderMeeting(): void {
  const template = h("select", { id: "template", onchange: (e: Event) => chooseTemplate((e.target as HTMLSelectElement).value) },
    ...state.templates.map((t) => h("option", { value: t.id }, t.name || t.id)),
    h("option", { value: "" }, "Custom rules"));
  const zone = h("input", { type: "text", value: state.zone, list: "zones", spellcheck: "false", required: true });
  const week = h("input", { type: "date", value: state.week, required: true });
  const conflicts = h("input", { type: "checkbox", id: "want-conflicts" });
  const form = h("form", {
    onsubmit: (event: Event) => {
      event.preventDefault();
      if (!isZone(zone.value.trim())) { say(`${zone.value} is not a time zone (e.g. Europe/London).`, "error"); return; }
      state.zone = zone.value.trim();
      state.week = mondayOf(zoneMidnight(week.value, state.zone), state.zone);
      void findTimes(conflicts.checked);
    },
  },
  h("div", { class: "row" }, field("Meeting", template), field("Customer's time zone", zone), field("Week of", week)),
  h("details", {}, h("summary", {}, "Rules of this meeting (change them for this call)"), h("div", { id: "rules" })),
  h("div", { class: "row" }, h("label", { class: "check" }, conflicts, " Also show conflicting times")),
  h("button", { type: "submit" }, "Find times"));
  replace(byId("meeting"), h("h2", {}, "The meeting"), form, checkForm(),
    h("datalist", { id: "zones" }, ...Intl.supportedValuesOf("timeZone").map((z) => h("option", { value: z }))));
}

function meeting(): { case: "rules"; value: MeetingRules } | { case: "template"; value: { $typeName: "convene.v1.TemplateRef"; templateId: string } } {
  const templateId = byId<HTMLSelectElement>("template").value;
  if (templateId && !state.edited) return { case: "template", value: { $typeName: "convene.v1.TemplateRef", templateId } };
  return { case: "rules", value: state.rules };
}

// --- The week ---------------------------------------------------------------------------------

async function findTimes(wantConflicts: boolean): Promise<void> {
  const start = zoneMidnight(state.week, state.zone);
  const end = zoneMidnight(addDays(state.week, 7), state.zone);
  say("Looking for times…");
  try {
    const reply = await api().findSlots({
      meeting: meeting(), windowStart: timestampFromDate(start), windowEnd: timestampFromDate(end),
      timeZone: state.zone, pageSize: 0, wantAlternatives: wantConflicts, maxAlternatives: wantConflicts ? 10 : 0,
      ...nowField(),
    });
    state.slots = reply.slots;
    state.alternatives = reply.alternatives;
    renderWeek();
    const unreadable = reply.unavailableCalendars.map((u) => nameOf(u.resourceId));
    say(`${reply.totalAvailable} available start${reply.totalAvailable === 1 ? "" : "s"} this week` +
        (unreadable.length ? `; calendars not readable (counted busy): ${unreadable.join(", ")}` : "") +
        (reply.partial ? " (search cut short: the list may be incomplete)" : "."));
  } catch (error) {
    say(describe(error), "error");
  }
}

function renderWeek(): void {
  const days = Array.from({ length: 7 }, (_, i) => addDays(state.week, i));
  const byDay = new Map<string, Slot[]>(days.map((d) => [d, []]));
  for (const slot of state.slots) byDay.get(localDate(timestampDate(slot.start!), state.zone))?.push(slot);
  const shown = days.filter((d, i) => i < 5 || (byDay.get(d)?.length ?? 0) > 0); // the weekend when it has times
  const times = [...new Set(state.slots.map((s) => localTime(timestampDate(s.start!), state.zone)))].sort();
  // Days as columns (stacked on a phone), each a list of its starts; Tab walks them in time order.
  const grid = h("div", { class: "week", "aria-label": `Available starts, ${state.zone} time` },
    ...shown.map((day) => {
      const slots = byDay.get(day) ?? [];
      return h("section", { class: "day", "aria-label": dayHeading(day) },
        h("h3", {}, dayHeading(day)),
        slots.length === 0 ? h("p", { class: "none" }, "No times") : null,
        ...times.map((time) => {
          const slot = slots.find((s) => localTime(timestampDate(s.start!), state.zone) === time);
          if (!slot) return h("span", { class: "empty", "aria-hidden": "true" });
          return h("button", {
            type: "button", class: "slot",
            "aria-label": `${dayHeading(day)} ${time}`,
            onclick: () => choose(slot, false),
          }, time);
        }));
    }));
  const conflicting = state.alternatives.length ? h("section", { "aria-labelledby": "conflicting-heading" },
    h("h3", { id: "conflicting-heading" }, "Conflicting times (fewest conflicts first)"),
    h("ul", { class: "conflicting" }, ...state.alternatives.map((slot) => h("li", {},
      h("strong", {}, when(slot.start, state.zone)), " ",
      h("ul", {}, ...slot.conflicts.map((c) => h("li", {}, conflictText(c)))),
      h("button", { type: "button", onclick: () => choose(slot, true) }, `Schedule anyway at ${when(slot.start, state.zone)}`))))) : null;
  replace(byId("week"), h("h2", {}, `Week of ${dayHeading(state.week)} (${state.zone})`),
    state.slots.length ? grid : h("p", {}, "No available start this week."), conflicting);
}

/** The customer names a time: is it free, and if not, what is in the way (CheckTime). */
function checkForm(): HTMLElement {
  const day = h("input", { type: "date", value: state.week, required: true });
  const time = h("input", { type: "time", value: "10:00", step: 300, required: true });
  return h("form", {
    class: "row",
    onsubmit: (event: Event) => { event.preventDefault(); void checkTime(day.value, time.value); },
  }, field("Check a day", day), field("at (customer's time)", time), h("button", { type: "submit" }, "Check this time"));
}

async function checkTime(day: string, time: string): Promise<void> {
  try {
    const reply = await api().checkTime({
      meeting: meeting(), start: timestampFromDate(zoneInstant(day, time, state.zone)), timeZone: state.zone,
      ...nowField(),
    });
    if (!reply.slot) { say(`Not possible at ${time}: ${reply.reason}`, "error"); return; }
    say(reply.available ? `${time} is free.` : `${time} is not free: ${reply.reason}`, reply.available ? "info" : "error");
    choose(reply.slot, !reply.available);
  } catch (error) {
    say(describe(error), "error");
  }
}

const KIND_WORDS: Record<number, string> = {
  [ConflictKind.BUSY]: "busy", [ConflictKind.TENTATIVE]: "tentative", [ConflictKind.OUT_OF_OFFICE]: "out of office",
  [ConflictKind.BOOKING]: "booked", [ConflictKind.OUTSIDE_HOURS]: "outside working hours",
};

/** "Maria Lopez: busy 10:00–11:00", or with the event's title when the caller owns the calendar. */
function conflictText(conflict: Conflict): string {
  const span = `${localTime(timestampDate(conflict.start!), state.zone)}–${localTime(timestampDate(conflict.end!), state.zone)}`;
  const what = conflict.details?.title ? `“${conflict.details.title}”` : KIND_WORDS[conflict.kind] ?? "busy";
  return `${nameOf(conflict.resourceId)}: ${what} ${span}`;
}

// --- One start ----------------------------------------------------------------------------------

function choose(slot: Slot, anyway: boolean): void {
  void release();
  state.chosen = { slot, seats: slot.seats.map((s) => [...s.resourceIds]), anyway };
  state.requestId = null;
  renderChosen();
  void renderDay();
  byId("chosen").scrollIntoView({ block: "start" });
  byId<HTMLHeadingElement>("chosen-heading").focus();
}

function seatLabel(index: number): string {
  return state.chosen?.slot.seats[index]?.label || state.rules.seats[index]?.label || `Seat ${index + 1}`;
}

function renderChosen(): void {
  const chosen = state.chosen;
  if (!chosen) { replace(byId("chosen")); return; }
  const { slot } = chosen;
  const seats = chosen.seats.map((fill, i) => {
    const free = slot.freeCandidates[i]?.resourceIds ?? [];
    return fill.map((current, position) => {
      const options = [...new Set([current, ...free])];
      const select = h("select", {
        onchange: (e: Event) => { fill[position] = (e.target as HTMLSelectElement).value; void release(); state.requestId = null; void renderDay(); },
      }, ...options.map((id) => h("option", { value: id, selected: id === current }, nameOf(id))));
      return field(fill.length > 1 ? `${seatLabel(i)} ${position + 1}` : seatLabel(i), select,
                   `${free.length} free at this time`);
    });
  }).flat();
  if (state.moving) { renderMove(chosen, seats); return; }
  const optional = slot.optionalMembers.map((o) => h("li", {}, `${nameOf(o.memberId)} (optional): ${o.free ? "free" : "not free"}`));
  const name = h("input", { type: "text", autocomplete: "name", required: true });
  const email = h("input", { type: "email", autocomplete: "email", required: true });
  const title = h("input", { type: "text", value: state.templates.find((t) => t.id === byId<HTMLSelectElement>("template").value)?.name ?? "Meeting" });
  const anyway = h("input", { type: "checkbox", id: "anyway", checked: chosen.anyway });
  const form = h("form", {
    onsubmit: (event: Event) => {
      event.preventDefault();
      void book(name.value.trim(), email.value.trim(), title.value.trim(), anyway.checked);
    },
    oninput: () => { state.requestId = null; },
    // The customer is giving their details: hold the time meanwhile, so no one else takes it.
    onfocusin: () => { if (!state.hold) void hold(); },
  },
  h("h3", {}, "The customer"),
  h("div", { class: "row" }, field("Customer's name", name), field("Customer's email", email), field("Title", title)),
  h("label", { class: "check" }, anyway, " Schedule anyway (book although members are busy; rooms never double-book)"),
  h("button", { type: "submit" }, "Book"));
  replace(byId("chosen"),
    h("h2", { id: "chosen-heading", tabindex: "-1" }, `${when(slot.start, state.zone)}–${localTime(timestampDate(slot.end!), state.zone)} (${state.zone})`),
    slot.conflicts.length ? h("div", { class: "warning" }, h("p", {}, "In the way at this time:"),
      h("ul", { class: "conflicts" }, ...slot.conflicts.map((c) => h("li", {}, conflictText(c))))) : null,
    h("fieldset", {}, h("legend", {}, "Who sits on the panel (swap a free candidate in)"), ...seats),
    optional.length ? h("ul", {}, ...optional) : null,
    h("div", { id: "day" }),
    h("div", { class: "row" },
      h("button", { type: "button", id: "hold", onclick: () => void hold() }, `Hold this time for ${HOLD_MINUTES} minutes`),
      h("span", { id: "hold-state", role: "status" })),
    form);
}

/** The chosen start as the new time of the booking being moved: same booking, same customer. */
function renderMove(chosen: NonNullable<State["chosen"]>, seats: HTMLElement[]): void {
  const moving = state.moving!;
  const { slot } = chosen;
  const anyway = h("input", { type: "checkbox", id: "anyway", checked: chosen.anyway });
  const form = h("form", {
    onsubmit: (event: Event) => { event.preventDefault(); void move(moving, anyway.checked); },
  },
  h("label", { class: "check" }, anyway, " Move anyway (although members are busy; rooms never double-book)"),
  h("div", { class: "row" },
    h("button", { type: "submit" }, "Move here"),
    h("button", { type: "button", class: "quiet", onclick: () => stopMoving() }, "Keep it where it is")));
  replace(byId("chosen"),
    h("h2", { id: "chosen-heading", tabindex: "-1" },
      `Move ${moving.title} (${when(moving.start, state.zone)}) to ${when(slot.start, state.zone)}`),
    slot.conflicts.length ? h("div", { class: "warning" }, h("p", {}, "In the way at this time:"),
      h("ul", { class: "conflicts" }, ...slot.conflicts.map((c) => h("li", {}, conflictText(c))))) : null,
    h("fieldset", {}, h("legend", {}, "Who sits on the panel at the new time (swap a free candidate in)"), ...seats),
    h("div", { id: "day" }),
    form);
}

function stopMoving(): void {
  state.moving = null;
  state.chosen = null;
  state.requestId = null;
  replace(byId("chosen"));
  say("Not moved.");
}

/** RescheduleBooking: the same booking at the chosen start with the chosen panel, guarded by its etag. */
async function move(booking: Booking, anyway: boolean): Promise<void> {
  const chosen = state.chosen;
  if (!chosen) return;
  state.requestId ??= crypto.randomUUID();
  say("Moving…");
  try {
    const reply = await api().rescheduleBooking({
      bookingId: booking.id, requestId: state.requestId, etag: booking.etag, start: chosen.slot.start,
      seats: chosen.seats.map((ids) => ({ resourceIds: ids })), allowConflicts: anyway, ...nowField(),
    });
    state.moving = null;
    state.chosen = null;
    state.requestId = null;
    replace(byId("chosen"));
    say(`Moved ${booking.title} to ${when(reply.booking!.start, state.zone)}.`);
    await followSideEffects(reply.booking!, "Moved");
    await refreshBookings();
  } catch (error) {
    state.requestId = null;
    const details = error instanceof ConnectError ? error.findDetails(BookingConflictDetailsSchema) : [];
    if (error instanceof ConnectError && error.code === Code.Aborted) {
      say("Not moved: the booking changed meanwhile (someone else moved or edited it). Refresh the bookings and try again.", "error");
    } else if (details.length) {
      say(`Not moved: ${details[0].reason || "the time is no longer free"}. ` +
          details[0].conflicts.map(conflictText).join("; ") + ". Tick “Move anyway” to move regardless.", "error");
    } else {
      say(`Not moved: ${describe(error)}`, "error");
    }
  }
}

function chosenResources(): string[] {
  return state.chosen ? state.chosen.seats.flat() : [];
}

/** Who is busy that day: GetSchedule for the chosen people and rooms, in half hours. */
async function renderDay(): Promise<void> {
  const chosen = state.chosen;
  if (!chosen) return;
  const day = localDate(timestampDate(chosen.slot.start!), state.zone);
  const resources = [...new Set([...chosenResources(), ...chosen.slot.optionalMembers.map((o) => o.memberId)])];
  let reply: GetScheduleResponse;
  try {
    reply = await api().getSchedule({
      resourceIds: resources, intervalMinutes: 30,
      windowStart: timestampFromDate(zoneMidnight(day, state.zone)),
      windowEnd: timestampFromDate(zoneMidnight(addDays(day, 1), state.zone)),
    });
  } catch (error) {
    replace(byId("day"), h("p", { class: "error" }, describe(error)));
    return;
  }
  const hours = Array.from({ length: 48 }, (_, i) => i);
  const shownFrom = 14, shownTo = 42; // 07:00 to 21:00 local
  replace(byId("day"), h("h3", {}, `Their day, ${dayHeading(day)}`),
    h("table", { class: "freebusy" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Who"),
        ...hours.slice(shownFrom, shownTo).filter((i) => i % 2 === 0).map((i) => h("th", { scope: "col", colspan: 2 }, `${String(i / 2).padStart(2, "0")}`)))),
      h("tbody", {}, ...reply.schedules.map((s) => h("tr", {},
        h("th", { scope: "row" }, nameOf(s.resourceId)),
        ...hours.slice(shownFrom, shownTo).map((i) => {
          const code = s.availabilityView[i] ?? "0";
          const label = ["free", "tentative", "busy", "out of office"][Number(code)] ?? "busy";
          return h("td", { class: `fb fb${code}`, title: label, "aria-label": label });
        }))))),
    h("ul", { class: "items" }, ...reply.schedules.flatMap((s) => s.items.map((item) => h("li", {},
      `${nameOf(s.resourceId)}: ${item.details?.title ? `“${item.details.title}”` : KIND_WORDS[item.kind] ?? "busy"} ` +
      `${localTime(timestampDate(item.start!), state.zone)}–${localTime(timestampDate(item.end!), state.zone)}`)))));
}

let pendingHold: Promise<void> | null = null;

/** Holds the chosen time (one request at a time; a booking waits for it). */
function hold(): Promise<void> {
  pendingHold ??= takeHold().finally(() => { pendingHold = null; });
  return pendingHold;
}

async function takeHold(): Promise<void> {
  const chosen = state.chosen;
  if (!chosen) return;
  await release();
  try {
    const reply = await api().holdSlot({
      resourceIds: chosenResources(), start: chosen.slot.start, end: chosen.slot.end,
      ttl: durationFromMs(HOLD_MINUTES * 60000),
    });
    state.hold = reply.hold ?? null;
    byId("hold-state").textContent = `Held until ${localTime(timestampDate(reply.hold!.expireTime!), state.zone)}`;
  } catch (error) {
    byId("hold-state").textContent = `Could not hold: ${describe(error)}`;
  }
}

async function release(): Promise<void> {
  const held = state.hold;
  state.hold = null;
  const label = document.getElementById("hold-state");
  if (label) label.textContent = "";
  if (held) {
    try { await api().releaseHold({ holdId: held.id }); } catch { /* expired or used: nothing to release */ }
  }
}

async function book(name: string, email: string, title: string, anyway: boolean): Promise<void> {
  const chosen = state.chosen;
  if (!chosen) return;
  if (pendingHold) await pendingHold; // book over our own hold, never beside it
  state.requestId ??= crypto.randomUUID();
  say("Booking…");
  try {
    const reply = await api().createBooking({
      requestId: state.requestId, meeting: meeting(), start: chosen.slot.start, timeZone: state.zone,
      seats: chosen.seats.map((ids) => ({ resourceIds: ids })),
      customers: [{ name, email }], title, allowConflicts: anyway, holdId: state.hold?.id ?? "", ...nowField(),
    });
    state.hold = null;
    state.requestId = null;
    say(`Booked ${title} for ${name}.`);
    replace(byId("chosen"));
    state.chosen = null;
    await followSideEffects(reply.booking!);
    await refreshBookings();
  } catch (error) {
    const details = error instanceof ConnectError ? error.findDetails(BookingConflictDetailsSchema) : [];
    if (details.length) {
      state.requestId = null;
      say(`Not booked: ${details[0].reason || "the time is no longer free"}. ` +
          details[0].conflicts.map(conflictText).join("; ") + ". Tick “Schedule anyway” to book regardless.", "error");
    } else {
      say(`Not booked: ${describe(error)}`, "error");
    }
  }
}

// --- Bookings -----------------------------------------------------------------------------------

const EFFECT_WORDS: Record<number, string> = {
  [SideEffectKind.CREATE_EVENT]: "calendar event", [SideEffectKind.SEND_INVITE]: "invitation email",
  [SideEffectKind.CANCEL_EVENT]: "event removal", [SideEffectKind.SEND_CANCEL]: "cancellation email",
  [SideEffectKind.UPDATE_EVENT]: "event update", [SideEffectKind.SEND_UPDATE]: "update email",
  [SideEffectKind.SEND_DROPPED]: "cancellation to those dropped",
};
const STATE_WORDS: Record<number, string> = {
  [SideEffectState.PENDING]: "pending", [SideEffectState.RUNNING]: "running", [SideEffectState.DONE]: "done",
  [SideEffectState.FAILED]: "failed", [SideEffectState.SKIPPED]: "skipped",
};

function effects(booking: Booking): HTMLElement {
  return h("ul", { class: "effects" }, ...booking.sideEffects.map((e) => h("li", {},
    `${EFFECT_WORDS[e.kind] ?? "side effect"}: ${STATE_WORDS[e.state] ?? "?"}` +
    (e.result ? ` (${e.result})` : "") + (e.lastError ? ` — ${e.lastError}` : ""))));
}

function settled(booking: Booking): boolean {
  return booking.sideEffects.every((e) => e.state !== SideEffectState.PENDING && e.state !== SideEffectState.RUNNING);
}

/** The booking's calendar event and emails as the outbox runs them (for a few seconds). */
async function followSideEffects(booking: Booking, heading = "Booked"): Promise<void> {
  const show = (b: Booking) => replace(byId("booked"), h("h2", {}, heading),
    h("p", {}, `${b.title}: ${when(b.start, state.zone)} (${state.zone}), booking ${b.id}`), effects(b));
  show(booking);
  for (let i = 0; i < 40 && !settled(booking); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    booking = (await api().getBooking({ bookingId: booking.id })).booking!;
    show(booking);
  }
}

async function refreshBookings(): Promise<void> {
  let bookings: Booking[];
  try {
    const reply = await api().listBookings({
      windowStart: timestampFromDate(zoneMidnight(state.week, state.zone)),
      windowEnd: timestampFromDate(zoneMidnight(addDays(state.week, 7), state.zone)), pageSize: 200,
    });
    bookings = reply.bookings;
  } catch (error) {
    replace(byId("bookings"), h("h2", {}, "This week's bookings"), h("p", { class: "error" }, describe(error)));
    return;
  }
  const rows = bookings.map((b) => {
    const cancel = h("button", { type: "button", class: "quiet", "aria-label": `Cancel ${b.title} at ${when(b.start, state.zone)}` }, "Cancel");
    cancel.addEventListener("click", () => {
      if (cancel.dataset.confirm !== "yes") {
        cancel.dataset.confirm = "yes";
        cancel.textContent = "Confirm cancel";
        return;
      }
      void cancelBooking(b);
    });
    const moveButton = h("button", { type: "button", class: "quiet", "aria-label": `Move ${b.title} at ${when(b.start, state.zone)}` }, "Move");
    moveButton.addEventListener("click", () => {
      state.moving = b;
      state.chosen = null;
      replace(byId("chosen"));
      say(`Moving ${b.title} (${when(b.start, state.zone)}): pick its new time among the available starts.`);
      byId("week").scrollIntoView({ block: "start" });
    });
    return h("tr", {},
      h("td", {}, when(b.start, state.zone)), h("td", {}, b.title),
      h("td", {}, b.seats.map((s) => s.resourceIds.map(nameOf).join(" + ")).join(", ")),
      h("td", {}, b.customers.map((c) => c.name || c.email).join(", ")),
      h("td", {}, b.status === BookingStatus.CANCELLED ? "cancelled" : "confirmed"),
      h("td", {}, effects(b)),
      h("td", {}, b.status === BookingStatus.CONFIRMED ? h("div", { class: "row" }, moveButton, cancel) : ""));
  });
  replace(byId("bookings"), h("h2", {}, `Bookings, week of ${dayHeading(state.week)}`),
    rows.length ? h("table", { class: "bookings" },
      h("thead", {}, h("tr", {}, ...["When", "Title", "Panel", "Customer", "Status", "Side effects", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rows)) : h("p", {}, "None yet."),
    h("button", { type: "button", class: "quiet", onclick: () => void refreshBookings() }, "Refresh"));
}

async function cancelBooking(booking: Booking): Promise<void> {
  try {
    const reply = await api().cancelBooking({ bookingId: booking.id });
    say(`Cancelled ${booking.title} (${when(booking.start, state.zone)}).`);
    await followSideEffects(reply.booking!, "Cancelled");
  } catch (error) {
    say(`Not cancelled: ${describe(error)}`, "error");
  }
  await refreshBookings();
}

// --- Start --------------------------------------------------------------------------------------

byId("sign-out").addEventListener("click", signOut);
const remembered = storedKey();
renderSignIn();
if (remembered) void signIn(remembered);
