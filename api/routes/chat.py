"""The coach as an OpenAI-compatible chat model, for the chat clients organisations already run
(Open WebUI, LibreChat, chat integrations in office tools): `GET /v1/models` and
`POST /v1/chat/completions`, with the same API keys, role and coaching allowance as `/v1/coach`.

A completion is one coaching of the conversation's situation (`api.chat`), stored as a session
of the caller before the answer is sent, so feedback, lessons and the portfolio work for it;
`X-Session-Id` names it, and the completion's id is `chatcmpl-` and the session id. Errors
answer in OpenAI's format (`api.problems.OpenAIErrors`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from api import chat
from api.chat import ChatRequest
from api.db import StoredSession
from api.deps import ApiServices, CoachCaller, Professional, PublicUrl, Svc
from api.openapi import errors
from api.problems import OpenAIError, OpenAIErrorDetail, Problem, speaks_openai
from coach.keys import Principal
from coach.result import CoachingResult

MODEL = "coach"
# When the coach became a chat model (2026-11-30), as OpenAI's `created` says of a model: the
# same in every worker process, so a client that compares model lists sees one model.
MODEL_CREATED = 1_795_996_800
OWNER = "coach"

router = APIRouter(prefix="/v1", tags=["chat"])


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = MODEL_CREATED
    owned_by: str = OWNER


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    """Zeros: the coach retrieves and composes rather than sampling tokens, and an LLM behind
    it reports none back; a count in some other model's tokenizer would be a guess."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Usage()


@router.get("/models", response_model=ModelList)
def list_models(who: Professional) -> ModelList:
    """The chat models (OpenAI's list format): the coach alone. It answers in the language of
    the situation, so no model per language is needed."""
    return ModelList(data=[ModelCard(id=MODEL)])


@router.get("/models/{model_id}", response_model=ModelCard)
def get_model(model_id: str, who: Professional) -> ModelCard:
    _known(model_id)
    return ModelCard(id=model_id)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}}, **errors(404, 429)},
)
async def chat_completions(
    body: ChatRequest, who: CoachCaller, svc: Svc, page: PublicUrl
) -> Response:
    """Coach the conversation's situation (its user turns, see README) and answer with one
    assistant message in Markdown: suggestions citing `[n]`, the didactic questions, colleagues
    to consult and the sources, linked to the web page. The session is stored first
    (`X-Session-Id`). `stream: true` sends the same message as `chat.completion.chunk` events
    ending in `data: [DONE]`. Each user may ask `COACH_RATE_COACH_PER_MINUTE` times a minute."""
    _known(body.model)
    situation = chat.situation(body.user_turns())
    # The session id goes out in a header, so the coaching is done before the answer starts;
    # then a stream only sends what is ready.
    result, stored = await run_in_threadpool(_coach, svc, who, situation)
    content = chat.markdown(result, page, stored.id)
    completion = ChatCompletion(
        id=f"chatcmpl-{stored.id}",
        created=int(stored.created_at.timestamp()),
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=content))],
    )
    headers = {"X-Session-Id": stored.id}
    if not body.stream:
        return JSONResponse(completion.model_dump(mode="json"), headers=headers)
    usage = body.stream_options is not None and body.stream_options.include_usage
    return StreamingResponse(
        _chunks(completion, usage),
        media_type="text/event-stream",
        headers={**headers, "X-Accel-Buffering": "no"},
    )


def _known(model_id: str) -> None:
    if model_id != MODEL:
        raise Problem(
            404,
            f"there is no model {model_id!r}; the coach's model is {MODEL!r}",
            code="model_not_found",
            param="model",
        )


def _coach(
    svc: ApiServices, who: Principal, situation: str
) -> tuple[CoachingResult, StoredSession]:
    """One thread hop for the CPU work and the write: coaching, then storing the session."""
    result = svc.coach.ask(situation)
    return result, svc.sessions.add(who.user, result)


def _chunks(completion: ChatCompletion, usage: bool) -> Iterator[str]:
    """OpenAI's stream: the role, the content line by line, the finish reason, optionally the
    usage (`stream_options.include_usage`), then `[DONE]`."""
    content = completion.choices[0].message.content
    yield _chunk(completion, {"role": "assistant", "content": ""})
    for piece in chat.pieces(content):
        yield _chunk(completion, {"content": piece})
    yield _chunk(completion, {}, finish_reason="stop")
    if usage:
        yield _event({**_base(completion), "choices": [], "usage": completion.usage.model_dump()})
    yield "data: [DONE]\n\n"


def _chunk(
    completion: ChatCompletion, delta: dict[str, str], finish_reason: str | None = None
) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    return _event({**_base(completion), "choices": [choice]})


def _base(completion: ChatCompletion) -> dict[str, Any]:
    return {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
    }


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


# -- the OpenAPI document ----------------------------------------------------------------------

ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}
INVALID = (
    "The body is not JSON or a value is not valid (`param` names it), or the newest user "
    "message is over the situation limit (`code`: `context_length_exceeded`)."
)


def describe(app: FastAPI) -> None:
    """State OpenAI's error format, not problem+json, for the errors of the chat paths, and
    that an invalid request is OpenAI's 400, not a 422 (on top of `api.openapi.install`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        components = schema["components"]["schemas"]
        if "OpenAIError" in components:
            return schema
        for name, model in (("OpenAIError", OpenAIError), ("OpenAIErrorDetail", OpenAIErrorDetail)):
            definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
            definition.pop("$defs", None)
            components[name] = definition
        for path, operations in schema["paths"].items():
            if speaks_openai(path):
                for operation in operations.values():
                    _openai_errors(operation)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _openai_errors(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)
    if "requestBody" in operation:
        responses["400"] = {"description": INVALID}
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            response["content"] = ERROR_CONTENT
