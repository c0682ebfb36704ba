"""Identity: users, roles, OAuth2 clients and tokens (``identity``).

- ``users``: the users file (users, roles, permission claim names, MyProfile fields, clients).
- ``clients``: client authentication by form fields or HTTP Basic.
- ``keys``: the server's RS256 :class:`~.keys.Signer` (one per server, shared by every sandbox).
- ``revocation``: the bounded set of used/revoked refresh tokens (one per Identity).
- ``tokens``: what the access and refresh JWTs hold (:class:`~.tokens.TokenInfo`, the claim builders).
- ``identity``: :class:`~.identity.Identity`, the grants, bearer checks, revocation and userinfo.
- ``oidc``: the discovery document.
"""
