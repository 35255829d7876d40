"""Embedding through a remote OpenAI-compatible ``/v1/embeddings`` server (the scale-out path).

Works with any server that speaks the OpenAI embeddings API: sglang
(``--is-embedding``), vLLM, infinity, text-embeddings-inference.  Texts go in
batched requests, several at once (bounded concurrency); 429, 5xx and
connection errors are retried with exponential backoff; anything else, or a
reply that is not a list of finite vectors of the expected length, fails with
one line (:class:`RemoteEmbedError`).  Only the standard library is used.

The cache identity is the served model name, the dimension and the
normalization, not the URL: the same model served elsewhere (another host or
port, an SSH tunnel) shares the cache, so a run that was stopped resumes against
any server of that model.  Vectors are L2-normalized here, whatever the server does.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence
from urllib.parse import urlsplit

import numpy as np

from engine.embedder import Embedder
from engine.errors import ModelError, UsageError

#: Default environment variable holding the API key (``--api-key-env`` names another).
API_KEY_ENV = "QTUI_EMBED_API_KEY"
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
PROBE_TEXT = "qtui probe"


class RemoteEmbedError(ModelError):
    """The embedding server could not be reached, refused the request, or answered something unusable."""


class _Retryable(Exception):
    """A failure worth retrying (connection trouble, 429, 5xx); ``str()`` says what happened."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RemoteEmbedder(Embedder):
    """Embeds texts through an OpenAI-compatible embeddings server; vectors are float32 unit vectors.

    ``url`` is the API base (``http://HOST:PORT/v1``); ``model`` the served model
    name (default: the only model the server lists).  ``dim`` asks the server for
    that many dimensions (the ``dimensions`` parameter) when it supports it, else
    keeps the first ``dim`` (Matryoshka) and renormalizes.  ``instruction`` is put
    before similarity queries in the Qwen3-Embedding format; documents go as they are.
    """

    kind = "openai-embeddings"

    def __init__(self, url: str, model: str | None = None, *, dim: int | None = None,
                 batch_size: int | None = None, concurrency: int = 4, timeout: float = 120.0,
                 retries: int = 5, backoff: float = 0.5, api_key_env: str | None = None,
                 instruction: str | None = None) -> None:
        self.url = _normalise_url(url)
        try:
            parts = urlsplit(self.url)
            port = parts.port  # raises ValueError for a port out of range or not a number
        except ValueError as exc:
            problem = str(exc)[:1].lower() + str(exc)[1:]
            raise UsageError(f"--embed-url {url}: {problem}; give an http(s) URL such as "
                             f"http://127.0.0.1:30000/v1") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--embed-url {url}: give an http(s) URL such as http://127.0.0.1:30000/v1")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, port
        self._path = parts.path.rstrip("/")
        self.batch_size = max(1, int(batch_size or 64))
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.instruction = instruction
        self.device = f"remote {self._host}:{self._port or ('443' if self._scheme == 'https' else '80')}"
        env = self._key_env = api_key_env or API_KEY_ENV
        if api_key_env and not os.environ.get(api_key_env):
            raise UsageError(f"--api-key-env {api_key_env}: that environment variable is not set")
        self._api_key = os.environ.get(env) or None  # never printed, never part of the identity
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="qtui-embed")
        self.requests = 0
        self.retried = 0
        #: The model name sent with each request; :attr:`name` is the one the server says it used.
        self.requested = model or self._only_model()
        self.name = self.requested
        self._send_dimensions = False
        self.native_dim = self._probe_dim(None)
        if dim is not None:
            if dim < 1 or dim > self.native_dim:
                raise UsageError(f"--dim {dim}: must be between 1 and the model's {self.native_dim} dimensions")
            self._send_dimensions = dim < self.native_dim and self._probe_dim(dim, quiet=True) == dim
        self.dim = dim or self.native_dim

    # ------------------------------------------------------------------ protocol

    @property
    def chunk_size(self) -> int:
        """Texts per ``encode`` call: one request per worker, so all of them are busy."""
        return self.batch_size * self.concurrency

    @property
    def identity(self) -> dict:
        """Model name (as the server reports it), dimensions and normalization, not the URL: the same
        model on any server shares the cache."""
        return {"name": self.name, "kind": self.kind, "native_dim": self.native_dim, "dim": self.dim,
                "normalize": "l2"}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents: batched requests, ``concurrency`` at a time; (n, dim) float32 unit vectors."""
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        batches = [texts[lo: lo + self.batch_size] for lo in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            return self._embed_batch(batches[0])
        futures = [self._pool.submit(self._embed_batch, batch) for batch in batches]
        try:
            return np.concatenate([f.result() for f in futures])
        finally:
            for f in futures:
                f.cancel()

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one search query, after the ``--instruction`` prompt when one is given."""
        if self.instruction:
            from engine.st_embedder import query_prompt

            text = query_prompt(self.instruction) + text
        return self._embed_batch([text])[0]

    def close(self) -> None:
        """Stop the worker threads (their connections close with them)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:  # no API key here
        return f"RemoteEmbedder({self.url!r}, model={self.requested!r}, dim={self.dim})"

    # ------------------------------------------------------------------ requests

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        body: dict = {"model": self.requested, "input": texts, "encoding_format": "float"}
        if self._send_dimensions:
            body["dimensions"] = self.dim
        reply = self._call("POST", "/embeddings", body)
        vectors = self._parse(reply, len(texts), self.dim if self._send_dimensions else self.native_dim)
        return _unit(vectors[:, : self.dim])

    def _parse(self, reply, n: int, width: int | None = None) -> np.ndarray:
        """(n, d) vectors of an embeddings reply, in input order; ``width`` is the d expected, if known."""
        data = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(data, list) or len(data) != n:
            got = f"{len(data)} vector{'s' * (len(data) != 1)}" if isinstance(data, list) else "no 'data' list"
            raise self._malformed(f"expected {n} vector{'s' * (n != 1)}, got {got}")
        try:
            items = sorted(data, key=lambda d: int(d.get("index", 0))) if n > 1 else data
            vectors = np.asarray([d["embedding"] for d in items], dtype=np.float32)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise self._malformed("an item has no list of numbers under 'embedding'") from None
        if vectors.ndim != 2 or vectors.shape[1] == 0 or (width is not None and vectors.shape[1] != width):
            raise self._malformed(f"vectors of shape {vectors.shape}, expected {n} × {width or 'd'}")
        if not np.isfinite(vectors).all():
            raise self._malformed("vectors contain NaN or infinity")
        if not np.abs(vectors).max(axis=1).all():
            raise self._malformed("a vector is all zeros")
        return vectors

    def _only_model(self) -> str:
        reply = self._call("GET", "/models", None)
        data = reply.get("data") if isinstance(reply, dict) else None
        ids = [d.get("id") for d in data if isinstance(d, dict) and d.get("id")] if isinstance(data, list) else []
        if not ids:
            raise self._malformed("GET /models listed no model; pass --model NAME")
        if len(ids) > 1:
            raise UsageError(f"--embed-url {self.url} serves {len(ids)} models ({', '.join(map(str, ids[:5]))}); "
                             f"choose one with --model")
        return str(ids[0])

    def _probe_dim(self, dim: int | None, quiet: bool = False) -> int:
        """Length of the vectors the server returns (asking for ``dim`` dimensions, when given)."""
        body: dict = {"model": self.requested, "input": [PROBE_TEXT], "encoding_format": "float"}
        if dim is not None:
            body["dimensions"] = dim
        try:
            reply = self._call("POST", "/embeddings", body)
            width = int(self._parse(reply, 1).shape[1])
            if dim is None and isinstance(reply.get("model"), str) and reply["model"].strip():
                self.name = reply["model"].strip()  # what the server ran, for the cache identity
            return width
        except RemoteEmbedError:
            if quiet:  # the server rejects 'dimensions': truncate here instead
                return -1
            raise

    def _call(self, method: str, route: str, body: dict | None):
        """One request with retries; the decoded JSON reply, or :class:`RemoteEmbedError`."""
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        attempt = 0
        while True:
            try:
                return self._request(method, route, payload)
            except _Retryable as exc:
                attempt += 1
                if attempt > self.retries:
                    raise RemoteEmbedError(f"embedding server {self.url}: {exc} "
                                           f"(gave up after {attempt} tr{'ies' if attempt != 1 else 'y'})") from None
                self.retried += 1
                delay = exc.retry_after if exc.retry_after is not None else self.backoff * 2 ** (attempt - 1)
                time.sleep(min(delay, 30.0) * (1 + 0.25 * random.random()))

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _request(self, method: str, route: str, payload: bytes | None):
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self.requests += 1
        try:
            conn = self._connection()
            conn.request(method, self._path + route, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop_connection()
            raise _Retryable(f"unreachable ({_describe_os_error(exc)})") from None
        status = response.status
        if response.getheader("Connection", "").lower() == "close":
            self._drop_connection()
        if status in RETRY_STATUS:
            raise _Retryable(f"HTTP {status} {_server_message(raw)}".rstrip(), _retry_after(response))
        if status in (401, 403):
            where = f"the key in ${self._key_env} was sent" if self._api_key else "no API key was sent"
            raise RemoteEmbedError(f"embedding server {self.url}: HTTP {status}, not authorised ({where}; "
                                   f"--api-key-env NAME names the variable holding the key)")
        if status == 404 and route == "/embeddings":
            raise RemoteEmbedError(f"embedding server {self.url}: HTTP 404 on POST {self._path}/embeddings "
                                   f"{_server_message(raw)} (is the URL the API base, e.g. http://HOST:PORT/v1, "
                                   f"and --model a served name?)")
        if status >= 400:
            raise RemoteEmbedError(f"embedding server {self.url}: HTTP {status} {_server_message(raw)}".rstrip())
        try:
            return json.loads(raw)
        except ValueError:
            raise self._malformed(f"reply is not JSON ({_snippet(raw)})") from None

    def _malformed(self, what: str) -> RemoteEmbedError:
        return RemoteEmbedError(f"embedding server {self.url}: malformed reply: {what}")


def _normalise_url(url: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    url = url.rstrip("/")
    if url.endswith("/embeddings"):
        url = url[: -len("/embeddings")]
    return url


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _retry_after(response) -> float | None:
    value = response.getheader("Retry-After")
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return "connection closed by the server"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


def _server_message(raw: bytes) -> str:
    """The error text a server put in its reply (OpenAI ``{"error": {"message"}}`` or FastAPI ``detail``)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return f"({_snippet(raw)})" if raw else ""
    message = data
    if isinstance(data, dict):
        message = data.get("error") or data.get("detail") or data.get("message") or data
        if isinstance(message, dict):
            message = message.get("message") or message
    text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
    return f"({_snippet(text.encode())})"


def _snippet(raw: bytes, limit: int = 160) -> str:
    text = raw.decode("utf-8", "replace").strip().replace("\n", " ").replace("\r", " ")
    return (text[:limit] + "…") if len(text) > limit else text
