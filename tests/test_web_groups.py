"""The web page's learning groups and vital weeks, and the portfolio export, end to end: Debian's
headless Chromium against a real `coach serve`, three professionals (pia, piet, noor)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect

from coach.keys import KeyStore
from tests.api_support import running_service
from tests.web_support import guarded_page, shot

CALLBACKS = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
HEAT_PUMP = "After we install a heat pump the customer says the house stays cold."
OUT_OF_SCOPE = "Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen."
PLANNING = 90_000  # ms: the coach answers each member's situation before the week is planned


class Service:
    def __init__(self, base: str, keys: dict[str, str]) -> None:
        self.base = base
        self.keys = keys

    def api(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.base + path, headers=headers, timeout=120, **kwargs)

    def ok(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        """A set-up step through the API: it must succeed."""
        answer = self.api(who, method, path, **kwargs)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("web-groups")
    keys_file = root / "keys.json"
    store = KeyStore(keys_file)
    keys = {user: store.add(user, "professional") for user in ("pia", "piet", "noor")}
    keys["lea"] = store.add("lea", "curator")  # L&D
    with running_service(root, env={"COACH_API_KEYS_FILE": str(keys_file)}) as base:
        yield Service(base, keys)


def sign_in(page: Page, service: Service, who: str) -> None:
    page.goto(service.base + "/")
    expect(page.get_by_role("heading", name="Je API-sleutel")).to_be_visible()
    page.get_by_label("API-sleutel", exact=True).fill(service.keys[who])
    page.get_by_role("button", name="Opslaan").click()
    expect(page.locator("#who")).to_contain_text(who)


def open_groups(page: Page) -> None:
    page.get_by_role("link", name="Groepen").click()
    expect(page.get_by_role("heading", name="Mijn leergroepen")).to_be_visible()


def group_with(service: Service, creator: str, name: str, *members: str, **extra: Any) -> str:
    """A group made through the API whose invited `members` all accepted."""
    body = {"name": name, "members": list(members), **extra}
    group: str = service.ok(creator, "POST", "/v1/groups", json=body)["id"]
    for member in members:
        service.ok(member, "POST", f"/v1/groups/{group}/accept")
    return group


def fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px screen"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select, textarea')]
            .filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"""
    )
    assert unlabelled == []


def tab_to(page: Page, test: str, limit: int = 150) -> None:
    """Press Tab until the focused element passes `test` (a JS expression on `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => Boolean({test}))(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {test}")


def test_a_learning_group_plans_a_vital_week_and_keeps_it_from_the_page(
    page: Page, service: Service, browser: Browser
) -> None:
    earlier = service.api("pia", "POST", "/v1/coach", json={"situation": CALLBACKS})
    assert earlier.status_code == 200, earlier.text
    sign_in(page, service, "pia")
    open_groups(page)
    page.get_by_label("Naam van de groep").fill("Storingen")
    page.get_by_label("Team (optioneel)").fill("Servicedesk")
    page.get_by_label("Collega's om uit te nodigen").fill("piet")
    page.get_by_role("button", name="Groep aanmaken").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("aangemaakt; je collega's zijn uitgenodigd.")
    expect(status).to_contain_text("Storingen")
    card = page.locator("li.group", has_text="Storingen")
    expect(card.locator("li[data-user='piet']")).to_have_text("piet — uitgenodigd")
    expect(card).to_contain_text("Team: Servicedesk")
    group_id = card.get_attribute("data-group")
    shot(page, "groups-list.png")

    with guarded_page(browser) as piet:  # piet accepts on a page of his own
        sign_in(piet, service, "piet")
        open_groups(piet)
        piet.locator(f"li[data-group='{group_id}']").get_by_role(
            "button", name="Uitnodiging aannemen"
        ).click()
        expect(piet.get_by_role("status")).to_have_text("Je bent nu lid van Storingen.")
        expect(piet.locator(f"li[data-group='{group_id}'] li[data-user='piet']")).to_have_text(
            "piet (jij) — lid"
        )

    card.get_by_role("link", name="Storingen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Storingen")
    expect(page.get_by_text("Nog geen vitale week gepland.")).to_be_visible()
    page.get_by_label("Eerste dag").fill("2030-03-01")  # a Friday
    page.get_by_label("Tijd", exact=True).fill("09:30")
    page.get_by_label("Plaats (optioneel)").fill("Werkplaats, zaal 2")
    page.get_by_label("Vrije dagen (optioneel)").fill("2030-03-04")  # the Monday is skipped
    # pia brings her earlier session and suggests a situation to piet, which only he sees.
    page.get_by_label("Jouw situatie uit een eerdere sessie").select_option(
        earlier.headers["X-Session-Id"]
    )
    expect(page.get_by_label("Jouw situatie (optioneel)", exact=True)).to_be_hidden()
    page.get_by_label("Voorstel voor piet (optioneel)").fill(HEAT_PUMP)
    shot(page, "groups-plan.png")
    page.get_by_role("button", name="Week voorstellen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vitale week: Storingen", timeout=PLANNING
    )
    cycle_id = page.url.split("#/cycles/")[1]
    bring = page.locator("section.bring")
    expect(bring).to_contain_text("Geantwoord: pia (jij).")
    expect(page.locator(".member-item")).to_have_count(0)  # no agenda before piet answers
    assert service.ok("piet", "GET", "/v1/sessions")["items"] == []
    shot(page, "groups-bring.png")

    with guarded_page(browser) as piet:  # piet brings the suggestion, in his own words
        sign_in(piet, service, "piet")
        piet.goto(f"{service.base}/#/cycles/{cycle_id}")
        expect(piet.get_by_text("pia stelde deze situatie voor je voor.")).to_be_visible()
        mine = piet.get_by_label("Jouw situatie", exact=True)
        expect(mine).to_have_value(HEAT_PUMP)
        mine.fill(HEAT_PUMP + " Mostly in older houses.")
        piet.set_viewport_size({"width": 375, "height": 812})
        fits_a_phone(piet)
        shot(piet, "groups-bring-phone.png")
        piet.get_by_role("button", name="Situatie inbrengen").click()
        expect(piet.get_by_role("status")).to_contain_text(
            "Je situatie is ingebracht.", timeout=PLANNING
        )
        expect(piet.locator("section.bring")).to_have_count(0)  # everyone answered: built
    [piets] = service.ok("piet", "GET", "/v1/sessions")["items"]
    assert piets["situation"] == HEAT_PUMP + " Mostly in older houses."

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vitale week: Storingen")
    days = page.locator("section.day")
    expect(days.locator("h2")).to_have_text(
        [
            "Dag 1: De situatie en het doel",
            "Dag 2: Opties",
            "Dag 3: Actie",
            "Dag 4: Reflectie en delen",
        ]
    )
    expect(days.locator(".when")).to_have_text(
        [
            re.compile(r"vrijdag 1 maart 2030, 09:30.10:30"),
            re.compile(r"dinsdag 5 maart 2030, 09:30.10:30"),
            re.compile(r"woensdag 6 maart 2030, 09:30.10:30"),
            re.compile(r"donderdag 7 maart 2030, 09:30.10:30"),
        ]
    )
    day1, day2 = days.nth(0), days.nth(1)
    expect(day1.locator(".check-in-question")).to_contain_text("Hoe is je energie vandaag")
    expect(day1.locator(".member-item[data-member='pia'] .situation")).to_have_text(CALLBACKS)
    expect(day1.locator(".member-item[data-member='piet'] .situation")).to_have_text(
        HEAT_PUMP + " Mostly in older houses."
    )
    for member in ("pia", "piet"):  # day 2: suggestions citing documents, for each member
        item = day2.locator(f".member-item[data-member='{member}']")
        expect(item.locator(".suggestion").first).to_be_visible()
        expect(item.locator("a.citation").first).to_have_attribute("href", re.compile("^#/doc/"))
        expect(item.locator(".questions li").first).to_contain_text("Waarom deze vraag")
    citation = day2.locator(".member-item[data-member='piet'] a.citation").first
    cited = citation.inner_text()
    citation.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(cited)
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vitale week: Storingen")

    with page.expect_download() as download:
        page.get_by_role("button", name="Agenda downloaden (.ics)").click()
    events = Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT")
    assert len(events) == 4
    for event in events:
        assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=1)
        assert str(event["LOCATION"]) == "Werkplaats, zaal 2"
    starts = sorted(event.decoded("DTSTART").date().isoformat() for event in events)
    assert starts == ["2030-03-01", "2030-03-05", "2030-03-06", "2030-03-07"]

    day1 = page.locator("section.day[data-day='1']")  # the page was drawn anew
    day1.get_by_label("Wat heb je gedaan?").fill("De terugbelafspraken van vandaag opgezocht.")
    day1.get_by_label("Wat viel je op?").fill("Niemand wist wie ze moest bellen.")
    day1.get_by_role("button", name="Aantekeningen opslaan").click()
    expect(day1.get_by_text("Je aantekeningen zijn opgeslagen.")).to_be_visible()
    expect(day1.locator("li.note[data-member='pia']")).to_contain_text(
        "Opgevallen: Niemand wist wie ze moest bellen."
    )
    day1.get_by_label("2", exact=True).check()
    day1.get_by_label("Eén woord (optioneel)").fill("moe")
    day1.get_by_role("button", name="Check-in opslaan").click()
    expect(day1.locator("ul.check-ins li[data-member='pia']")).to_have_text(
        "pia (jij): energie 2/5 · moe (alleen voor jou)"
    )
    day2 = page.locator("section.day[data-day='2']")
    day2.get_by_label("4", exact=True).check()
    day2.get_by_label("Delen met de groep").check()
    day2.get_by_role("button", name="Check-in opslaan").click()
    expect(day2.locator("ul.check-ins li[data-member='pia']")).to_have_text(
        "pia (jij): energie 4/5 (gedeeld met de groep)"
    )
    shot(page, "groups-cycle.png")

    # piet sees pia's notes and her shared check-in, never the one she kept to herself.
    seen = service.ok("piet", "GET", f"/v1/cycles/{cycle_id}")["days"]
    assert seen[0]["notes"] == [
        {
            "member": "pia",
            "did": "De terugbelafspraken van vandaag opgezocht.",
            "noticed": "Niemand wist wie ze moest bellen.",
        }
    ]
    assert seen[0]["check_ins"] == []
    assert seen[1]["check_ins"] == [{"member": "pia", "energy": 4, "word": None, "shared": True}]
    mine = service.ok("pia", "GET", f"/v1/cycles/{cycle_id}")
    assert mine["days"][0]["check_ins"] == [
        {"member": "pia", "energy": 2, "word": "moe", "shared": False}
    ]

    # Day 4: pia's lesson, previewed on her session, goes into the draft review.
    day4 = page.locator("section.day[data-day='4']")
    lesson = "Zet elke terugbelafspraak meteen als taak, met wie er belt en wanneer."
    day4.get_by_label("De les in één of twee zinnen").fill(lesson)
    day4.get_by_role("button", name="Bekijk wat er gepubliceerd wordt").click()
    expect(day4.locator("section.preview")).to_contain_text(lesson)
    day4.get_by_role("button", name="Les insturen").click()
    expect(day4.get_by_text("concept klaar voor beoordeling")).to_be_visible(timeout=30_000)
    drafts = service.ok("pia", "GET", "/v1/me/export")["drafts"]
    assert [d["session_id"] for d in drafts] == [mine["your_session_id"]]
    assert lesson in drafts[0]["document"]["body"]

    page.set_viewport_size({"width": 375, "height": 812})
    fits_a_phone(page)
    shot(page, "groups-cycle-phone.png")


def test_a_week_is_moved_and_cancelled_from_the_page_and_a_facilitator_reads_along(
    page: Page, service: Service, browser: Browser
) -> None:
    group = group_with(service, "noor", "Nachtdienst", "pia", facilitator="piet")
    service.ok("piet", "POST", f"/v1/groups/{group}/accept")  # to facilitate
    proposal = {"start": "2030-06-03", "time": "14:00", "situation": OUT_OF_SCOPE}
    cycle = service.ok("noor", "POST", f"/v1/groups/{group}/cycles", json=proposal)
    service.ok("pia", "PUT", f"/v1/cycles/{cycle['id']}/situation", json={"none": True})
    sign_in(page, service, "noor")
    page.goto(f"{service.base}/#/cycles/{cycle['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vitale week: Nachtdienst")
    # An ungrounded situation: no suggestions on day 2, the coach's note says why.
    item = page.locator("section.day[data-day='2'] .member-item[data-member='noor']")
    expect(item.locator(".suggestion")).to_have_count(0)
    expect(item.get_by_role("heading", name="Opmerkingen van de coach")).to_be_visible()

    page.get_by_label("Nieuwe eerste dag").fill("2030-06-10")
    page.get_by_role("button", name="Verplaatsen").click()
    expect(page.get_by_role("status")).to_contain_text("De week is verplaatst.")
    expect(page.locator("section.day .when").first).to_contain_text("maandag 10 juni 2030, 14:00")
    assert service.ok("pia", "GET", f"/v1/cycles/{cycle['id']}")["sequence"] == 1

    with guarded_page(browser) as piet:  # the facilitator reads along and writes nothing
        sign_in(piet, service, "piet")
        piet.goto(f"{service.base}/#/cycles/{cycle['id']}")
        expect(piet.get_by_text("Je begeleidt deze groep")).to_be_visible()
        expect(piet.locator("section.day")).to_have_count(4)
        expect(piet.locator("form.notes-form, form.check-in-form, form.move")).to_have_count(0)
        expect(piet.get_by_role("button", name="Week annuleren")).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Week annuleren").click()
    expect(page.locator(".cycle-state")).to_have_count(0)  # dismissed: nothing happened
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Week annuleren").click()
    expect(page.locator(".cycle-state")).to_have_text(
        "Deze week is geannuleerd. Het plan en de aantekeningen blijven bewaard."
    )
    expect(page.get_by_role("button", name="Week annuleren")).to_have_count(0)
    expect(page.locator("form.notes-form, form.check-in-form, form.move")).to_have_count(0)
    expect(page.get_by_role("button", name="Agenda downloaden (.ics)")).to_be_visible()
    assert service.ok("pia", "GET", f"/v1/cycles/{cycle['id']}")["state"] == "cancelled"
    page.get_by_role("link", name="← Nachtdienst").click()
    expect(page.locator(f"li[data-cycle='{cycle['id']}']")).to_have_text(
        "10 juni 2030 t/m 13 juni 2030 — geannuleerd"
    )
    shot(page, "groups-group.png")


def test_an_invitation_is_declined_a_colleague_invited_and_a_group_left_from_the_page(
    page: Page, service: Service
) -> None:
    declined = service.ok("piet", "POST", "/v1/groups", json={"name": "Nee", "members": ["noor"]})
    kept = service.ok("piet", "POST", "/v1/groups", json={"name": "Ja", "members": ["noor"]})
    sign_in(page, service, "noor")
    open_groups(page)
    page.locator(f"li[data-group='{declined['id']}']").get_by_role(
        "button", name="Uitnodiging afslaan"
    ).click()
    expect(page.get_by_role("status")).to_have_text("Je hebt de uitnodiging afgeslagen.")
    expect(page.locator(f"li[data-group='{declined['id']}']")).to_have_count(0)

    card = page.locator(f"li[data-group='{kept['id']}']")
    card.get_by_role("button", name="Uitnodiging aannemen").click()
    expect(page.get_by_role("status")).to_have_text("Je bent nu lid van Ja.")
    card.get_by_label("Collega uitnodigen (gebruikers-id)").fill("pia")
    card.get_by_role("button", name="Uitnodigen").click()
    expect(page.get_by_role("status")).to_have_text("pia is uitgenodigd.")
    expect(card.locator("li[data-user='pia']")).to_have_text("pia — uitgenodigd")
    card.get_by_label("Collega uitnodigen (gebruikers-id)").fill("pia")
    card.get_by_role("button", name="Uitnodigen").click()
    expect(page.get_by_role("alert")).to_be_visible()  # invited already: the API says why
    assert "{" not in page.get_by_role("alert").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Groep verlaten").click()
    expect(page.get_by_role("status")).to_have_text("Je hebt de groep verlaten.")
    expect(card).to_have_count(0)
    left = service.ok("piet", "GET", f"/v1/groups/{kept['id']}")["members"]
    assert {p["user"]: p["state"] for p in left} == {"piet": "member", "pia": "invited"}


def test_groups_by_keyboard_only_in_english_on_a_phone(page: Page, service: Service) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, service, "noor")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="What is holding you up?")).to_be_visible()
    page.get_by_role("link", name="Groups").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My learning groups")).to_be_focused()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    tab_to(page, "el.name === 'name'")
    page.keyboard.type("Night shift")
    page.keyboard.press("Tab")  # the team: left empty
    page.keyboard.press("Tab")
    page.keyboard.type("pia, piet")
    page.keyboard.press("Tab")  # the facilitator: none
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Create group"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("created; your colleagues are invited.")
    card = page.locator("li.group", has_text="Night shift")
    expect(card.locator("li[data-user='piet']")).to_have_text("piet — invited")
    fits_a_phone(page)
    shot(page, "groups-phone.png")

    tab_to(page, "el.textContent === 'Night shift'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Night shift")).to_be_focused()
    tab_to(page, "el.name === 'situation'")  # the only member so far: noor herself
    page.keyboard.type("The night shift forgets to hand over open faults to the day shift.")
    tab_to(page, "el.textContent === 'Propose the week'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Vital week: Night shift")).to_be_focused(
        timeout=PLANNING
    )
    expect(page.locator("section.day h2").first).to_have_text("Day 1: The situation and the goal")

    # The day-1 check-in by keyboard: the energy radios, a word, sharing, save.
    tab_to(page, "el.id === 'energy-1-1'")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    page.keyboard.type("calm")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    tab_to(page, "el.textContent === 'Save check-in'")
    page.keyboard.press("Enter")
    expect(page.locator("section.day[data-day='1'] ul.check-ins li")).to_have_text(
        "noor (you): energy 3/5 · calm (shared with the group)"
    )
    fits_a_phone(page)
    shot(page, "groups-phone-cycle.png")


def test_the_portfolio_downloads_as_markdown_and_as_a_printable_page(
    page: Page, service: Service
) -> None:
    service.ok("noor", "POST", "/v1/coach", json={"situation": CALLBACKS})
    sign_in(page, service, "noor")
    page.get_by_role("link", name="Mijn sessies").click()
    portfolio = page.locator("section.portfolio")
    expect(portfolio.get_by_role("heading", name="Portfolio")).to_be_visible()
    # By default the twelve months up to today.
    with page.expect_download() as download:
        portfolio.get_by_role("button", name="Markdown").click()
    assert download.value.suggested_filename.endswith(".md")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("#") and CALLBACKS in text
    with page.expect_download() as download:
        portfolio.get_by_role("button", name="Afdrukbare versie").click()
    assert download.value.suggested_filename.endswith(".html")
    printable = Path(download.value.path()).read_text(encoding="utf-8")
    assert printable.lower().startswith("<!doctype html") and CALLBACKS in printable
    # A start after the end is caught on the page, before anything is asked.
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    portfolio.get_by_label("Van").fill("2030-01-02")
    portfolio.get_by_label("Tot en met").fill("2030-01-01")
    portfolio.get_by_role("button", name="Markdown").click()
    expect(
        portfolio.get_by_text("Kies een begindatum die niet na de einddatum ligt.")
    ).to_be_visible()
    assert not [url for url in asked if "/v1/portfolio" in url]
    shot(page, "groups-portfolio.png")


def test_l_and_d_sees_the_cycles_in_counts_and_no_one_by_name_or_team(
    page: Page, service: Service
) -> None:
    group = group_with(service, "piet", "Warmtepompen", "noor", team="Installatie Oost")
    proposal = {
        "start": "2026-03-02",  # a week that has ended: completed
        "time": "09:00",
        "situation": HEAT_PUMP,
    }
    cycle = service.ok("piet", "POST", f"/v1/groups/{group}/cycles", json=proposal)
    service.ok("noor", "PUT", f"/v1/cycles/{cycle['id']}/situation", json={"none": True})
    sign_in(page, service, "lea")
    page.get_by_role("link", name="Inzichten").click()
    expect(page.get_by_role("heading", name="Vitale weekcycli")).to_be_visible()
    expect(page.locator("#cycle-counts")).to_contain_text("afgerond")
    expect(page.get_by_role("heading", name="Meest geciteerd in cycli")).to_be_visible()
    shown = page.locator("main").inner_text()
    for private in ("Warmtepompen", "Installatie Oost", "piet", "noor", HEAT_PUMP):
        assert private not in shown
    shot(page, "groups-insights.png")
