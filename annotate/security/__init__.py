"""Security hardening (issue 8): login throttling, audit hooks, CSP and 503 middleware.

- ``lockout``: failed-login counting per username and per client address, lockout window;
- ``forms``: the login form that explains a lockout;
- ``backends``: the authentication backend that refuses locked-out credentials everywhere;
- ``signals``: audit hooks (admin log entries, grants, exports, groups, permissions);
- ``middleware``: Content-Security-Policy, audit request context, database-down 503.
"""
