"""FeedClient: one pooled HTTP session per feed, with timeouts, bearer auth and bounded retries.

Transient failures (connection errors and drops, timeouts, broken bodies, 429, 5xx, and a few
pages that are not the contract's shape) are retried with exponential backoff and jitter, or
after the server's ``Retry-After``, within ``retry_max_attempts`` attempts and
``retry_max_seconds`` in total. Everything else is translated at this boundary into
:mod:`pipeline.errors`: 401/403 -> :class:`FeedAuthError`, retries exhausted ->
:class:`FeedUnavailableError`, a page that stays wrong -> :class:`FeedProtocolError`.
The token lives only in the session's headers: it is never logged nor put in an error.

Limits: a client's whole fetch has a wall-clock budget (``budget_seconds``, retries included), one
JSON page's response a wall-clock limit (``page_max_seconds``) and a size cap
(``max_response_bytes``); bodies are read in chunks as they arrive, since ``requests``' timeout
only bounds each socket read and a trickling server would never time out. Past the budget or the
size cap the fetch fails with :class:`FeedLimitError`; a page slower than its limit is retried
like a timeout. Redirects are followed only on the feed's own origin, a few hops at most.
"""

from __future__ import annotations

import codecs
import random
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import structlog
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from tenacity import RetryCallState, Retrying, retry_if_exception

from pipeline import jsontext
from pipeline.errors import (
    ConfigError,
    FeedAuthError,
    FeedError,
    FeedLimitError,
    FeedProtocolError,
    FeedUnavailableError,
    JSONDepthError,
)
from pipeline.settings import FeedSettings, Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")
Params = Mapping[str, str | int | None]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another try (any other 5xx is retried too); 400/401/403/404 never are."""
AUTH_STATUSES = frozenset({401, 403})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
"""Same-origin redirects followed for one request; more is a loop, not a move."""
READ_CHUNK_BYTES = 64 * 1024
DEFAULT_MAX_PAGES = 100_000
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,  # refused, reset, dropped before a response, connect timeouts
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # connection dropped in the middle of a body
    requests.exceptions.ContentDecodingError,
)


class SlowResponse(requests.Timeout):
    """One page's response took longer than its wall-clock limit (a trickle): retried as a timeout."""


class RetryableStatus(Exception):
    """An HTTP answer worth retrying (429 or 5xx); ``retry_after`` is the server's wish, in seconds."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class BadPage(Exception):
    """A 200 whose body is not the contract's shape (not JSON, missing keys, wrong types)."""


_EXHAUSTIBLE: tuple[type[BaseException], ...] = (RetryableStatus, *TRANSIENT_EXCEPTIONS)


def is_retryable(exc: BaseException) -> bool:
    """The retry predicate: transient transport errors, retryable statuses and bad pages."""
    return isinstance(exc, (BadPage, *_EXHAUSTIBLE))


def is_retryable_status(status: int) -> bool:
    """True for 408, 429 and every 5xx."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


def failure_kind(exc: BaseException) -> str:
    """A short, token-free name for what went wrong (used in logs and error messages)."""
    if isinstance(exc, RetryableStatus):
        return f"HTTP {exc.status}"
    if isinstance(exc, BadPage):
        return f"bad page ({exc})"
    if isinstance(exc, SlowResponse):
        return f"slow response ({exc})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection dropped mid-body"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.ConnectionError):
        return "connection error"
    return type(exc).__name__


def format_since(since: datetime | date | None) -> str | None:
    """An ISO UTC timestamp for ``updated_since``/``since`` (a date means its midnight UTC)."""
    if since is None:
        return None
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day, tzinfo=UTC)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    # Truncating to the second can only widen an "at or after" filter: safe.
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts and seconds in total, backoff shape, caps."""

    max_attempts: int = 8
    max_seconds: float = 120.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.5
    retry_after_cap: float = 60.0
    protocol_attempts: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(max_attempts=settings.retry_max_attempts, max_seconds=settings.retry_max_seconds)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with jitter after the given failed attempt (1-based)."""
        base = min(self.backoff_max, self.backoff_initial * 2 ** max(0, attempt - 1))
        return base + (rng or random).uniform(0, self.jitter)

    def wait_for(self, exc: BaseException | None, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after a failure: the server's ``Retry-After`` (capped), else backoff."""
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry_after_cap)
        return self.backoff(attempt, rng)


def _origin(url: str) -> tuple[str, str]:
    """A URL's scheme and host:port, compared case-insensitively."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _BearerAuth(AuthBase):
    """Bearer token auth whose repr never shows the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<redacted>)"


class _Session(requests.Session):
    """A session that leaves redirects to :meth:`FeedClient._send`: requests would parse a
    ``Location`` even when not following it (for ``Response.next``), and raise a bare ValueError
    on one that is not a URL, before our checks see it."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


@dataclass
class Page:
    """One decoded page: the checked body, the response's links and the URL it came from."""

    body: Any
    links: dict[str, str]
    url: str


class FeedClient:
    """HTTP access to one agency feed: one pooled session (use one client per thread), bearer auth,
    a timeout on every request and the retry policy. Close it, or use it as a context manager."""

    def __init__(
        self,
        feed: FeedSettings,
        *,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        page_size: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        budget_seconds: float | None = None,
        page_max_seconds: float | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.name = feed.name
        self.root = feed.url.rstrip("/")
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.page_size = page_size
        self._sleep = sleep
        self._session = session or _Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.auth = _BearerAuth(feed.token)  # also keeps ~/.netrc from overriding it
        self._origin = _origin(self.root)
        self.budget_seconds = budget_seconds
        self.page_max_seconds = page_max_seconds
        self.max_pages = max_pages
        self.max_response_bytes = max_response_bytes
        self._budget_deadline: float | None = None  # set by the first request

    @classmethod
    def from_settings(cls, settings: Settings, name: str, **kwargs: Any) -> FeedClient:
        """A client for a configured feed; ConfigError when it is not configured."""
        feed = settings.feed(name)
        if feed is None:
            raise ConfigError(f"the {name} feed is not configured: set REUNIFY_{name.upper()}_URL and _TOKEN")
        sizes = {"orr": settings.orr_page_size, "ice": settings.ice_page_size}
        kwargs.setdefault("timeout", settings.request_timeout)
        kwargs.setdefault("policy", RetryPolicy.from_settings(settings))
        kwargs.setdefault("page_size", sizes.get(name))
        kwargs.setdefault("budget_seconds", settings.fetch_budget_seconds)
        kwargs.setdefault("page_max_seconds", settings.page_max_seconds)
        kwargs.setdefault("max_pages", settings.max_pages)
        kwargs.setdefault("max_response_bytes", settings.max_response_bytes)
        return cls(feed, **kwargs)

    def __repr__(self) -> str:
        return f"FeedClient(name={self.name!r}, root={self.root!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ URLs
    def url(self, path_or_url: str) -> str:
        """An absolute URL under the feed's root; absolute URLs must stay on the feed's origin."""
        if "://" not in path_or_url:
            return self.root + "/" + path_or_url.lstrip("/")
        if _origin(path_or_url) != self._origin:
            raise FeedProtocolError(self.name, "a next-page link points outside the feed's origin")
        return path_or_url

    def setting(self, suffix: str) -> str:
        """The name of this feed's ``REUNIFY_<FEED>_<suffix>`` variable (for error messages)."""
        return f"REUNIFY_{self.name.upper()}_{suffix}"

    # ------------------------------------------------------------------ limits
    def budget_left(self) -> float | None:
        """Seconds left of this fetch's wall-clock budget (None: no budget); starts at the first request."""
        if self.budget_seconds is None:
            return None
        if self._budget_deadline is None:
            self._budget_deadline = time.monotonic() + self.budget_seconds
        return self._budget_deadline - time.monotonic()

    def check_budget(self, what: str) -> None:
        """Raise FeedLimitError once the fetch has used up its wall-clock budget."""
        left = self.budget_left()
        if left is not None and left <= 0:
            log.error("feed.budget_exceeded", feed=self.name, request=what, budget_s=self.budget_seconds)
            raise FeedLimitError(
                self.name,
                f"{what}: the fetch ran past its budget of {self.budget_seconds:g}s (retries included); "
                "the feed is too slow or never ends. Raise REUNIFY_FETCH_BUDGET_SECONDS if it is "
                "legitimately this slow",
            )

    def page_limit_error(self, pages: int, what: str) -> FeedLimitError:
        """The error for a feed that wants more pages than REUNIFY_MAX_PAGES allows."""
        log.error("feed.too_many_pages", feed=self.name, pages=pages, max_pages=self.max_pages)
        return FeedLimitError(
            self.name,
            f"{what}: more than {self.max_pages:,} pages (REUNIFY_MAX_PAGES) and the feed still "
            "announces more; it is paging forever, or REUNIFY_MAX_PAGES is too low for it",
        )

    def pause(self, seconds: float, what: str) -> None:
        """Sleep between two tries of a request, within the budget."""
        left = self.budget_left()
        if left is not None and seconds >= left:
            self._sleep(max(0.0, left))
            self.check_budget(what)
        self._sleep(seconds)

    def protocol_error(self, message: str) -> FeedProtocolError:
        """A FeedProtocolError for this feed (adapters raise it on a broken pagination)."""
        log.error("feed.protocol_error", feed=self.name)
        return FeedProtocolError(self.name, message)

    # ------------------------------------------------------------------ retries
    def _retry(self, fn: Callable[[], T], what: str) -> T:
        """Call ``fn`` until it succeeds or the policy gives up; translate the failure."""
        policy = self.policy
        failures: Counter[str] = Counter()
        started = time.monotonic()
        state = {"bad_pages": 0, "past_budget": 0}

        def after(rs: RetryCallState) -> None:
            exc = rs.outcome.exception() if rs.outcome else None
            if exc is not None:
                failures[failure_kind(exc) if not isinstance(exc, BadPage) else "bad page"] += 1
                if isinstance(exc, BadPage):
                    state["bad_pages"] += 1

        def wait(rs: RetryCallState) -> float:
            exc = rs.outcome.exception() if rs.outcome else None
            return policy.wait_for(exc, rs.attempt_number)

        def stop(rs: RetryCallState) -> bool:
            if rs.attempt_number >= policy.max_attempts or state["bad_pages"] >= policy.protocol_attempts:
                return True
            # idle_for (the sleeps so far) keeps the bound honest when ``sleep`` is injected.
            elapsed = max(rs.seconds_since_start or 0.0, rs.idle_for)
            left = self.budget_left()
            if left is not None and rs.upcoming_sleep >= left:
                state["past_budget"] = 1
                return True
            return elapsed + rs.upcoming_sleep >= policy.max_seconds

        def before_sleep(rs: RetryCallState) -> None:
            exc = rs.outcome.exception() if rs.outcome else None
            log.warning(
                "feed.retry",
                feed=self.name,
                request=what,
                attempt=rs.attempt_number,
                failure=failure_kind(exc) if exc else None,
                wait_s=round(rs.upcoming_sleep, 3),
            )

        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            stop=stop,
            wait=wait,
            after=after,
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except BadPage as exc:
            log.error("feed.bad_page", feed=self.name, request=what, attempts=sum(failures.values()))
            raise FeedProtocolError(
                self.name, f"{what}: {exc} (after {sum(failures.values())} attempts)"
            ) from exc
        except _EXHAUSTIBLE as exc:
            attempts = sum(failures.values())
            summary = ", ".join(f"{kind} x{n}" for kind, n in failures.most_common())
            elapsed = time.monotonic() - started
            log.error(
                "feed.gave_up", feed=self.name, request=what, attempts=attempts, elapsed_s=round(elapsed, 2)
            )
            budget = ""
            if state["past_budget"]:
                budget = " (the fetch budget, REUNIFY_FETCH_BUDGET_SECONDS, ran out)"
            raise FeedUnavailableError(
                self.name,
                f"{what}: gave up after {attempts} attempts in {elapsed:.1f}s{budget}; "
                f"kept failing with {summary}; last: {failure_kind(exc)}",
            ) from exc

    # ------------------------------------------------------------------ one request
    def _send(self, url: str, params: Params | None, *, what: str = "request") -> requests.Response:
        """One request, its body not read yet; same-origin redirects followed (a few), others refused.

        Raises RetryableStatus / FeedAuthError / FeedProtocolError on a bad status, FeedLimitError
        past the fetch budget.
        """
        clean: Params | None = {k: v for k, v in (params or {}).items() if v is not None}
        for _hop in range(MAX_REDIRECTS + 1):
            self.check_budget(what)
            left = self.budget_left()
            # a socket read never waits past the budget either
            timeout = self.timeout if left is None else max(0.001, min(self.timeout, left))
            try:
                response = self._session.get(
                    url, params=clean, timeout=timeout, stream=True, allow_redirects=False
                )
            except TRANSIENT_EXCEPTIONS:
                raise
            except requests.RequestException as exc:
                raise FeedError(
                    self.name,
                    f"request could not be sent ({type(exc).__name__}); check {self.setting('URL')}",
                ) from None
            if response.status_code not in REDIRECT_STATUSES:
                break
            url, clean = self._redirect_target(response), None  # the target carries its own query
        else:
            raise self.protocol_error(
                f"{urlsplit(url).path}: more than {MAX_REDIRECTS} redirects (a redirect loop); "
                f"check {self.setting('URL')}"
            )
        status = response.status_code
        if status < 300:
            return response
        response.close()
        if status in AUTH_STATUSES:
            log.error("feed.auth_refused", feed=self.name, status=status)
            raise FeedAuthError(self.name, status)
        if is_retryable_status(status):
            raise RetryableStatus(status, parse_retry_after(response.headers.get("Retry-After")))
        log.error("feed.rejected", feed=self.name, status=status)
        raise FeedProtocolError(
            self.name,
            f"the feed rejected {urlsplit(url).path} with HTTP {status}; "
            f"check REUNIFY_{self.name.upper()}_URL",
        )

    def _redirect_target(self, response: requests.Response) -> str:
        """Where a redirect points, when that is on the feed's origin; FeedProtocolError otherwise.

        Off the origin the body would come from someone else (requests would only drop the
        token), so it is refused; the error names the other origin but never the target's query.
        """
        response.close()
        status, source = response.status_code, urlsplit(response.url).path
        location = response.headers.get("Location")
        if not location:
            raise self.protocol_error(f"{source} answered HTTP {status} without a Location")
        try:
            target = urljoin(response.url, location)
            parts = urlsplit(target)
            off_origin = _origin(target) != self._origin
            port = parts.port if off_origin else None  # ValueError on a port that is not a number
        except ValueError:  # an unmatched '[' in the host, a port out of range or not a number
            log.error("feed.redirect_refused", feed=self.name, status=status, location="malformed")
            raise FeedProtocolError(
                self.name,
                f"{source} answered HTTP {status} with a Location header that is not a valid URL "
                f"(a malformed host or port); the redirect was not followed. The feed at "
                f"{self.setting('URL')} is misbehaving: ask its operators",
            ) from None
        if off_origin:
            other = f"{parts.scheme}://{parts.hostname or '?'}" + (f":{port}" if port else "")
            log.error("feed.redirect_refused", feed=self.name, status=status)
            raise FeedProtocolError(
                self.name,
                f"{source} answered HTTP {status} redirecting to another origin ({other}); a feed is "
                f"only read from the origin of {self.setting('URL')}, so the redirect was not followed",
            )
        return target

    # ------------------------------------------------------------------ bodies
    def iter_body(
        self, response: requests.Response, what: str, *, max_seconds: float | None
    ) -> Iterator[bytes]:
        """The body's bytes as they arrive (never waiting for a full chunk, so a trickle is seen),
        within ``max_seconds`` (raises SlowResponse) and the fetch budget (FeedLimitError)."""
        started = time.monotonic()
        raw = response.raw
        while True:
            try:
                chunk = raw.read1(READ_CHUNK_BYTES)
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise requests.ReadTimeout(str(exc)) from None
            except urllib3.exceptions.DecodeError as exc:
                raise requests.exceptions.ContentDecodingError(str(exc)) from None
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError) as exc:
                raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
            if not chunk:
                return
            yield chunk
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                raise SlowResponse(f"over {max_seconds:g}s, REUNIFY_PAGE_MAX_SECONDS")
            self.check_budget(what)

    def size_limit_error(self, what: str) -> FeedLimitError:
        """The error for a response larger than REUNIFY_MAX_RESPONSE_BYTES."""
        log.error("feed.response_too_large", feed=self.name, request=what, limit=self.max_response_bytes)
        return FeedLimitError(
            self.name,
            f"{what}: the response is larger than {self.max_response_bytes:,} bytes "
            "(REUNIFY_MAX_RESPONSE_BYTES); ask for smaller pages or raise the limit",
        )

    def _read_page_body(self, response: requests.Response, what: str) -> bytes:
        """A JSON page's whole body, read within the page's time limit and the size cap."""
        limit = self.max_response_bytes
        try:
            length = int(response.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        try:
            if length > limit:
                raise self.size_limit_error(what)
            chunks: list[bytes] = []
            size = 0
            for chunk in self.iter_body(response, what, max_seconds=self.page_max_seconds):
                size += len(chunk)
                if size > limit:
                    raise self.size_limit_error(what)
                chunks.append(chunk)
        finally:
            response.close()
        return b"".join(chunks)

    # ------------------------------------------------------------------ JSON pages
    def get_page(
        self,
        path_or_url: str,
        params: Params | None = None,
        *,
        check: Callable[[Any], None] | None = None,
        what: str = "page",
    ) -> Page:
        """GET one JSON page, retried as a whole; ``check`` raises BadPage when the shape is wrong."""
        url = self.url(path_or_url)

        def attempt() -> Page:
            response = self._send(url, params, what=what)
            response._content = self._read_page_body(response, what)  # what .json() and .text read
            try:
                try:
                    body = jsontext.loads(response.content)
                except JSONDepthError:
                    raise
                except ValueError:  # not UTF-8: let requests decode it by the charset the feed declared
                    body = jsontext.loads(response.text)
            except JSONDepthError as exc:
                raise BadPage(f"body is not readable JSON ({exc})") from exc
            except ValueError as exc:
                raise BadPage("body is not JSON") from exc
            if check is not None:
                check(body)
            links = {rel: link["url"] for rel, link in response.links.items() if "url" in link}
            return Page(body=body, links=links, url=response.url)

        return self._retry(attempt, what)

    def resolve(self, page: Page, link: str) -> str:
        """A link from a page made absolute, and checked to stay on the feed's origin;
        FeedProtocolError when it is not a valid URL."""
        try:
            target = urljoin(page.url, link)
            urlsplit(target).port  # noqa: B018 (ValueError on a port that is not a number)
        except ValueError:
            raise self.protocol_error(
                "a next-page link is not a valid URL (a malformed host or port); the feed at "
                f"{self.setting('URL')} is misbehaving: ask its operators"
            ) from None
        return self.url(target)

    # ------------------------------------------------------------------ streams
    def iter_lines(
        self,
        path: str,
        params: Params | None = None,
        *,
        check_first_line: Callable[[str], None] | None = None,
        what: str = "stream",
    ) -> Generator[str, None, None]:
        """The body's lines (newline kept), streamed; after a drop the request restarts and skips
        the lines already given, so a caller sees every line exactly once. Each stretch between
        two successful reads gets the full retry budget.

        ``check_first_line`` sees the first line of every attempt, or ``""`` for an empty body.
        A stream has no size cap and no per-request time limit (a long list is legitimately
        long; only the fetch budget bounds it), but one line longer than ``max_response_bytes``
        is not a CSV line and fails the fetch."""
        stream = _ResumableLines(self, self.url(path), params, check_first_line, what)
        max_restarts = self.policy.max_attempts * 4  # progress each time, but not forever
        try:
            while not stream.done:
                yield from self._retry(stream.next_lines, what)
                if stream.restarts > max_restarts:
                    raise FeedUnavailableError(
                        self.name, f"{what}: the stream was cut {stream.restarts} times; giving up"
                    )
        finally:
            stream.close()


class _ResumableLines:
    """Reads a streamed body in blocks of complete lines; restarts and skips after a failure."""

    def __init__(
        self,
        client: FeedClient,
        url: str,
        params: Params | None,
        check_first_line: Callable[[str], None] | None,
        what: str,
    ) -> None:
        self.client, self.url, self.params = client, url, params
        self.check_first_line = check_first_line
        self.what = what
        self.delivered = 0
        self.done = False
        self.restarts = 0
        self._response: requests.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._partial = ""
        self._to_skip = 0
        self._seen = 0

    def _open(self) -> None:
        if self.delivered:
            self.restarts += 1
            log.info("feed.stream_resume", feed=self.client.name, skip_lines=self.delivered)
        self._response = self.client._send(self.url, self.params, what=self.what)
        self._chunks = self.client.iter_body(self._response, self.what, max_seconds=None)
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._partial = ""
        self._to_skip = self.delivered
        self._seen = 0

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response = self._chunks = self._decoder = None

    def next_lines(self) -> list[str]:
        """The next complete lines (possibly the last, unterminated one); [] with ``done`` at the end."""
        try:
            if self._chunks is None:
                self._open()
            assert self._chunks is not None and self._decoder is not None
            while True:
                chunk = next(self._chunks, None)
                if chunk is None:
                    text = self._partial + self._decoder.decode(b"", final=True)
                    lines = [text] if text else []
                    self._partial = ""
                    self.done = True
                else:
                    parts = (self._partial + self._decoder.decode(chunk)).split("\n")
                    self._partial = parts.pop()
                    lines = [part + "\n" for part in parts]
                    if len(self._partial) > self.client.max_response_bytes:
                        raise FeedLimitError(
                            self.client.name,
                            f"{self.what}: a line longer than {self.client.max_response_bytes:,} "
                            "characters (REUNIFY_MAX_RESPONSE_BYTES): the body is not a CSV of rows",
                        )
                if self._seen == 0 and self.check_first_line and (lines or self.done):
                    self.check_first_line(lines[0] if lines else "")
                self._seen += len(lines)
                if self._to_skip:
                    skipped = min(self._to_skip, len(lines))
                    lines = lines[skipped:]
                    self._to_skip -= skipped
                if lines or self.done:
                    if self.done and self._to_skip:
                        raise BadPage("the stream came back shorter than before")
                    self.delivered += len(lines)
                    if self.done:
                        self.close()
                    return lines
        except BaseException:
            self.close()
            self.done = False
            raise
