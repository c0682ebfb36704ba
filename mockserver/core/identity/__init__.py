"""Identity: users, roles, OAuth2 clients and tokens (``identity``).
"""
