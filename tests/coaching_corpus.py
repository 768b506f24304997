"""A small, realistic corpus for retrieval and coaching tests: Dutch and English, procedures
and lessons, two teams, a retired near-duplicate and a draft."""

from __future__ import annotations

from pathlib import Path

from coach.engine import Coach
from coach.generate.extractive import ExtractiveComposer
from coach.generate.protocol import Generator
from coach.index.embedders import Embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.ingest.corpus import Document, scan_corpus
from coach.ingest.didactics import load_didactics
from coach.retrieve.retriever import Retriever
from tests.conftest import CorpusBuilder

STORING_MELDEN = """
Deze procedure beschrijft hoe de servicedesk een storingsmelding van een klant vastlegt.

## Stappen
1. Neem de telefoon op binnen 30 seconden en noem je naam.
2. Registreer de melding direct in Topdesk met klantnummer, adres en foutcode van de ketel.
3. Vraag naar merk, type en foutcode, zodat de planner vooraf een onderdeel kan reserveren.
4. Geef de klant een verwachte hersteltijd en bel binnen 2 uur terug als die verschuift.

## Aandachtspunten
- Een melding zonder foutcode leidt vaak tot een tweede bezoek.
"""

TERUGBELLEN = """
## Situatie
Klanten belden drie of vier keer over dezelfde storing omdat niemand ze terugbelde.

## Wat gebeurde er
Terugbelverzoeken stonden op briefjes en in de mailbox van wie toevallig opnam.

## Wat werkte
- Elk terugbelverzoek als **taak in Topdesk** zetten met een deadline van 2 uur.
- Om 11:00 en 15:00 een korte check van openstaande terugbeltaken door de teamleider.

## Wat werkte niet
- Een gedeelde mailbox voor terugbelverzoeken: niemand voelde zich eigenaar.

## Les
- Leg elk terugbelverzoek vast in Topdesk, nooit op papier of in de mail.
"""

WERKBON = """
Zo rondt een monteur een werkbon af in de WerkbonApp.

## Stappen
1. Zet de werkbon op 'Werk gereed' voordat je de woning verlaat.
2. Maak minimaal 3 foto's in de WerkbonApp: situatie voor, situatie na en het typeplaatje.
3. Scan de barcode van elk gebruikt onderdeel zodat de bus-voorraad klopt.
4. Synchroniseer binnen 30 minuten na vertrek.
"""

HEAT_PUMP = """
## Situation
Customers complained that their homes stayed cold after we installed a heat pump.

## What happened
The installer left the heating curve on the factory setting, which is too low for older houses.

## What worked
- Setting the heating curve per house type, checking the supply temperature on a cold day.
- Calling the customer after one week to ask about comfort.

## What did not work
- Raising the room thermostat: the heat pump then ran on the electric backup heater.

## Lesson
- Always set the heating curve for the house during commissioning and record it on the work order.
"""

EXPENSES = """
How employees claim business expenses.

## Steps
1. Photograph the receipt in the Expense app within 5 working days.
2. Choose the cost category and the project number.
3. Your manager approves the claim; Finance pays it with the next salary run.
"""

OUD_STORING = """
Oude werkwijze voor storingsmeldingen, vervangen.

## Stappen
1. Schrijf de storingsmelding van de klant op het meldingenformulier.
2. Leg het formulier in het bakje van de planner.
"""


def write_coaching_corpus(corpus: CorpusBuilder) -> None:
    corpus.write(
        "proc-storing-melden",
        STORING_MELDEN,
        title="Storingsmelding vastleggen",
        team="Servicedesk",
        owner="Sanne de Vries, teamleider Servicedesk",
    )
    corpus.write(
        "les-terugbellen-klanten",
        TERUGBELLEN,
        title="Klanten die niet teruggebeld werden",
        type_="lesson",
        team="Servicedesk",
        owner="Ahmed Benali, servicedeskmedewerker",
    )
    corpus.write(
        "proc-werkbon-afronden",
        WERKBON,
        title="Werkbon afronden in de WerkbonApp",
        team="Buitendienst",
        owner="Fatima Ouali, coördinator Buitendienst",
    )
    corpus.write(
        "les-heat-pump-curve",
        HEAT_PUMP,
        title="Cold homes after a heat pump installation",
        type_="lesson",
        language="en",
        team="Buitendienst",
        owner="Kees van Leeuwen, senior engineer",
    )
    corpus.write(
        "proc-expense-claims",
        EXPENSES,
        title="Claiming business expenses",
        language="en",
        team="Finance",
        owner="Lotte Smit, controller",
    )
    corpus.write(
        "proc-storing-melden-oud",
        OUD_STORING,
        title="Storingsmelding op formulier",
        team="Servicedesk",
        status="retired",
    )
    corpus.write(
        "les-concept-planning",
        TERUGBELLEN.replace("Topdesk", "PlanPro"),
        title="Concept over planning",
        type_="lesson",
        status="draft",
    )


def indexed_coach(
    corpus: CorpusBuilder,
    embedder: Embedder,
    index_dir: Path,
    generator: Generator | None = None,
) -> Coach:
    """A coach over `corpus`, indexed into an embedded index at `index_dir`."""
    location = StoreLocation(collection="coach", path=index_dir)
    Indexer(embedder, location).run(corpus.root)
    return Coach(
        Retriever(embedder, location),
        load_didactics(corpus.root / "didactics.yaml"),
        generator or ExtractiveComposer(),
    )


def coaching_documents(root: Path) -> list[Document]:
    """The coaching corpus written under `root` and read back as documents (no index)."""
    corpus = CorpusBuilder(root / "corpus")
    write_coaching_corpus(corpus)
    return scan_corpus(corpus.root).documents
