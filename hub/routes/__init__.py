"""Thin HTTP and websocket handlers: parse the request, call a service, shape the reply.

``widget`` (customer chat), ``agent`` (agent console), ``trainer`` (placeholder), ``api`` (JSON API the
widget and the action server use). Errors become replies in one place: ``errors``.
"""
