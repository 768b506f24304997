"""The corpus: Markdown documents with YAML front matter, read into `Document`s or `Problem`s."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from coach.errors import CorpusError, Problem
from coach.vocabulary import DOC_TYPES, LANGUAGES, STATUSES, DocType, Language, Status

REQUIRED_FIELDS: tuple[str, ...] = ("id", "title", "type", "language")
OPTIONAL_FIELDS: tuple[str, ...] = ("team", "owner", "tags", "updated", "status")
# An id is the whole text: always test it with `is_valid_id` (fullmatch), never `match`, whose
# `$` lets a trailing newline through.
ID_PATTERN = re.compile(r"[a-z0-9-]+")
ID_RULE = "may contain only a-z, 0-9 and -"
DIDACTICS_FILE = "didactics.yaml"
# Front matter is a handful of fields; anything larger is refused before YAML sees it.
MAX_FRONT_MATTER_BYTES = 16 * 1024
# How deep YAML may nest (a tag list is two levels; didactics.yaml four).
MAX_YAML_DEPTH = 20

_FENCE = re.compile(r"^(---|\.\.\.)\s*$")


@dataclass(frozen=True)
class Fields:
    """What a document says: its front matter and body, as a curator's form edits them."""

    id: str
    title: str
    type: DocType
    language: Language
    body: str
    team: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    updated: date | None = None
    status: Status = "active"

    @classmethod
    def of(cls, document: Fields) -> Fields:
        """Only the fields of `document` (a `Document` also knows its file and version)."""
        return cls(**{f.name: getattr(document, f.name) for f in fields(cls)})


@dataclass(frozen=True, kw_only=True)
class Document(Fields):
    """A valid corpus document: its fields, and the file and version they were read from."""

    path: str
    content_hash: str
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass
class ParsedFile:
    """The outcome of reading one file: a document when it is valid, and every problem found."""

    path: str
    document: Document | None
    problems: list[Problem]
    doc_id: str | None = None  # the id the file claims, even when the file is invalid


def is_valid_id(text: str) -> bool:
    """Whether `text` is a document id: a-z, 0-9 and -, and nothing else (no newline)."""
    return ID_PATTERN.fullmatch(text) is not None


def iter_corpus_files(corpus_dir: Path) -> Iterator[Path]:
    """Every document file under `corpus_dir`, in a stable order.

    README files and hidden files or folders (editors' and atomic writers' temporary files) are
    not documents.
    """
    yield from (Path(path) for path in corpus_file_names(corpus_dir))


def corpus_file_names(corpus_dir: Path) -> list[str]:
    """`iter_corpus_files` as strings, in the same order: a scan of a large corpus that finds
    nothing changed makes no Path objects (at 10,000 files they were most of its time)."""
    found: list[str] = []
    for folder, subfolders, names in os.walk(corpus_dir):  # scandir: a stat-free walk
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found += [
            os.path.join(folder, name)
            for name in names
            if name.endswith(".md") and not name.startswith(".") and name.lower() != "readme.md"
        ]
    found.sort(key=lambda path: path.split(os.sep))  # as Paths sort: part by part
    return found


def content_hash(raw: bytes, rel_path: str) -> str:
    """A hash of what a document's chunks depend on: its bytes and where it lives."""
    digest = hashlib.sha256()
    digest.update(rel_path.encode("utf-8"))
    digest.update(b"\0")
    digest.update(raw)
    return digest.hexdigest()


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Split `text` into (front matter, body, 1-based line where the body starts).

    None when the text does not open with a `---` fence or the fence is never closed.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for number, line in enumerate(lines[1:], start=1):
        if _FENCE.match(line):
            return "".join(lines[1:number]), "".join(lines[number + 1 :]), number + 2
    return None


def load_yaml_mapping(
    text: str, line_offset: int, rel: str
) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse YAML text that must hold a mapping; return it with the 1-based line of each key.

    Raises `YamlProblem` with a line number that counts from the start of the file.
    """
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 1 + line_offset) if mark is not None else line_offset + 1
        if isinstance(exc, _Refused):
            raise YamlProblem(Problem(rel, line, exc.rule, exc.reason)) from exc
        reason = getattr(exc, "problem", None) or str(exc)
        raise YamlProblem(Problem(rel, line, "yaml", f"unparseable YAML: {reason}")) from exc
    finally:
        loader.dispose()
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        line = line_offset + 1
        raise YamlProblem(
            Problem(rel, line, "yaml", "YAML must be a mapping of `key: value` lines")
        )
    lines = {str(key.value): key.start_mark.line + 1 + line_offset for key, _value in node.value}
    return {str(k): v for k, v in data.items()}, lines


class _Refused(yaml.YAMLError):
    def __init__(self, rule: str, reason: str, mark: object) -> None:
        super().__init__(reason)
        self.rule, self.reason, self.problem_mark = rule, reason, mark


class _StrictLoader(yaml.SafeLoader):
    """YAML without aliases and without deep nesting, refused as the parser meets them, before
    anything is built: a few hundred bytes of nested aliases ("billion laughs") expand to
    millions of values, and deep nesting exhausts the stack."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                "yaml-alias",
                f"YAML aliases (`*{event.anchor}`) are not allowed; write the value out",
                event.start_mark,
            )
        if self._depth >= MAX_YAML_DEPTH:
            raise _Refused(
                "yaml-nesting",
                f"YAML nested more than {MAX_YAML_DEPTH} levels deep; use flat fields",
                event.start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class YamlProblem(Exception):
    """Internal signal carrying the problem of an unparseable YAML text."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def read_document(path: Path, corpus_dir: Path) -> ParsedFile:
    """Read and validate one document file; every problem in it is reported, not just the first."""
    rel = path.relative_to(corpus_dir).as_posix()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        return ParsedFile(rel, None, [Problem(rel, 0, "unreadable", f"cannot read file: {reason}")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = (
            f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded; save the file as UTF-8"
        )
        return ParsedFile(rel, None, [Problem(rel, line, "encoding", message)])
    text = text.removeprefix("\ufeff")
    return _parse_text(text, rel, content_hash(raw, rel), expected_id=path.stem)


def parse_document_text(text: str, rel: str) -> ParsedFile:
    """Validate a document given as text (for example from a form) as if saved at `rel`."""
    return _parse_text(text, rel, content_hash(text.encode("utf-8"), rel), Path(rel).stem)


def _parse_text(text: str, rel: str, digest: str, expected_id: str) -> ParsedFile:
    split = split_front_matter(text)
    if split is None:
        message = "no front matter: the file must start with a `---` line, the fields, and `---`"
        return ParsedFile(rel, None, [Problem(rel, 1, "front-matter", message)])
    front, body, body_line = split
    if len(front.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
        message = (
            f"the front matter is over {MAX_FRONT_MATTER_BYTES // 1024} kB; keep it to the "
            "document's fields and put the text in the body"
        )
        return ParsedFile(rel, None, [Problem(rel, 1, "front-matter-too-large", message)])
    try:
        data, lines = load_yaml_mapping(front, 1, rel)
    except YamlProblem as exc:
        return ParsedFile(rel, None, [exc.problem])

    problems: list[Problem] = []

    def report(key: str | None, rule: str, message: str, field: str | None = None) -> None:
        line = lines.get(key, 1) if key else 1
        problems.append(Problem(rel, line, rule, message, field or key))

    for key in REQUIRED_FIELDS:
        if data.get(key) in (None, ""):
            report(None, "missing-field", f"required field `{key}` is missing", field=key)
    for key in data:
        if key not in REQUIRED_FIELDS and key not in OPTIONAL_FIELDS:
            allowed = ", ".join(REQUIRED_FIELDS + OPTIONAL_FIELDS)
            report(key, "unknown-field", f"unknown field `{key}` (allowed: {allowed})")

    doc_id = data.get("id")
    claimed_id = str(doc_id) if doc_id not in (None, "") else None
    if claimed_id is not None:
        if not is_valid_id(claimed_id):
            report("id", "invalid-id", f"id {claimed_id!r} {ID_RULE}")
        elif claimed_id != expected_id:
            report(
                "id",
                "id-mismatch",
                f"id `{claimed_id}` does not match the file name; rename the file to "
                f"`{claimed_id}.md` or set `id: {expected_id}`",
            )
    for key, allowed_values in (("type", DOC_TYPES), ("language", LANGUAGES), ("status", STATUSES)):
        value = data.get(key)
        if value not in (None, "") and value not in allowed_values:
            report(
                key, f"unknown-{key}", f"{key} `{value}` is not one of: {', '.join(allowed_values)}"
            )
    for key in ("title", "team", "owner"):
        value = data.get(key)
        if value is not None and not isinstance(value, str | int | float):
            report(key, "invalid-value", f"`{key}` must be plain text")
    tags = data.get("tags")
    if tags is not None and not (
        isinstance(tags, list) and all(isinstance(tag, str | int) for tag in tags)
    ):
        report("tags", "invalid-value", "`tags` must be a list such as [incident, melding]")
    updated = data.get("updated")
    if updated is not None and not isinstance(updated, date):
        report(
            "updated",
            "invalid-value",
            f"`updated` must be an ISO date like 2025-06-12, not `{updated}`",
        )
    if not body.strip():
        problems.append(
            Problem(
                rel,
                body_line,
                "empty-body",
                "the document has no text after the front matter",
                field="body",
            )
        )

    if problems:
        return ParsedFile(rel, None, problems, doc_id=claimed_id)
    document = Document(
        id=str(data["id"]),
        title=str(data["title"]).strip(),
        type=data["type"],
        language=data["language"],
        body=body,
        path=rel,
        content_hash=digest,
        team=_text_or_none(data.get("team")),
        owner=_text_or_none(data.get("owner")),
        tags=tuple(str(tag) for tag in (tags or [])),
        updated=updated if isinstance(updated, date) else None,
        status=data.get("status") or "active",
        field_lines=lines,
    )
    return ParsedFile(rel, document, [], doc_id=document.id)


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass
class CorpusScan:
    """A whole corpus read at once: the valid documents and every problem found."""

    files: list[ParsedFile]
    problems: list[Problem]

    @property
    def documents(self) -> list[Document]:
        return [parsed.document for parsed in self.files if parsed.document is not None]

    @property
    def invalid(self) -> list[ParsedFile]:
        """Files that carry at least one problem (their document is not usable)."""
        return [parsed for parsed in self.files if parsed.problems]


def scan_corpus(corpus_dir: Path) -> CorpusScan:
    """Read every document under `corpus_dir` and check the rules that span files (unique ids)."""
    require_corpus(corpus_dir)
    return unique_ids([read_document(path, corpus_dir) for path in iter_corpus_files(corpus_dir)])


def require_corpus(corpus_dir: Path) -> None:
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {corpus_dir} does not exist; pass --corpus or set COACH_CORPUS_DIR"
        )


def unique_ids(files: list[ParsedFile]) -> CorpusScan:
    """The scan of these files, each id used once: a later file that claims an id already taken
    gets a duplicate-id problem instead of its document. The files given are not changed."""
    first_seen: dict[str, ParsedFile] = {}
    checked: list[ParsedFile] = []
    for parsed in files:
        earlier = first_seen.setdefault(parsed.doc_id, parsed) if parsed.doc_id else parsed
        if earlier is not parsed:
            line = parsed.document.field_lines.get("id", 1) if parsed.document else 1
            duplicate = Problem(
                parsed.path,
                line,
                "duplicate-id",
                f"id `{parsed.doc_id}` is already used by {earlier.path}; ids must be unique",
            )
            parsed = replace(parsed, document=None, problems=[*parsed.problems, duplicate])
        checked.append(parsed)
    problems = [problem for parsed in checked for problem in parsed.problems]
    return CorpusScan(checked, problems)
