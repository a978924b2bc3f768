"""The Starlette application: two pages, their static assets, one JSON endpoint per panel, and one for all of a
customer's panels at once (a JSON line per panel, as each is done: what the customer page asks for).

Every endpoint answers JSON of :meth:`c360.app.db.Answer.to_json` (rows, the SQL and its parameters,
per-source timings, or the error of the source that failed), plus what :mod:`c360.app.panels`
derives. Queries run in Starlette's thread pool (``run_in_threadpool``): the engine blocks, the event
loop must not. While a panel's query runs, the endpoint checks every :data:`WATCH_SECONDS` whether the
browser is still connected, and cancels the query when it is not (a closed tab or a new customer frees
the connection). A failed panel answers 200 with its ``error`` set, so the page degrades panel by panel;
a bad request (a date that is not one) answers 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import datetime as dt
import io
import json
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from c360.app import panels, queries
from c360.app.db import CONNECTIONS, Database, Ticket

STATIC = Path(__file__).with_name("static")
#: How often a running panel query checks that its browser is still there.
WATCH_SECONDS = 0.05


async def watched(request, work):
    """``await work(ticket)`` (a coroutine function whose statements take ``ticket``), the ticket cancelled if
    ``request``'s client disconnects before it returns (then it still waits for the work, so its connection is
    free)."""
    ticket = Ticket()
    task = asyncio.ensure_future(work(ticket))
    while True:
        done, _ = await asyncio.wait({task}, timeout=WATCH_SECONDS)
        if done:
            return task.result()
        if await request.is_disconnected():
            ticket.cancel()
            return await task


class BadRequest(Exception):
    """A parameter the page should not have sent (answered 400 with its message)."""


def _date(text: str | None, default: dt.date | None) -> dt.date | None:
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"not a date (YYYY-MM-DD): {text!r}") from None


def _int(text: str | None, name: str, default: int | None = None, *, high: int | None = None) -> int:
    if text is None and default is not None:
        return default
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a whole number, not {text!r}") from None
    return min(value, high) if high is not None else value


def create_app(catalog: Path, profile: str | None = None, *, as_of: dt.date | None = None,
               live_hours: float = 2.0, live_seconds: float = 5.0, connections: int = CONNECTIONS, users=None,
               warm_up: bool = True) -> Starlette:
    """The app over the project whose catalog is ``catalog``.

    ``as_of`` is the date the views are evaluated at unless a request says ``?as_of=`` (None: today);
    the live panel shows stream windows of the last ``live_hours`` of wall-clock time and the page
    polls it every ``live_seconds``. With ``users`` (:class:`c360.server.auth.Users`), every request
    needs one of them (HTTP Basic, :mod:`c360.app.auth`). ``warm_up`` loads the model and plans the
    predictions query in the background at start-up.
    """
    db = Database(catalog, profile, size=connections)
    state = {"warm_up": "off"}
    catalog = Path(catalog)
    models = (catalog.parent if catalog.is_file() else catalog.resolve().parent) / "models"

    def asked(request) -> dt.date | None:
        return _date(request.query_params.get("as_of"), as_of)

    async def run(sql: str, params, when, request=None) -> dict:
        if request is None:
            return (await run_in_threadpool(db.run, sql, params, as_of=when)).to_json()
        return (await watched(request, lambda ticket: run_in_threadpool(db.run, sql, params, as_of=when,
                                                                         ticket=ticket))).to_json()

    async def config(request):
        return JSONResponse({"as_of": (as_of or dt.date.today()).isoformat(), "live_seconds": live_seconds,
                             "live_hours": live_hours, "catalog": str(catalog), "profile": db.profile or "default",
                             "segments": list(panels.SEGMENT_MEANINGS), "offer_rule": panels.OFFER_RULE,
                             "warm_up": state["warm_up"]})

    async def search(request):
        text = request.query_params.get("q", "")[:200]
        return JSONResponse(await run(queries.SEARCH, {"q": text}, asked(request)))

    async def panel(name: str, customer: int, when, ticket: Ticket) -> dict:
        """One customer panel's answer (its JSON), its statements cancellable through ``ticket``."""
        if name == "predictions":
            return await _predictions(customer, when, ticket)
        when = when or dt.date.today()
        if name == "live":
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            since = now - dt.timedelta(hours=live_hours)
            params = [customer, queries.live_start(since), now + queries.LIVE_AHEAD, since]
            answer = (await run_in_threadpool(db.run, queries.LIVE, params, as_of=when, ticket=ticket)).to_json()
            answer["since"], answer["live_hours"] = since.isoformat(), live_hours
            return answer
        sql = getattr(queries, _PANEL_SQL[name])  # looked up per request (a test swaps one for a slow statement)
        params = [customer, queries.as_of_start(when)] if name in ("enrichment", "orders") else [customer]
        answer = (await run_in_threadpool(db.run, sql, params, as_of=when, ticket=ticket)).to_json()
        if name == "rfm" and answer["rows"]:
            answer["meaning"] = panels.SEGMENT_MEANINGS.get(answer["rows"][0]["segment"])
        return answer

    async def customer_panel(request):
        customer = _int(request.path_params["customer_id"], "customer id")
        name, when = request.path_params["panel"], asked(request)
        if name not in CUSTOMER_PANELS:
            return JSONResponse({"error": f"no panel {name!r}"}, status_code=404)
        return JSONResponse(await watched(request, lambda ticket: panel(name, customer, when, ticket)))

    async def customer_page(request):
        """Every panel of one customer in one answer: their statements start at once (the slowest first), and
        each panel's JSON is one line of the answer (``panel`` naming it) as soon as that panel is done."""
        customer = _int(request.path_params["customer_id"], "customer id")
        when = asked(request)
        asked_for = request.query_params.get("panels")
        names = CUSTOMER_PANELS if asked_for is None else tuple(dict.fromkeys(asked_for.split(",")))
        unknown = [name for name in names if name not in CUSTOMER_PANELS]
        if unknown:
            raise BadRequest(f"no panel {unknown[0]!r}; the panels are {', '.join(CUSTOMER_PANELS)}")
        started = early.take((customer, when)) if asked_for is None else None
        tasks, tickets = (started.tasks, started.tickets) if started else start_panels(customer, when, names)
        return StreamingResponse(_lines(tasks, tickets), media_type="application/x-ndjson",
                                 headers={"cache-control": "no-store"})

    def start_panels(customer: int, when, names) -> tuple[dict, dict]:
        """The panels' tasks (task -> name), each statement started at once, the slowest first, and their
        tickets (name -> ticket)."""
        tickets = {name: Ticket() for name in names}
        tasks = {asyncio.ensure_future(panel(name, customer, when, tickets[name])): name
                 for name in sorted(names, key=CUSTOMER_PANELS.index)}
        return tasks, tickets

    early = _Early()

    async def customer_html(request):
        """The customer page. Its address names the customer (``?id=``): that customer's panels start now, while
        the browser reads the page and its scripts, and the page's own request for them (``/api/customer/{id}``,
        same date) takes them over (:class:`_Early`)."""
        try:
            customer, when = int(request.query_params["id"]), asked(request)
        except (KeyError, ValueError, BadRequest):  # no customer, or a bad one: the page's request says why
            pass
        else:
            early.put((customer, when), *start_panels(customer, when, CUSTOMER_PANELS))
        return FileResponse(STATIC / "customer.html")

    async def _predictions(customer: int, when, ticket: Ticket) -> dict:
        from c360.model import card as cards

        if not cards.exists(models):
            return {"error": f"no model in {models}: run c360 train", "rows": [], "sources": [], "sql": None}
        scorer = await run_in_threadpool(_scorer, models)
        categories = scorer.card.categories
        sql = queries.predictions(categories, [f.name for f in scorer.inputs])
        answer = await run_in_threadpool(db.run, sql, [customer], as_of=when, ticket=ticket)
        shown = answer.to_json()
        shown["categories"] = categories
        probability_columns = {f"p_{name.lower()}" for name in categories}
        shown["rows"] = [{k: v for k, v in row.items() if k in _PREDICTION_COLUMNS or k in probability_columns}
                         for row in shown["rows"]]
        if answer.error is None and answer.rows:
            shown.update(panels.next_best_offer(answer.rows[0]))
            try:
                shown["reasons"] = await run_in_threadpool(panels.reasons, models, answer.table)
            except Exception as error:  # noqa: BLE001 - reasons are extra: their failure is shown, not fatal
                shown["reasons"] = {"error": f"{type(error).__name__}: {error}"}
        return shown

    async def segments(request):
        return JSONResponse(await run(queries.SEGMENTS, None, asked(request)))

    async def heatmap(request):
        return JSONResponse(await run(queries.HEATMAP, None, asked(request)))

    async def movement(request):
        before = _date(request.query_params.get("from"), None)
        after = _date(request.query_params.get("to"), as_of or dt.date.today())
        if before is None:
            before = after - dt.timedelta(days=30)
        first = await run_in_threadpool(db.run, queries.SEGMENT_OF, None, as_of=before)
        second = await run_in_threadpool(db.run, queries.SEGMENT_OF, None, as_of=after)
        error = first.error or second.error
        return JSONResponse({"sql": queries.SEGMENT_OF, "params": {"as_of": [before.isoformat(), after.isoformat()]},
                             "from": before.isoformat(), "to": after.isoformat(),
                             "rows": [] if error else panels.movement(first.rows, second.rows),
                             "sources": first.to_json()["sources"] + second.to_json()["sources"],
                             "seconds": round(first.seconds + second.seconds, 4), "error": error})

    async def top(request):
        segment = request.query_params.get("segment", "Champions")
        limit = _int(request.query_params.get("limit"), "limit", 50, high=10_000)
        answer = await run(queries.TOP, [segment, limit], asked(request))
        if request.url.path.endswith(".csv"):
            if answer["error"]:
                return Response(answer["error"], status_code=502, media_type="text/plain")
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(answer["columns"])
            writer.writerows([row[c] for c in answer["columns"]] for row in answer["rows"])
            filename = "top-" + "".join(ch if ch.isalnum() else "-" for ch in segment.lower()) + ".csv"
            return Response(out.getvalue(), media_type="text/csv",
                            headers={"content-disposition": f'attachment; filename="{filename}"'})
        return JSONResponse(answer)

    def page(name: str):
        async def serve(request):
            return FileResponse(STATIC / f"{name}.html")
        return serve

    async def home(request):
        return RedirectResponse("/customer")

    async def bad_request(request, error: BadRequest):
        return JSONResponse({"error": str(error)}, status_code=400)

    routes = [
        Route("/", home),
        Route("/customer", customer_html),
        Route("/segments", page("segments")),
        Route("/api/config", config),
        Route("/api/search", search),
        Route("/api/customer/{customer_id}", customer_page),
        Route("/api/customer/{customer_id}/{panel}", customer_panel),
        Route("/api/segments", segments),
        Route("/api/segments/heatmap", heatmap),
        Route("/api/segments/movement", movement),
        Route("/api/segments/top", top),
        Route("/api/segments/top.csv", top),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    def warm() -> None:
        """Load the model, plan the predictions and compute reasons once (for a row of nothing but nulls: the
        first reasons compile the feature encoder, ~0.6 s), so the first agent does not wait for it."""
        try:
            if card_exists(models):
                scorer = _scorer(models)
                answer = db.run(queries.predictions(scorer.card.categories, [f.name for f in scorer.inputs]), [-1],
                                as_of=as_of)
                if answer.error is None:
                    import pyarrow as pa

                    panels.reasons(models, pa.Table.from_pylist([{}], schema=answer.table.schema))
                state["warm_up"] = "failed: " + answer.error if answer.error else "done"
            else:
                state["warm_up"] = "no model"
        except Exception as error:  # noqa: BLE001 - only a head start: shown in /api/config, the panel reports it too
            state["warm_up"] = f"failed: {type(error).__name__}: {error}"

    @contextlib.asynccontextmanager
    async def lifespan(application):
        if warm_up:
            state["warm_up"] = "running"
            threading.Thread(target=warm, name="c360-app-warm-up", daemon=True).start()
        yield
        early.clear()
        db.close()

    middleware = []
    if users:
        from starlette.middleware import Middleware

        from c360.app.auth import BasicAuth

        middleware.append(Middleware(BasicAuth, users=users))
    application = Starlette(routes=routes, exception_handlers={BadRequest: bad_request}, lifespan=lifespan,
                            middleware=middleware)
    application.state.db = db
    return application


#: The customer page's panels, in the order their statements start when the page asks for all of them at once
#: (the slowest first: they finish last either way, and the others fit around them).
CUSTOMER_PANELS = ("live", "predictions", "orders", "enrichment", "browsing", "rfm", "profile")
#: The statement (its name in :mod:`c360.app.queries`) of each panel that is one statement about one customer.
_PANEL_SQL = {"profile": "PROFILE", "enrichment": "ENRICHMENT", "rfm": "RFM", "orders": "ORDERS",
              "browsing": "BROWSING"}


#: How long the panels a customer page's address started wait for the page to ask for them (seconds); then their
#: statements are cancelled. And how many pages' panels wait at most (the oldest are cancelled first).
EARLY_SECONDS = 5.0
EARLY_PAGES = 16


class _Early:
    """The panels started when a customer page was served, by (customer, date), until the page's script asks for
    them (:meth:`take`) or :data:`EARLY_SECONDS` pass. Measured in a loaded Chromium, the page's request left
    40-60 ms after the page's own (the HTML committed, its stylesheet read, its first script run): the panels
    now run in that time. A page served again for the same customer and date replaces (and cancels) what the
    last one started."""

    def __init__(self):
        self._started: dict[tuple, _Started] = {}

    def put(self, key: tuple, tasks: dict, tickets: dict) -> None:
        self.drop(key)
        started = _Started(tasks, tickets, asyncio.get_running_loop().call_later(EARLY_SECONDS, self.drop, key))
        for task in tasks:
            task.add_done_callback(_retrieved)
        self._started[key] = started
        while len(self._started) > EARLY_PAGES:
            self.drop(next(iter(self._started)))

    def take(self, key: tuple) -> "_Started | None":
        started = self._started.pop(key, None)
        if started is not None:
            started.expiry.cancel()
        return started

    def drop(self, key: tuple) -> None:
        started = self.take(key)
        if started is not None:
            for ticket in started.tickets.values():
                ticket.cancel()

    def clear(self) -> None:
        for key in list(self._started):
            self.drop(key)


@dataclasses.dataclass
class _Started:
    tasks: dict
    tickets: dict
    expiry: asyncio.TimerHandle


def _retrieved(task: asyncio.Task) -> None:
    """Mark a panel task's outcome as seen (one never taken over is never awaited; its error is not news)."""
    if not task.cancelled():
        task.exception()


async def _lines(tasks: dict, tickets: dict):
    """The answer of :func:`create_app`'s ``customer_page``: one JSON line per panel as its task (of ``tasks``:
    task -> panel name) finishes; a panel whose work failed unexpectedly answers its error on its line. If the
    browser goes away first (the server cancels this generator), the statements still running are cancelled."""
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            lines = []
            for task in done:
                name = tasks[task]
                try:
                    answer = task.result()
                except Exception as error:  # noqa: BLE001 - one panel's failure is its line, not the page's
                    answer = {"error": f"{type(error).__name__}: {error}", "rows": [], "sources": [], "sql": None}
                lines.append(json.dumps({"panel": name, **answer}, ensure_ascii=False, allow_nan=False,
                                        separators=(",", ":")) + "\n")
            yield "".join(lines)  # the panels done together in one write (all of them, when started early)
    finally:
        for task in pending:
            tickets[tasks[task]].cancel()


_PREDICTION_COLUMNS = {"p_purchase_30d", "predicted_category", "model_version", "segment", "top_browsed_category_30d",
                       "top_purchased_category_365d"}


def card_exists(models: Path) -> bool:
    from c360.model import card as cards

    return cards.exists(models)


def _scorer(models: Path):
    from c360.model.scorer import scorer

    return scorer(models)
