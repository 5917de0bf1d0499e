"""Trainer console: the page, its JSON API (``/trainer/api/…``, role ``trainer`` only), and the inbox intake.

Every ``/trainer`` route checks the session's role: not logged in → the login page (401 for the API), logged in
as an agent → 403. ``POST /api/unanswered`` is the action server's, like ``POST /api/handoffs``: no session, the
service token instead (``routes/service_auth.py``).

Blocking work (FAQ files, the embedding model, the models folder) runs in worker threads, never on the loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.exceptions import BadRequest, Forbidden, NotAuthenticated, ValidationFailed
from hub.routes.agent import agent_dict, current_agent
from hub.routes.api import read_json
from hub.routes.service_auth import require_service
from hub.routes.widget import STATIC_DIR
from hub.services.trainer import Trainer
from hub.services.trainer_faqs import parse_draft
from hub.services.trainer_inbox import parse_report
from hub.storage import Agent

ROLE = "trainer"
FORBIDDEN_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>无权访问 · kefu</title>
<link rel="stylesheet" href="/static/agent.css"></head>
<body><main class="placeholder"><h1>无权访问训练师控制台</h1>
<p>训练师控制台仅对训练师账号开放。</p><p><a href="/agent">返回坐席工作台</a></p>
<form method="post" action="/agent/logout"><button type="submit">退出登录</button></form></main></body></html>
"""


def _console(request: Request) -> Trainer:
    console: Trainer = request.app.state.trainer
    return console


def _trainer(request: Request) -> Agent:
    """The logged-in trainer (401 when not logged in, 403 for an agent)."""
    return current_agent(request, role=ROLE)


async def _object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象。")
    return body


def _ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationFailed("ids must be a non-empty list of question ids")
    return ids


def _string(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationFailed(f"{key} must be a non-empty string")
    return value.strip()


# -- page ----------------------------------------------------------------------------------------------------


async def trainer_page(request: Request) -> Response:
    try:
        _trainer(request)
    except NotAuthenticated:
        return RedirectResponse("/agent/login", status_code=303)
    except Forbidden:
        return HTMLResponse(FORBIDDEN_PAGE, status_code=403)
    return FileResponse(STATIC_DIR / "trainer.html", media_type="text/html; charset=utf-8")


async def me(request: Request) -> Response:
    trainer = _trainer(request)
    return JSONResponse({"trainer": agent_dict(trainer), "index": _console(request).knowledge.status().to_dict()})


# -- FAQs ----------------------------------------------------------------------------------------------------


async def faqs(request: Request) -> Response:
    trainer = _trainer(request)
    console = _console(request)
    if request.method == "POST":
        body = await _object(request)
        draft = parse_draft(body)
        new_file = body.get("new_file") or None
        if new_file is not None and not isinstance(new_file, str):
            raise ValidationFailed("new_file must be a string")
        faq_id = _string(body, "id", required=False)
        result = await asyncio.to_thread(console.faqs.create, trainer.id, faq_id, draft, new_file=new_file)
        return JSONResponse(result, status_code=201)
    query, category = request.query_params.get("q", ""), request.query_params.get("category", "")
    return JSONResponse(await asyncio.to_thread(console.faqs.search, query, category))


async def faq(request: Request) -> Response:
    trainer = _trainer(request)
    console = _console(request)
    faq_id = request.path_params["faq_id"]
    if request.method == "GET":
        return JSONResponse({"faq": await asyncio.to_thread(console.faqs.get, faq_id)})
    body = await _object(request)
    version = body.get("version")
    if version is not None and not isinstance(version, str):
        raise ValidationFailed("version must be a string")
    if request.method == "DELETE":
        return JSONResponse(await asyncio.to_thread(console.faqs.delete, trainer.id, faq_id, version))
    draft = parse_draft(body)
    return JSONResponse(await asyncio.to_thread(console.faqs.update, trainer.id, faq_id, draft, version))


async def suggest_id(request: Request) -> Response:
    _trainer(request)
    category = request.query_params.get("category", "")
    return JSONResponse({"id": await asyncio.to_thread(_console(request).faqs.suggest_id, category)})


async def history(request: Request) -> Response:
    _trainer(request)
    faq_id = request.query_params.get("faq_id") or None
    return JSONResponse({"changes": await asyncio.to_thread(_console(request).faqs.history, faq_id)})


async def rollback(request: Request) -> Response:
    trainer = _trainer(request)
    change_id = request.path_params["change_id"]
    return JSONResponse(await asyncio.to_thread(_console(request).faqs.rollback, trainer.id, change_id))


# -- index and "Try it" --------------------------------------------------------------------------------------


async def index_status(request: Request) -> Response:
    _trainer(request)
    return JSONResponse({"index": _console(request).knowledge.status().to_dict()})


async def rebuild(request: Request) -> Response:
    _trainer(request)
    return JSONResponse({"index": _console(request).knowledge.request_rebuild().to_dict()}, status_code=202)


async def try_it(request: Request) -> Response:
    _trainer(request)
    question = _string(await _object(request), "question")
    if len(question) > 500:
        raise ValidationFailed("question is longer than 500 characters")
    return JSONResponse(await asyncio.to_thread(_console(request).knowledge.try_it, question))


# -- unanswered inbox ----------------------------------------------------------------------------------------


async def report_unanswered(request: Request) -> Response:
    """The action server reports a question it did not answer (masked and deduplicated here)."""
    require_service(request)
    report = parse_report(await read_json(request))
    stored = await asyncio.to_thread(
        _console(request).inbox.record,
        report["conversation_id"],
        report["text"],
        report["outcome"],
        reason=report["reason"],
        candidates=report["candidates"],
    )
    return JSONResponse({"stored": stored is not None}, status_code=201 if stored else 200)


async def inbox(request: Request) -> Response:
    _trainer(request)
    return JSONResponse(await asyncio.to_thread(_console(request).inbox.groups))


async def inbox_attach(request: Request) -> Response:
    trainer = _trainer(request)
    body = await _object(request)
    result = await asyncio.to_thread(_console(request).inbox.attach, trainer.id, _ids(body), _string(body, "faq_id"))
    return JSONResponse(result)


async def inbox_create(request: Request) -> Response:
    trainer = _trainer(request)
    body = await _object(request)
    faq = body.get("faq")
    if not isinstance(faq, dict):
        raise ValidationFailed("faq must be an object")
    draft = parse_draft(faq)
    new_file = faq.get("new_file") or None
    if new_file is not None and not isinstance(new_file, str):
        raise ValidationFailed("new_file must be a string")
    faq_id = _string(faq, "id", required=False)
    result = await asyncio.to_thread(
        _console(request).inbox.create_faq, trainer.id, _ids(body), faq_id, draft, new_file=new_file
    )
    return JSONResponse(result, status_code=201)


async def inbox_dismiss(request: Request) -> Response:
    trainer = _trainer(request)
    body = await _object(request)
    return JSONResponse(await asyncio.to_thread(_console(request).inbox.dismiss, trainer.id, _ids(body)))


# -- intents, training, models -------------------------------------------------------------------------------


async def intents(request: Request) -> Response:
    _trainer(request)
    return JSONResponse({"intents": await asyncio.to_thread(_console(request).intents.intents)})


async def intent(request: Request) -> Response:
    _trainer(request)
    name = request.path_params["name"]
    service = _console(request).intents
    if request.method == "GET":
        return JSONResponse({"intent": await asyncio.to_thread(service.get, name)})
    body = await _object(request)
    examples = body.get("examples")
    if not isinstance(examples, list | str):
        raise ValidationFailed("examples must be a list of strings")
    edit = await asyncio.to_thread(service.save, name, examples)
    return JSONResponse(
        {"intent": await asyncio.to_thread(service.get, name), "diff": edit.diff, "added": len(edit.after)}
    )


async def training(request: Request) -> Response:
    trainer = _trainer(request)
    models = _console(request).models
    if request.method == "POST":
        run = await models.start(trainer.id)
        return JSONResponse({"run": models.run(run.id)}, status_code=202)
    return JSONResponse({"current": models.current(), "runs": await asyncio.to_thread(models.runs)})


async def training_run(request: Request) -> Response:
    _trainer(request)
    return JSONResponse({"run": _console(request).models.run(request.path_params["run_id"])})


async def training_log(request: Request) -> Response:
    _trainer(request)
    offset = request.query_params.get("offset", "0")
    if not offset.isdigit():
        raise ValidationFailed("offset must be a byte offset")
    models = _console(request).models
    return JSONResponse(await asyncio.to_thread(models.log, request.path_params["run_id"], int(offset)))


async def models(request: Request) -> Response:
    _trainer(request)
    return JSONResponse(await _console(request).models.models())


async def activate_model(request: Request) -> Response:
    trainer = _trainer(request)
    body = await _object(request)
    activated = await _console(request).models.activate(trainer.id, _string(body, "file"), reason="rollback")
    return JSONResponse({"activated": activated})


async def report(request: Request) -> Response:
    _trainer(request)
    return JSONResponse(await asyncio.to_thread(_console(request).report.report))


routes = [
    Route("/trainer", trainer_page),
    Route("/trainer/api/me", me),
    Route("/trainer/api/faqs", faqs, methods=["GET", "POST"]),
    Route("/trainer/api/faqs/{faq_id}", faq, methods=["GET", "PUT", "DELETE"]),
    Route("/trainer/api/suggest-id", suggest_id),
    Route("/trainer/api/history", history),
    Route("/trainer/api/history/{change_id:int}/rollback", rollback, methods=["POST"]),
    Route("/trainer/api/index", index_status),
    Route("/trainer/api/index/rebuild", rebuild, methods=["POST"]),
    Route("/trainer/api/try", try_it, methods=["POST"]),
    Route("/trainer/api/unanswered", inbox),
    Route("/trainer/api/unanswered/attach", inbox_attach, methods=["POST"]),
    Route("/trainer/api/unanswered/create", inbox_create, methods=["POST"]),
    Route("/trainer/api/unanswered/dismiss", inbox_dismiss, methods=["POST"]),
    Route("/trainer/api/intents", intents),
    Route("/trainer/api/intents/{name}", intent, methods=["GET", "PUT"]),
    Route("/trainer/api/training", training, methods=["GET", "POST"]),
    Route("/trainer/api/training/{run_id:int}", training_run),
    Route("/trainer/api/training/{run_id:int}/log", training_log),
    Route("/trainer/api/models", models),
    Route("/trainer/api/models/activate", activate_model, methods=["POST"]),
    Route("/trainer/api/report", report),
    Route("/api/unanswered", report_unanswered, methods=["POST"]),
]
