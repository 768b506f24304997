"""The web page end to end: headless Chromium (Debian's) against a real `coach serve`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from coach.keys import KeyStore
from tests.api_support import running_service
from tests.web_support import shot

GROUNDED = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
# Two documents bear on it: the registration procedure best, the call-back lesson less directly.
MIXED = (
    "Klanten bellen over een storing en willen teruggebeld worden; hoe registreer ik de melding?"
)
OUT_OF_SCOPE = "Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen."


class Service:
    def __init__(self, base: str, keys: dict[str, str], corpus: Path) -> None:
        self.base = base
        self.keys = keys
        self.corpus = corpus

    def api(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.base + path, headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("web")
    keys_file = root / "keys.json"
    store = KeyStore(keys_file)
    keys = {
        "pro": store.add("pia", "professional"),
        "pro2": store.add("piet", "professional"),
        "curator": store.add("cas", "curator"),
    }
    with running_service(root, env={"COACH_API_KEYS_FILE": str(keys_file)}) as base:
        yield Service(base, keys, root / "corpus")


def sign_in(page: Page, service: Service, who: str) -> None:
    page.goto(service.base + "/")
    expect(page.get_by_role("heading", name="Je API-sleutel")).to_be_visible()
    page.get_by_label("API-sleutel", exact=True).fill(service.keys[who])
    page.get_by_role("button", name="Opslaan").click()
    user = {"pro": "pia", "pro2": "piet", "curator": "cas"}[who]
    expect(page.locator("#who")).to_contain_text(user)


def ask(page: Page, situation: str) -> None:
    page.get_by_role("link", name="Coach", exact=True).click()
    page.get_by_label("Je werksituatie").fill(situation)
    page.get_by_role("button", name="Vraag de coach").click()


def test_professional_asks_reads_a_citation_gives_feedback_and_records_a_lesson(
    page: Page, service: Service
) -> None:
    sign_in(page, service, "pro")
    ask(page, GROUNDED)
    suggestion = page.locator(".suggestion").first
    expect(suggestion).to_be_visible(timeout=30_000)
    expect(suggestion.locator(".kind")).not_to_be_empty()
    # The answer streamed in: every progress stage reached the page before the result.
    expect(page.locator("#answer")).to_have_attribute(
        "data-stages", "received retrieval generation questions"
    )
    expect(page.locator(".questions li").first).to_contain_text("Waarom deze vraag")
    shot(page, "professional-answer.png")
    # One document fits this situation: nothing else is offered, and the advice is clean text
    # (the corpus has Markdown emphasis in it).
    expect(page.locator("section.related")).to_have_count(0)
    assert "**" not in page.locator("#answer").inner_text()

    citation = suggestion.locator("a.citation").first
    cited_title = citation.inner_text()
    citation.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(cited_title)
    expect(page.locator("article.doc-body")).not_to_be_empty()
    shot(page, "cited-document.png")
    page.go_back()
    expect(page.locator(".suggestion").first).to_be_visible()  # the answer is still there

    page.get_by_label("Ja, nuttig").check()
    page.get_by_label("Toelichting (optioneel)").fill("De terugbeltaak in Topdesk hielp.")
    page.get_by_role("button", name="Feedback geven").click()
    expect(page.get_by_text("Dank je, je feedback is opgeslagen.")).to_be_visible()

    page.get_by_label("Wat heb je geprobeerd?").fill("Elke terugbelafspraak als taak gezet.")
    page.get_by_label("De les in één of twee zinnen").fill(
        "Zet elke terugbelafspraak direct als taak met een deadline, dan belt niemand twee keer."
    )
    # Nothing is sent before the professional has seen what will be published, and by whom.
    send = page.get_by_role("button", name="Les insturen")
    expect(send).to_be_hidden()
    page.get_by_role("button", name="Bekijk wat er gepubliceerd wordt").click()
    preview = page.locator("section.preview")
    expect(preview).to_contain_text("Eigenaar: een anonieme collega")
    expect(preview).to_contain_text("Zet elke terugbelafspraak direct als taak")
    expect(preview).not_to_contain_text(GROUNDED)  # the situation stays out unless asked
    expect(send).to_be_visible()
    # A change hides the send button until the new version has been seen.
    page.get_by_label("Naam als eigenaar (leeg: een anonieme collega)").fill(
        "Pia van de servicedesk"
    )
    page.get_by_label("Neem mijn situatie op in de les").check()
    expect(send).to_be_hidden()
    page.get_by_role("button", name="Bekijk wat er gepubliceerd wordt").click()
    expect(preview).to_contain_text("Eigenaar: Pia van de servicedesk")
    expect(preview).to_contain_text(GROUNDED)
    shown = preview.locator(".doc-body").inner_text()
    shot(page, "lesson-preview.png")
    send.click()
    expect(page.get_by_text("concept klaar voor beoordeling")).to_be_visible()

    sessions = service.api("pro", "GET", "/v1/sessions").json()["items"]
    assert sessions[0]["helpful"] is True
    assert sessions[0]["comment"] == "De terugbeltaak in Topdesk hielp."
    drafts = service.api("curator", "GET", "/v1/drafts").json()
    [draft] = [d for d in drafts if d["session_id"] == sessions[0]["id"]]
    # What was published is what the page showed.
    assert draft["document"]["owner"] == "Pia van de servicedesk"
    for line in (line.strip() for line in shown.splitlines()):
        assert line in draft["document"]["body"], line


def test_professional_exports_and_deletes_a_session(page: Page, service: Service) -> None:
    sign_in(page, service, "pro")
    ask(page, "De werkbon wordt niet afgerond omdat de app vastloopt bij het tekenen.")
    expect(page.locator("#answer h2").first).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Mijn sessies").click()
    rows = page.locator("tr[data-session]")
    expect(rows.first).to_contain_text("De werkbon wordt niet afgerond")
    before = rows.count()
    with page.expect_download() as download:
        rows.first.get_by_role("button", name="Exporteren (Markdown)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# Coachingsessie") and "De werkbon wordt niet afgerond" in text
    page.once("dialog", lambda dialog: dialog.accept())
    rows.first.get_by_role("button", name="Verwijderen").click()
    expect(page.get_by_text("Sessie verwijderd.")).to_be_visible()
    expect(rows).to_have_count(before - 1)
    shot(page, "sessions.png")


def test_a_professional_shares_exports_and_deletes_their_data(
    page: Page, service: Service, browser: Browser
) -> None:
    piet = "pro2"  # a user of their own: the other tests keep theirs
    gap = service.api(piet, "POST", "/v1/coach", json={"situation": OUT_OF_SCOPE})
    assert gap.status_code == 200 and not gap.json()["grounded"]
    sign_in(page, service, piet)
    page.get_by_role("link", name="Mijn gegevens").click()
    share = page.get_by_label("L&D mag de tekst zien van mijn situaties", exact=False)
    expect(share).not_to_be_checked()  # off until the user turns it on
    assert OUT_OF_SCOPE not in service.api("curator", "GET", "/v1/insights").text
    records = page.get_by_label("Leg vast wat ik met de coach leer", exact=False)
    expect(records).to_be_checked()  # on until the user opts out
    share.check()
    records.uncheck()
    page.get_by_role("button", name="Instelling opslaan").click()
    expect(page.get_by_text("Je instelling is opgeslagen.")).to_be_visible()
    assert service.api(piet, "GET", "/v1/me/settings").json() == {
        "share_situations": True,
        "learning_records": False,
    }

    curator = browser.new_context().new_page()
    try:
        sign_in(curator, service, "curator")
        curator.get_by_role("link", name="Inzichten").click()
        gaps = curator.locator("#gaps")
        expect(gaps).to_contain_text(OUT_OF_SCOPE)
        expect(curator.locator("main")).not_to_contain_text("piet")
    finally:
        curator.context.close()

    with page.expect_download() as download:
        page.get_by_role("button", name="Mijn gegevens downloaden (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["user"] == "piet"
    assert data["settings"] == {"share_situations": True, "learning_records": False}
    assert [s["situation"] for s in data["sessions"]] == [OUT_OF_SCOPE]
    shot(page, "my-data.png")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Al mijn gegevens verwijderen").click()
    expect(page.get_by_text("Je gegevens zijn verwijderd: 1 sessies, 0 lessen.")).to_be_visible()
    assert service.api(piet, "GET", "/v1/sessions").json()["total"] == 0
    assert service.api(piet, "GET", "/v1/me/settings").json() == {
        "share_situations": False,
        "learning_records": True,
    }
    assert OUT_OF_SCOPE not in service.api("curator", "GET", "/v1/insights").text


def test_ungrounded_situation_gets_a_friendly_notice(page: Page, service: Service) -> None:
    sign_in(page, service, "pro")
    ask(page, OUT_OF_SCOPE)
    notice = page.locator("#ungrounded")
    expect(notice).to_be_visible(timeout=30_000)
    expect(notice).to_contain_text("De coach vond hier niets over")
    expect(notice).to_contain_text("Beschrijf je situatie concreter")
    expect(page.locator(".suggestion")).to_have_count(0)
    shot(page, "ungrounded.png")


def test_curator_fixes_a_validation_error_sees_a_conflict_and_approves_a_draft(
    page: Page, service: Service, browser: Browser
) -> None:
    sign_in(page, service, "curator")
    expect(page.get_by_role("heading", name="Documenten")).to_be_visible()
    page.get_by_label("Soort").select_option("procedure")
    page.get_by_role("button", name="Filteren").click()
    expect(page.locator("tbody tr").first).to_contain_text("Procedure")
    assert "Les" not in page.locator("tbody").inner_text().split()
    page.get_by_role("link", name="proc-expense-claims").click()

    title = page.get_by_label("Titel")
    title.fill("")
    page.get_by_role("button", name="Opslaan").click()
    error = page.locator(f"#{title.get_attribute('id')}-error")
    expect(error).to_contain_text("title")
    expect(title).to_have_attribute("aria-invalid", "true")
    shot(page, "curator-validation.png")
    title.fill("Claiming business expenses and travel")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.get_by_text("Opgeslagen en opnieuw geïndexeerd.")).to_be_visible()
    expect(error).to_be_hidden()

    # Someone else saves first: this page's next save is refused with a conflict message.
    current = service.api("curator", "GET", "/v1/documents/proc-expense-claims")
    other = {k: current.json()[k] for k in ("type", "language", "team", "owner", "tags", "body")}
    saved = service.api(
        "curator",
        "PUT",
        "/v1/documents/proc-expense-claims",
        json={**other, "title": "Changed elsewhere"},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert saved.status_code == 200
    title.fill("My late edit")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.get_by_text("Iemand anders heeft dit document intussen gewijzigd")).to_be_visible()
    assert "title: Changed elsewhere" in (
        service.corpus / "docs" / "proc-expense-claims.md"
    ).read_text(encoding="utf-8")

    # A professional's lesson, reviewed here, is cited by the next answer.
    situation = "Onze monteurs vergeten de drukproef bij het vullen van de cv-ketel."
    session = service.api("pro", "POST", "/v1/coach", json={"situation": situation})
    lesson = "Doe na het vullen van de cv-ketel altijd een drukproef van tien minuten."
    draft = service.api(
        "pro",
        "POST",
        f"/v1/sessions/{session.headers['X-Session-Id']}/lesson",
        json={"what_tried": "Drukproef overgeslagen", "lesson": lesson},
    ).json()
    page.get_by_role("link", name="Concepten").click()
    card = page.locator(f"li[data-draft='{draft['id']}']")
    expect(card).to_contain_text("drukproef")
    card.get_by_role("button", name="Goedkeuren").click()
    expect(card.get_by_text("Goedgekeurd")).to_be_visible(timeout=30_000)

    # A second draft is rejected: not without a reason.
    other_draft = service.api(
        "pro",
        "POST",
        f"/v1/sessions/{session.headers['X-Session-Id']}/lesson",
        json={"lesson": "Bel de klant altijd even na het vullen van de ketel."},
    ).json()
    page.reload()
    card = page.locator(f"li[data-draft='{other_draft['id']}']")
    card.get_by_role("button", name="Afwijzen").click()
    expect(card.get_by_text("Geef een reden om af te wijzen.")).to_be_visible()
    card.get_by_label("Reden van afwijzing").fill("Staat al in de procedure.")
    card.get_by_role("button", name="Afwijzen").click()
    expect(card.get_by_text("Afgewezen.")).to_be_visible(timeout=30_000)
    rejected = service.api("curator", "GET", "/v1/drafts", params={"state": "rejected"}).json()
    assert [d["reason"] for d in rejected] == ["Staat al in de procedure."]

    page.get_by_role("link", name="Inzichten").click()
    expect(page.get_by_role("heading", name="Feedback per document")).to_be_visible()
    shot(page, "insights.png")

    professional = browser.new_context().new_page()
    try:
        sign_in(professional, service, "pro")
        ask(
            professional,
            "De cv-ketel lekt na het vullen; hoe voorkomen we dat monteurs iets missen?",
        )
        cited = professional.locator("a.citation")
        expect(cited.first).to_be_visible(timeout=30_000)
        hrefs = [cited.nth(i).get_attribute("href") for i in range(cited.count())]
        assert f"#/doc/{draft['doc_id']}" in hrefs
    finally:
        professional.context.close()


def test_keyboard_only_english_switch_and_phone_width(page: Page, service: Service) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, service, "pro")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="What is holding you up?")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The situation field has the focus; Tab to the team, Tab to the button, Enter.
    page.keyboard.type("Customers say the house stays cold after we install a heat pump.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Ask the coach"
    page.keyboard.press("Enter")
    expect(page.locator(".suggestion").first).to_be_visible(timeout=30_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px screen"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select, textarea')]
            .filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"""
    )
    assert unlabelled == []
    shot(page, "phone.png")


def test_a_view_that_loads_late_does_not_draw_over_a_newer_one(
    page: Page, service: Service
) -> None:
    # Hold the team lists: the Dutch ask view waits for its list while the user switches to English.
    held: list[Any] = []
    page.route("**/v1/teams", lambda route: held.append(route))
    sign_in(page, service, "pro")
    page.get_by_role("button", name="English").click()
    while len(held) < 2:
        page.wait_for_timeout(50)
    held[1].continue_()
    situation = page.get_by_label("Your work situation")
    situation.fill("Customers say the house stays cold after we install a heat pump.")
    with page.expect_response("**/v1/teams"):
        held[0].continue_()  # the Dutch view's list arrives last
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")
    expect(situation).to_have_value(
        "Customers say the house stays cold after we install a heat pump."
    )
    expect(page.get_by_role("heading", name="What is holding you up?")).to_have_count(1)


def test_a_late_unfiltered_list_does_not_overwrite_the_filtered_one(
    page: Page, service: Service
) -> None:
    held: list[Any] = []
    page.route("**/v1/documents?*", lambda route: held.append(route))
    sign_in(page, service, "curator")  # the documents view asks for the whole list: held
    while not held:
        page.wait_for_timeout(50)
    page.get_by_label("Soort").select_option("procedure")
    page.get_by_role("button", name="Filteren").click()
    while len(held) < 2:
        page.wait_for_timeout(50)
    held[1].continue_()
    expect(page.locator("tbody tr").first).to_contain_text("Procedure")
    with page.expect_response("**/v1/documents?*"):
        held[0].continue_()  # the unfiltered list arrives last
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")
    assert "Les" not in page.locator("tbody").inner_text().split()


def test_a_draft_changed_since_the_curator_saw_it_is_not_approved_from_the_page(
    page: Page, service: Service
) -> None:
    session = service.api("pro", "POST", "/v1/coach", json={"situation": GROUNDED})
    draft = service.api(
        "pro",
        "POST",
        f"/v1/sessions/{session.headers['X-Session-Id']}/lesson",
        json={"lesson": "Bel de klant dezelfde dag terug, ook als er nog geen oplossing is."},
    ).json()
    sign_in(page, service, "curator")
    page.get_by_role("link", name="Concepten").click()
    card = page.locator(f"li[data-draft='{draft['id']}']")
    expect(card).to_contain_text("dezelfde dag")
    # Meanwhile another curator edits the lesson: the page still shows the old version.
    doc_id = draft["document"]["id"]
    current = service.api("curator", "GET", f"/v1/documents/{doc_id}")
    edited = {k: current.json()[k] for k in ("type", "language", "team", "owner", "tags", "title")}
    edited |= {
        "body": current.json()["body"] + "\nEn noteer het in de melding.\n",
        "status": "draft",
    }
    changed = service.api(
        "curator",
        "PUT",
        f"/v1/documents/{doc_id}",
        json=edited,
        headers={"If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    card.get_by_role("button", name="Goedkeuren").click()
    expect(page.get_by_role("alert")).to_be_visible(timeout=30_000)
    assert service.api("curator", "GET", f"/v1/documents/{doc_id}").json()["status"] == "draft"


def test_api_errors_are_readable_messages(page: Page, service: Service) -> None:
    page.goto(service.base + "/")
    page.get_by_label("API-sleutel", exact=True).fill("ck_wrong")
    page.get_by_role("button", name="Opslaan").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Je API-sleutel ontbreekt of klopt niet")
    assert "{" not in alert.inner_text()
    sign_in(page, service, "pro")
    expect(page.get_by_label("Je werksituatie")).to_be_visible()
    page.evaluate("document.querySelector('textarea[name=situation]').removeAttribute('maxlength')")
    page.get_by_label("Je werksituatie").fill("lang " * 900)
    page.get_by_role("button", name="Vraag de coach").click()
    expect(alert).to_contain_text("Dit klopt nog niet")
    assert "{" not in alert.inner_text() and json.dumps("detail") not in alert.inner_text()


def test_local_mode_needs_no_key(page: Page, tmp_path: Path) -> None:
    with running_service(tmp_path, "--local") as base:
        page.goto(base + "/")
        expect(page.get_by_role("heading", name="Waar loop je tegenaan?")).to_be_visible()
        expect(page.locator("#who")).to_contain_text("Lokale modus")
        nav = page.get_by_role("navigation")
        for name in (
            "Coach",
            "Mijn sessies",
            "Documenten",
            "Concepten",
            "Inzichten",
            "Mijn gegevens",
        ):
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        ask(page, GROUNDED)
        expect(page.locator(".suggestion").first).to_be_visible(timeout=30_000)


def test_related_reading_stands_apart_from_the_suggestions(page: Page, service: Service) -> None:
    sign_in(page, service, "pro")
    ask(page, MIXED)
    expect(page.locator(".suggestion").first).to_be_visible(timeout=30_000)
    related = page.locator("section.related")
    expect(related.get_by_role("heading", name="Verder lezen")).to_be_visible()
    link = related.locator("a.related-doc").first
    expect(link).to_have_attribute("href", re.compile("^#/doc/"))
    # No suggestion cites related reading: it is a pointer, not advice.
    title = link.inner_text()
    expect(page.locator(".suggestion a.citation", has_text=title)).to_have_count(0)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
