"""Fault injection in the core: ``rules`` (the model), ``parse`` (documents -> rules), ``files`` (files and presets),
``decisions`` (what a matching rule does), ``engine`` (the seeded engine that matches and counts). It returns
decisions and never acts: the adapters act.
"""
