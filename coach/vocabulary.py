"""The product's vocabulary, declared once: document types, languages, statuses and roles.

Everything else takes its literal types and tuples from here (`get_args` gives the tuples), so a
new language or document type is added in one place.
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

DocType = Literal["procedure", "lesson"]
Language = Literal["nl", "en"]
Status = Literal["active", "draft", "retired"]
Role = Literal["professional", "curator", "admin"]
DraftState = Literal["pending", "approved", "rejected"]

DOC_TYPES: tuple[DocType, ...] = get_args(DocType)
LANGUAGES: tuple[Language, ...] = get_args(Language)
STATUSES: tuple[Status, ...] = get_args(Status)
ROLES: tuple[Role, ...] = get_args(Role)
DRAFT_STATES: tuple[DraftState, ...] = get_args(DraftState)


def is_language(value: object) -> TypeGuard[Language]:
    """Whether `value` is one of the languages the coach speaks."""
    return value in LANGUAGES
