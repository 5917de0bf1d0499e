"""Trainer console (placeholder): only trainers get in; the console itself comes with the trainer issue."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.exceptions import Forbidden, NotAuthenticated
from hub.routes.agent import current_agent

PLACEHOLDER = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>训练师控制台 · kefu</title>
<link rel="stylesheet" href="/static/agent.css"></head>
<body><main class="placeholder"><h1>训练师控制台</h1>
<p>建设中：这里将用于查看未命中的问题、补充知识库和标注训练数据。</p>
<form method="post" action="/agent/logout"><button type="submit">退出登录</button></form></main></body></html>
"""


async def trainer_page(request: Request) -> Response:
    try:
        current_agent(request, role="trainer")
    except (NotAuthenticated, Forbidden):
        return RedirectResponse("/agent/login", status_code=303)
    return HTMLResponse(PLACEHOLDER)


routes = [Route("/trainer", trainer_page)]
