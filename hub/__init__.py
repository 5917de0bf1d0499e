"""kefu hub: the web service customers (widget) and agents (console) use.

Layers: ``hub.routes`` (thin HTTP / websocket handlers) → ``hub.services`` (conversation state machine,
queues, routing, presence) → ``hub.storage`` (SQLAlchemy; SQLite by default, PostgreSQL when configured).
"""
