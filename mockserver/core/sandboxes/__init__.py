"""Sandboxes: named, isolated instances of the whole mock in one server. ``names`` (what a name may be, and how an
SMTP login or recipient addresses a sandbox), ``registry`` (the bounded, idle-expiring set of them; clock injected).
"""
