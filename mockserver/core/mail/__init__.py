"""Captured mail: ``store`` (the bounded store and its waiters), ``parse`` (raw message -> parsed record, filters)."""
