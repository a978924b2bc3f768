"""``c360 app``: a web page for the service agent (one customer) and the marketer (segments).

Built only on the engine's own parameterised queries through the DB-API (:mod:`c360.app.db`), so
the statement policy of every other door applies. :mod:`c360.app.queries` holds each panel's SQL,
:mod:`c360.app.panels` turns answers into what a panel shows (segment meanings, reasons, the next
best offer), :mod:`c360.app.server` is the Starlette application and its JSON endpoints, and
``static/`` the pages, their scripts and the vendored Chart.js (the page needs no internet).
See docs/app.md.
"""
