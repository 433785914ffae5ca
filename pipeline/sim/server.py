"""HTTP feed simulator: serves a world's payloads exactly as the contract's four feeds do.

A development and test tool. Each feed has its own root (``/orr``, ``/ice``, ``/removals``,
``/dna``) and its own fake bearer token; faults (5xx, 429 with ``Retry-After``, dropped
connections before or in the middle of a body, a garbled body), a "wrong token" mode and
latency can be switched on and changed while it runs. Faults are deterministic for a given
seed: whether the n-th repetition of a request fails depends only on the seed, the request
and n, not on thread timing.

    with FeedSimulator(load_payloads("samples/"), faults=FaultConfig(rate=0.15)) as sim:
        env = sim.env()        # REUNIFY_*_URL / REUNIFY_*_TOKEN for this simulator

CLI (dev tool; prints the simulator's own fake tokens)::

    python -m pipeline.sim.server --world DIR --port 8700 [--fault-rate 0.15]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import hashlib
import io
import json
import secrets
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from pipeline.sim import hostile as hostile_modes
from pipeline.sim.payloads import RawRecord, WorldPayloads, load_payloads

FEED_NAMES: tuple[str, ...] = ("orr", "ice", "removals", "dna")
FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "429", "drop", "drop_mid_body")
"""The faults a feed may show under the contract (``bad_body`` is opt-in: a 200 that is not JSON)."""
ALL_FAULT_KINDS: tuple[str, ...] = (*FAULT_KINDS, "bad_body")

_PATHS: dict[str, str] = {
    "orr": "/v1/children",
    "ice": "/v1/detainees",
    "removals": "/v1/removals.csv",
    "dna": "/v1/results",
}
_TIME_FIELDS: dict[str, str] = {"orr": "updatedAt", "ice": "updated_at", "dna": "reported_at"}
_REMOVAL_DATE_COLUMN = "REMOVAL_DATE"


# --------------------------------------------------------------------------- payloads


def _parse_instant(value: object) -> datetime | None:
    """An aware UTC datetime from an ISO string, or None when it cannot be read."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_us_date(value: str | None) -> date | None:
    try:
        month, day, year = (value or "").strip().split("/")
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


@dataclass(frozen=True)
class _Prepared:
    """Payloads with what the filters need computed once."""

    records: dict[str, list[Any]]
    times: dict[str, list[datetime | None]]
    csv_header: str
    csv_rows: list[str]
    csv_dates: list[date | None]
    selections: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # filter cache


def _prepare(payloads: WorldPayloads) -> _Prepared:
    records = {"orr": list(payloads.orr), "ice": list(payloads.ice), "dna": list(payloads.dna)}
    times = {
        feed: [_parse_instant(r.get(_TIME_FIELDS[feed])) if isinstance(r, dict) else None for r in recs]
        for feed, recs in records.items()
    }
    rows = list(csv.reader(io.StringIO(payloads.removals_csv, newline="")))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    date_index = header.index(_REMOVAL_DATE_COLUMN) if _REMOVAL_DATE_COLUMN in header else -1

    def line(row: Sequence[str]) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(row)
        return out.getvalue()

    return _Prepared(
        records=records,
        times=times,
        csv_header=line(header) if header else "",
        csv_rows=[line(row) for row in body],
        csv_dates=[_parse_us_date(row[date_index]) if 0 <= date_index < len(row) else None for row in body],
    )


def _page_bytes(body: Any) -> bytes:
    """A JSON page as a feed sends it: UTF-8, a lone surrogate written as its ``\\uXXXX`` escape
    (UTF-8 cannot hold it), a :class:`RawRecord`'s text spliced in as it is."""
    raw: dict[str, str] = {}
    token = secrets.token_hex(8)

    def placeholder(value: object) -> str:
        if not isinstance(value, RawRecord):
            raise TypeError(f"{type(value).__name__} is not JSON")
        marker = f"raw-record-{token}-{len(raw)}"
        raw[json.dumps(marker)] = value.text
        return marker

    text = json.dumps(body, ensure_ascii=False, default=placeholder)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raw.clear()
        data = json.dumps(body, default=placeholder).encode("utf-8")
    for marker, record in raw.items():
        data = data.replace(marker.encode(), record.encode("utf-8"))
    return data


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class FaultConfig:
    """What goes wrong, and how often.

    ``rate`` is the fraction of requests that fail with one of ``kinds`` (chosen evenly);
    ``fail_first`` makes the first n repetitions of every distinct request fail regardless of
    the rate (deterministic tests). ``retry_after`` is the 429's ``Retry-After`` in seconds,
    ``latency`` a delay before every answer, ``wrong_token`` answers every request with 401.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    fail_first: int = 0
    retry_after: float = 1.0
    latency: float = 0.0
    wrong_token: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("fault rate must be within 0..1")
        unknown = set(self.kinds) - set(ALL_FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds must be some of {', '.join(ALL_FAULT_KINDS)}")


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# --------------------------------------------------------------------------- simulator


class _BadRequest(Exception):
    """A request the real feed would answer 400."""


class FeedSimulator:
    """A threaded HTTP server serving a world's four feeds with switchable faults."""

    def __init__(
        self,
        payloads: WorldPayloads,
        *,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: dict[str, str] | None = None,
        dna_page_size: int = 100,
        csv_chunk_bytes: int = 16 * 1024,
        hostile: Sequence[str] = (),
    ) -> None:
        self._lock = threading.Lock()
        self._hostile = hostile_modes.check_modes(hostile)
        self._payloads = payloads
        self._prepared = _prepare(hostile_modes.apply_data_modes(payloads, self._hostile))
        self._faults = faults or FaultConfig()
        self._seen: Counter[str] = Counter()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._host, self._port = host, port
        self._tokens = dict(tokens) if tokens else {f: f"sim-{f}-{secrets.token_hex(12)}" for f in FEED_NAMES}
        self.dna_page_size = dna_page_size
        self.csv_chunk_bytes = csv_chunk_bytes
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # knobs of the hostile serving modes (see pipeline.sim.hostile, section feeds)
        self.ice_page_cap = 100
        self.trickle_bytes = 4
        self.trickle_interval = 0.5
        self.oversized_page_bytes = 65 * 1024 * 1024
        self._hostile_seen: Counter[str] = Counter()
        self._decoy: _DecoyServer | None = None

    # lifecycle
    def start(self) -> FeedSimulator:
        """Bind and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"sim": self})
        server = ThreadingHTTPServer((self._host, self._port), handler)
        server.daemon_threads = True
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="feed-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        decoy, self._decoy = self._decoy, None
        if decoy is not None:
            decoy.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FeedSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # addresses
    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def urls(self) -> dict[str, str]:
        """Each feed's root URL."""
        return {feed: f"{self.base_url}/{feed}" for feed in FEED_NAMES}

    @property
    def tokens(self) -> dict[str, str]:
        """Each feed's (fake) bearer token."""
        return dict(self._tokens)

    def env(self) -> dict[str, str]:
        """The ``REUNIFY_*_URL`` and ``REUNIFY_*_TOKEN`` variables pointing at this simulator."""
        out: dict[str, str] = {}
        for feed in FEED_NAMES:
            out[f"REUNIFY_{feed.upper()}_URL"] = self.urls[feed]
            out[f"REUNIFY_{feed.upper()}_TOKEN"] = self._tokens[feed]
        return out

    # controls
    @property
    def faults(self) -> FaultConfig:
        return self._faults

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the fault configuration (or change some of its fields) while running.

        The fault history restarts too, so ``fail_first`` counts from the next request on.
        """
        with self._lock:
            base = config if config is not None else self._faults
            self._faults = replace(base, **changes) if changes else base
            self._seen.clear()
            return self._faults

    def set_payloads(self, payloads: WorldPayloads) -> None:
        """Serve other data from the next request on (pagination in flight sees the new data);
        the hostile data modes that are on apply to it."""
        prepared = _prepare(hostile_modes.apply_data_modes(payloads, self._hostile))
        with self._lock:
            self._payloads, self._prepared = payloads, prepared

    @property
    def hostile(self) -> frozenset[str]:
        """The hostile modes that are on (see :mod:`pipeline.sim.hostile`)."""
        return self._hostile

    def set_hostile(self, names: Sequence[str]) -> frozenset[str]:
        """Switch exactly these hostile modes on (and every other off) from the next request on;
        the data modes are re-applied to the world's own payloads."""
        chosen = hostile_modes.check_modes(names)
        prepared = _prepare(hostile_modes.apply_data_modes(self._payloads, chosen))
        with self._lock:
            self._hostile, self._prepared = chosen, prepared
            self._seen.clear()
            self._hostile_seen.clear()
        return chosen

    def decoy_url(self) -> str:
        """The root of a second server, on another port (another origin), that answers every GET
        with a valid-looking DNA page; started on first use (``dna_redirect_off_origin``)."""
        with self._lock:
            if self._decoy is None:
                self._decoy = _DecoyServer(self._host).start()
            return self._decoy.base_url

    @property
    def decoy_requests(self) -> int:
        """Requests the decoy server has answered (0 when it never started)."""
        return self._decoy.requests if self._decoy is not None else 0

    def counts(self, feed: str | None = None) -> Counter[str]:
        """Requests answered so far by outcome (``ok``, ``401``, ``503``, ``drop`` ...), one feed or all."""
        with self._lock:
            out: Counter[str] = Counter()
            for (name, outcome), n in self._counts.items():
                if feed is None or name == feed:
                    out[outcome] += n
            return out

    def reset_counts(self) -> None:
        """Forget the request counters and the fault history."""
        with self._lock:
            self._counts.clear()
            self._seen.clear()

    # used by the handler
    def _count(self, feed: str, outcome: str) -> None:
        with self._lock:
            self._counts[(feed, outcome)] += 1

    def _hostile_first(self, key: str) -> bool:
        """True the first time a hostile mode sees this key since it was switched on."""
        with self._lock:
            self._hostile_seen[key] += 1
            return self._hostile_seen[key] == 1

    def _pick_fault(self, feed: str, request_key: str) -> tuple[FaultConfig, str | None, float]:
        """The fault config, the fault for this request (or None), and a draw for where to cut a body."""
        with self._lock:
            cfg = self._faults
            n = self._seen[request_key]
            self._seen[request_key] += 1
        failing = n < cfg.fail_first or (cfg.rate > 0 and _unit(cfg.seed, request_key, n, "f") < cfg.rate)
        if not failing:
            return cfg, None, 0.0
        kind = cfg.kinds[int(_unit(cfg.seed, request_key, n, "k") * len(cfg.kinds))]
        return cfg, kind, _unit(cfg.seed, request_key, n, "cut")


DECOY_RESULT: dict[str, Any] = {
    "case_id": "DNA-9999999",
    "adult_a_number": "999999999",
    "child_a_number": None,
    "adult_subject_id": "ICE-99999999",
    "child_id": "ORR-9999999",
    "result": "exclusion",
    "reported_at": "2018-07-03T12:00:00Z",
}
"""What the decoy origin serves: one result that would turn a child into 'not_a_parent'."""


class _DecoyServer:
    """A second small HTTP server (another port: another origin) serving one valid-looking DNA page."""

    def __init__(self, host: str) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                outer.requests += 1
                data = json.dumps({"results": [DECOY_RESULT]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> _DecoyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise _BadRequest("invalid cursor") from exc
    if not isinstance(state, dict) or not isinstance(state.get("o"), int) or state["o"] < 0:
        raise _BadRequest("invalid cursor")
    return state


class _Handler(BaseHTTPRequestHandler):
    """One connection's requests. ``sim`` is set on a per-server subclass."""

    sim: ClassVar[FeedSimulator]
    protocol_version = "HTTP/1.1"
    server_version = "ReunifyFeedSim/1.0"
    timeout = 30
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulator keeps counters instead of an access log."""

    def do_GET(self) -> None:
        try:
            self._serve()
        except (TimeoutError, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    # routing ---------------------------------------------------------------
    def _serve(self) -> None:
        split = urlsplit(self.path)
        parts = split.path.strip("/").split("/", 1)
        feed = parts[0]
        if feed not in FEED_NAMES or len(parts) < 2 or "/" + parts[1] != _PATHS[feed]:
            self._send_json(404, {"error": "not found"}, feed="unknown", outcome="404")
            return
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request_key = f"{feed}?{sorted(query.items())}"
        cfg, fault, cut = self.sim._pick_fault(feed, request_key)
        if cfg.latency > 0:
            time.sleep(cfg.latency)
        if fault in ("500", "502", "503"):
            self._send_json(int(fault), {"error": "upstream failure"}, feed=feed, outcome=fault)
            return
        if fault == "429":
            seconds = cfg.retry_after
            header = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
            self._send_json(
                429, {"error": "slow down"}, feed=feed, outcome="429", extra={"Retry-After": header}
            )
            return
        if fault == "drop":
            self.sim._count(feed, "drop")
            self._drop()
            return
        expected = f"Bearer {self.sim._tokens[feed]}"
        supplied = self.headers.get("Authorization", "")
        if cfg.wrong_token or not secrets.compare_digest(supplied.encode(), expected.encode()):
            self._send_json(
                401, {"error": "unauthorized"}, feed=feed, outcome="401", extra={"WWW-Authenticate": "Bearer"}
            )
            return
        if fault == "bad_body":
            self._send_bytes(200, b"<html>upstream proxy error</html>", "text/html", feed, "bad_body")
            return
        if feed == "dna" and self._redirect(split.path, query):
            return
        prepared = self.sim._prepared
        try:
            if feed == "removals":
                self._removals(prepared, query, cut if fault == "drop_mid_body" else None)
                return
            status, body, headers = getattr(self, f"_{feed}")(prepared, query)
        except _BadRequest as exc:
            self._send_json(400, {"error": str(exc)}, feed=feed, outcome="400")
            return
        data = _page_bytes(body)
        if fault == "drop_mid_body":
            self.sim._count(feed, "drop_mid_body")
            self._send_head(status, "application/json", len(data), headers)
            self.wfile.write(data[: int(len(data) * cut)])
            self._drop()
            return
        if "oversized_page" in self.sim.hostile:
            self._send_chunked(status, data.ljust(self.sim.oversized_page_bytes), feed, headers)
            return
        self._send_bytes(status, data, "application/json", feed, "ok", headers)

    def _redirect(self, path: str, query: dict[str, str]) -> bool:
        """Answer a DNA request with a redirect when a redirect mode is on; True when it did."""
        hostile = self.sim.hostile
        if "dna_redirect_off_origin" in hostile:
            # the query is the kind of thing an error must not echo
            location = f"{self.sim.decoy_url()}{path}?case=DNA-0000001&sig=decoy-signature-value"
            status = 302
        elif "dna_redirect_same_origin" in hostile and "redirected" not in query:
            location = f"{path}?{urlencode({**query, 'redirected': '1'})}"
            status = 307
        elif "dna_redirect_control_chars" in hostile:
            location, status = hostile_modes.CONTROL_CHARS_LOCATION, 302
        elif malformed := hostile & hostile_modes.MALFORMED_LOCATIONS.keys():
            location, status = hostile_modes.MALFORMED_LOCATIONS[min(malformed)], 302
        elif "dna_redirect_loop" in hostile:
            hop = int(query.get("hop", "0") or 0) + 1
            location = f"{path}?{urlencode({**query, 'hop': str(hop)})}"
            status = 302
        else:
            return False
        self._send_bytes(status, b"", "text/plain", "dna", str(status), {"Location": location})
        return True

    # feeds -----------------------------------------------------------------
    @staticmethod
    def _int(query: dict[str, str], key: str, default: int, low: int, high: int) -> int:
        raw = query.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise _BadRequest(f"{key} must be an integer") from exc
        if not low <= value <= high:
            raise _BadRequest(f"{key} must be within {low}..{high}")
        return value

    @staticmethod
    def _since(query: dict[str, str], key: str) -> str | None:
        raw = query.get(key)
        if raw is None or raw == "":
            return None
        if _parse_instant(raw) is None:
            raise _BadRequest(f"{key} must be an ISO datetime")
        return raw

    @staticmethod
    def _selected(prepared: _Prepared, feed: str, since: str | None) -> list[Any]:
        records = prepared.records[feed]
        if since is None:
            return records
        cached = prepared.selections.get((feed, since))
        if cached is None:
            floor = _parse_instant(since)
            assert floor is not None
            times = prepared.times[feed]
            cached = [r for r, t in zip(records, times, strict=True) if t is not None and t >= floor]
            if len(prepared.selections) > 64:
                prepared.selections.clear()
            prepared.selections[(feed, since)] = cached
        return cached

    def _orr(self, prepared: _Prepared, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        limit = self._int(query, "limit", 1000, 1, 1000)
        if query.get("cursor"):
            state = _decode_cursor(query["cursor"])
            offset, since = state["o"], state.get("s")
        else:
            offset, since = 0, self._since(query, "updated_since")
        selected = self._selected(prepared, "orr", since)
        if "orr_endless_cursors" in self.sim.hostile and selected:
            # the listing again and again, under ever new cursors
            start = offset % len(selected)
            page = (selected[start:] + selected)[:limit]
            return (
                200,
                {"children": page, "next_cursor": _encode_cursor({"o": offset + limit, "s": since})},
                {},
            )
        page = selected[offset : offset + limit]
        end = offset + len(page)
        next_cursor = _encode_cursor({"o": end, "s": since}) if end < len(selected) else None
        return 200, {"children": page, "next_cursor": next_cursor}, {}

    def _ice(self, prepared: _Prepared, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        page = self._int(query, "page", 1, 1, 10**9)
        per_page = self._int(query, "per_page", 500, 1, 500)
        selected = self._selected(prepared, "ice", self._since(query, "updated_since"))
        hostile = self.sim.hostile
        if "ice_caps_per_page" in hostile or ("ice_caps_per_page_late" in hostile and page >= 3):
            per_page = min(per_page, max(1, self.sim.ice_page_cap))
        start = (page - 1) * per_page
        detainees = selected[start : start + per_page]
        last = -(-len(selected) // per_page)
        if last >= 2 and page == last // 2 + 1:
            key = f"ice-middle|{page}|{per_page}|{query.get('updated_since')}"
            if "ice_empty_page" in hostile or (
                "ice_empty_page_once" in hostile and self.sim._hostile_first(key)
            ):
                detainees = []
        body = {"page": page, "per_page": per_page, "total": len(selected), "detainees": detainees}
        return 200, body, {}

    def _dna(self, prepared: _Prepared, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        since = self._since(query, "since")
        offset = _decode_cursor(query["cursor"])["o"] if query.get("cursor") else 0
        selected = self._selected(prepared, "dna", since)
        size = max(1, self.sim.dna_page_size)
        page = selected[offset : offset + size]
        headers: dict[str, str] = {}
        endless = "dna_endless_links" in self.sim.hostile and bool(selected)
        if endless:
            start = offset % len(selected)
            page = (selected[start:] + selected)[:size]
        if endless or offset + len(page) < len(selected):
            params = {"since": since} if since else {}
            params["cursor"] = _encode_cursor({"o": offset + len(page)})
            host = self.headers.get("Host") or f"{self.sim._host}:{self.sim.port}"
            headers["Link"] = f'<http://{host}/dna{_PATHS["dna"]}?{urlencode(params)}>; rel="next"'
            if "dna_next_link_malformed" in self.sim.hostile:
                headers["Link"] = f'<http://[{host}/dna{_PATHS["dna"]}?{urlencode(params)}>; rel="next"'
        return 200, {"results": page}, headers

    def _removals(self, prepared: _Prepared, query: dict[str, str], cut: float | None) -> None:
        raw_since = query.get("since")
        floor: date | None = None
        if raw_since:
            try:
                floor = date.fromisoformat(raw_since)
            except ValueError as exc:
                raise _BadRequest("since must be a date (YYYY-MM-DD)") from exc
        rows = (
            prepared.csv_rows
            if floor is None
            else [r for r, d in zip(prepared.csv_rows, prepared.csv_dates, strict=True) if d and d >= floor]
        )
        header = prepared.csv_header
        hostile = self.sim.hostile
        if "removals_empty_body" in hostile:
            header, rows = "", []
        elif "removals_header_only" in hostile:
            rows = []
        elif "removals_wrong_header" in hostile:
            header = header.lower()
        elif "removals_unterminated_quote" in hostile:
            rows = _unterminated_quote(rows)
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        cut_at: int | None = None  # where a mid-body drop cuts the body, in bytes
        if cut is not None:
            total = sum(len(r.encode("utf-8")) for r in rows) + len(header.encode("utf-8"))
            cut_at = int(total * cut)
        sent = 0
        buffer: list[str] = [header]
        size = len(header)

        def flush(final: bool) -> bool:
            nonlocal sent, buffer, size
            data = "".join(buffer).encode("utf-8")
            buffer, size = [], 0
            if cut_at is not None and sent + len(data) >= cut_at:
                self.sim._count("removals", "drop_mid_body")
                if data:  # announce the whole chunk, send only part of it
                    self.wfile.write(f"{len(data):X}\r\n".encode() + data[: max(0, cut_at - sent)])
                self._drop()
                return False
            if data:
                self._write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                sent += len(data)
            if final:
                self.sim._count("removals", "ok")
                self.wfile.write(b"0\r\n\r\n")
            return True

        for row in rows:
            buffer.append(row)
            size += len(row)
            if size >= self.sim.csv_chunk_bytes and not flush(final=False):
                return
        flush(final=True)

    # output ----------------------------------------------------------------
    def _send_head(self, status: int, content_type: str, length: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        feed: str,
        outcome: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.sim._count(feed, outcome)  # before answering, so a test sees it once the client has
        self._send_head(status, content_type, len(data), headers or {})
        self._write(data)

    def _send_chunked(self, status: int, data: bytes, feed: str, headers: dict[str, str]) -> None:
        """A JSON body in chunks, without a Content-Length (so only counting it shows its size)."""
        self.sim._count(feed, "oversized")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        step = 256 * 1024
        for i in range(0, len(data), step):
            piece = data[i : i + step]
            self._write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
        self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        """Send bytes: at once, or a few at a time under the ``trickle`` mode."""
        if "trickle" not in self.sim.hostile:
            self.wfile.write(data)
            return
        step = max(1, self.sim.trickle_bytes)
        for i in range(0, len(data), step):
            self.wfile.write(data[i : i + step])
            time.sleep(self.sim.trickle_interval)

    def _send_json(
        self, status: int, body: Any, *, feed: str, outcome: str, extra: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(body).encode(), "application/json", feed, outcome, extra)

    def _drop(self) -> None:
        """Close the connection at once, without finishing (or starting) the response."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _unterminated_quote(rows: list[str]) -> list[str]:
    """The CSV rows with a quote opened in the middle row and never closed: the rows after it
    that hold a quote (which would close it) are left out, so it swallows the rest of the file."""
    middle = next((i for i in range(len(rows) // 2, len(rows)) if '"' not in rows[i]), None)
    if middle is None:
        return rows
    broken = rows[middle].replace(",", ',"', 1)
    return [*rows[:middle], broken, *(r for r in rows[middle + 1 :] if '"' not in r)]


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a world directory until interrupted, after printing the env lines to export."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.sim.server",
        description="Reunify feed simulator (development tool: serves fake feeds with fake tokens).",
    )
    parser.add_argument("--world", required=True, help="directory of orr_children.json, removals.csv ...")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="fraction of requests that fail (0..1)")
    parser.add_argument("--faults", default=",".join(FAULT_KINDS), help="comma-separated fault kinds")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds of a 429")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dna-page-size", type=int, default=100)
    parser.add_argument("--stable-tokens", action="store_true", help="use sim-<feed>-token instead of random")
    parser.add_argument(
        "--hostile",
        default="",
        help="comma-separated hostile modes: " + ", ".join(sorted(hostile_modes.MODES)),
    )
    args = parser.parse_args(argv)

    faults = FaultConfig(
        rate=args.fault_rate,
        kinds=tuple(k.strip() for k in args.faults.split(",") if k.strip()),
        retry_after=args.retry_after,
        latency=args.latency,
        seed=args.seed,
    )
    tokens = {f: f"sim-{f}-token" for f in FEED_NAMES} if args.stable_tokens else None
    sim = FeedSimulator(
        load_payloads(args.world),
        faults=faults,
        host=args.host,
        port=args.port,
        tokens=tokens,
        dna_page_size=args.dna_page_size,
        hostile=[m.strip() for m in args.hostile.split(",") if m.strip()],
    )
    sim.start()
    print("# Reunify feed simulator (dev tool). These are the simulator's own fake tokens.")
    for key, value in sim.env().items():
        print(f"export {key}={value}")
    print(f"# serving {args.world} on {sim.base_url}; fault rate {faults.rate}; Ctrl-C to stop", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
