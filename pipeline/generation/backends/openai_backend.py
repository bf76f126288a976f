"""`openai` backend: any OpenAI-compatible server (``vllm serve``, SGLang, TGI, llama.cpp's server, a
hosted API) through the ``openai`` client from PyPI (``AsyncOpenAI``).

Options (``backend_options``): ``base_url`` (required, e.g. ``http://127.0.0.1:8000/v1``),
``api_key_env`` (the NAME of an environment variable holding the key: the key itself is read when
the backend starts and is never stored, logged or shown: every message from a server passes
through ``_scrub``), ``endpoint`` (``chat``: /chat/completions, the server applies the chat
template; ``completions``: /completions with the messages' text joined by blank lines, for base
models), ``concurrency`` (requests in flight), ``timeout_s`` (per request), ``max_retries``,
``extra_body`` (merged into every request, e.g. llama.cpp's ``top_k``/``min_p``/``repeat_penalty``,
vLLM's ``top_k`` or ``chat_template_kwargs``).

Every sample is its own request (``n=1``) with its own ``seed``, so a resumed or sharded run asks
for the same samples (the server decides whether it honours seeds: vLLM and llama.cpp do).

Retries are our own loop and the client's are off (``max_retries=0``): the client retries only
HTTP errors and timeouts, while a 200 with malformed JSON or an empty choice list (a proxy or a
server under load) deserves a retry too, and every retry is counted. Retried: 408, 409, 429, 5xx,
timeouts, broken connections, malformed replies; the wait is the server's ``Retry-After``
(``retry-after-ms``, seconds or an HTTP date; at most ``MAX_RETRY_AFTER_S``) when it sends one, else
exponential backoff (1 s, 2 s, 4 s ... at most 60 s, 0-25 % jitter). Other 4xx fail at once. A
request that fails for good becomes a ``Completion`` with ``error`` set and the rest goes on
(``generate.execute`` reports it with its question and sample and stores nothing for it); a 401 or
403 stops the run (every request would fail the same way).

A reply's separate reasoning field (``reasoning_content``, vLLM/SGLang/DeepSeek; ``reasoning``, newer
vLLM and OpenRouter) is put back in place as ``<think>REASONING</think>CONTENT``, so the stored text
reads like the model's raw output and the segmenter and grader see the whole trajectory.
"""
from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import re
import time
from typing import Any, Sequence

from warehouse.errors import ModelLoadError

from .base import Backend, Completion, OptionError, Prompt, SamplingParams
from .llamacpp import sample_seed

RETRY_STATUS = frozenset({408, 409, 429})           # and every 5xx
FATAL_STATUS = frozenset({401, 403})                # the key is wrong: every request would fail
BACKOFF_BASE_S, BACKOFF_MAX_S = 1.0, 60.0
MAX_RETRY_AFTER_S = 600.0
ENDPOINTS = ("chat", "completions")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class RequestError(Exception):
    """One attempt failed; ``retry``: worth another; ``wait``: the server's Retry-After, if any."""

    def __init__(self, msg: str, retry: bool, wait: float | None = None) -> None:
        super().__init__(msg)
        self.retry, self.wait = retry, wait


class ServerRefused(ModelLoadError):
    """The server refused the key (401/403) or cannot be reached at all."""


def retry_after(headers) -> float | None:
    """Seconds the server asks us to wait (``retry-after-ms``, ``retry-after`` in seconds or as an
    HTTP date), at most ``MAX_RETRY_AFTER_S``; None when it does not say."""
    if headers is None:
        return None
    for name, div in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        v = headers.get(name)
        if v is None:
            continue
        try:
            s = float(v) / div
        except ValueError:
            t = email.utils.parsedate_tz(v) if name == "retry-after" else None
            if t is None:
                continue
            s = email.utils.mktime_tz(t) - time.time()
        if s == s:                                      # not NaN
            return min(max(s, 0.0), MAX_RETRY_AFTER_S)
    return None


def backoff(attempt: int) -> float:
    """Exponential backoff before retry ``attempt`` (0-based), with 0-25 % jitter."""
    return min(BACKOFF_BASE_S * 2 ** attempt, BACKOFF_MAX_S) * (1 - 0.25 * random.random())


def finish_reason(reason: Any) -> str | None:
    return reason if reason in ("stop", "length") else None     # tool_calls, content_filter, abort: unknown


def with_reasoning(content: str | None, reasoning: str | None) -> str:
    """The reply as the model wrote it: the separate reasoning field back in place as a think block."""
    return f"<think>{reasoning}</think>{content or ''}" if reasoning else content or ""


def prompt_text(prompt: Prompt) -> str:
    """The text sent to /completions: a plain prompt as is, chat messages' contents joined by blank lines."""
    return prompt if isinstance(prompt, str) else "\n\n".join(str(m.get("content") or "") for m in prompt)


class OpenAIBackend(Backend):
    name = "openai"
    OPTIONS = {"base_url": str, "api_key_env": str, "endpoint": str, "concurrency": int, "timeout_s": float,
               "max_retries": int, "extra_body": dict}
    DEFAULTS = {"endpoint": "chat", "concurrency": 8, "timeout_s": 3600.0, "max_retries": 5}
    default_batch_size = 64         # samples per committed batch: keep it >= 4 x concurrency

    @staticmethod
    def check_options(opts: dict) -> None:
        """Config-time checks of the (merged) options; ``OptionError(key, message)``. Never echoes
        ``api_key_env``'s value: a key pasted there by mistake must not reach an error message."""
        if not opts.get("base_url"):
            raise OptionError("base_url", "required (the server's URL, e.g. http://127.0.0.1:8000/v1)")
        if not re.match(r"https?://", opts["base_url"]):
            raise OptionError("base_url", f"expected an http:// or https:// URL, got {opts['base_url']!r}")
        env = opts.get("api_key_env")
        if env is not None and not _ENV_NAME.match(env):
            raise OptionError("api_key_env", "must be the NAME of an environment variable holding the key "
                                             "(e.g. OPENAI_API_KEY), never the key itself")
        if opts.get("endpoint", "chat") not in ENDPOINTS:
            raise OptionError("endpoint", f"expected one of {', '.join(ENDPOINTS)}, got {opts['endpoint']!r}")
        for k, lo in (("concurrency", 1), ("max_retries", 0)):
            if k in opts and opts[k] < lo:
                raise OptionError(k, f"must be >= {lo}, got {opts[k]}")
        if "timeout_s" in opts and opts["timeout_s"] <= 0:
            raise OptionError("timeout_s", f"must be > 0, got {opts['timeout_s']}")

    def __init__(self, model: str, **options) -> None:
        super().__init__(model, **options)
        try:
            self.check_options(options)
        except OptionError as exc:
            raise ModelLoadError(f"openai: backend_options.{exc.key}: {exc.msg}") from None
        o = {**self.DEFAULTS, **options}
        self.base_url, self.endpoint = o["base_url"], o["endpoint"]
        self.concurrency, self.timeout_s = int(o["concurrency"]), float(o["timeout_s"])
        self.max_retries, self.extra_body = int(o["max_retries"]), dict(o.get("extra_body") or {})
        env = o.get("api_key_env")
        if env is not None and not os.environ.get(env):
            raise ModelLoadError(f"openai: the environment variable {env} (backend_options.api_key_env) is not set")
        self._key = os.environ[env] if env else "EMPTY"         # local servers started without a key ignore it
        self.retries = 0                                        # attempts that were retried, for the report
        self._loop = asyncio.new_event_loop()
        self._client = None
        self._probed = False

    # ---------------------------------------------------------------- the requests
    def _scrub(self, text: str) -> str:
        text = str(text)
        return text.replace(self._key, "***") if len(self._key) >= 4 else text

    def client(self):
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(api_key=self._key, base_url=self.base_url, max_retries=0,
                                       timeout=self.timeout_s)
        return self._client

    async def _once(self, prompt: Prompt, params: SamplingParams, seed: int) -> Completion:
        import openai

        kw: dict[str, Any] = dict(model=self.model, temperature=params.temperature, top_p=params.top_p,
                                  max_tokens=params.max_tokens, seed=seed, n=1,
                                  extra_body=self.extra_body or None)
        if params.stop:
            kw["stop"] = list(params.stop)
        try:
            if self.endpoint == "chat":
                msgs = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
                res = await self.client().chat.completions.create(messages=msgs, **kw)
            else:
                res = await self.client().completions.create(prompt=prompt_text(prompt), **kw)
        except openai.APIStatusError as exc:
            code = exc.status_code
            msg = f"HTTP {code}: {_first_line(exc.message)}"
            if code in FATAL_STATUS:
                raise ServerRefused(f"openai: {self.base_url} refused the request ({msg}); check the key in "
                                    f"the environment variable named by backend_options.api_key_env")
            raise RequestError(msg, code in RETRY_STATUS or code >= 500, retry_after(exc.response.headers))
        except openai.APITimeoutError:
            raise RequestError(f"no reply within timeout_s={self.timeout_s:g}", True) from None
        except openai.APIConnectionError as exc:        # refused, reset, a reply cut off mid-body
            cause = exc.__cause__ or exc
            raise RequestError(f"connection failed ({type(cause).__name__}: {_first_line(cause)})", True) from None
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            raise RequestError(f"malformed reply ({type(exc).__name__}: {_first_line(exc)})", True) from None
        try:
            return self._parse(res)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:     # a reply of the wrong shape
            raise RequestError(f"malformed reply ({type(exc).__name__}: {_first_line(exc)})", True) from None

    def _parse(self, res: Any) -> Completion:
        choices = getattr(res, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise RequestError("the reply holds no choices", True)
        ch = choices[0]
        if self.endpoint == "chat":
            msg = ch.message
            if msg is None:
                raise RequestError("the reply's choice holds no message", True)
            reasoning = getattr(msg, "reasoning_content", None) or getattr(msg, "reasoning", None)
            text = with_reasoning(msg.content, reasoning if isinstance(reasoning, str) else None)
        else:
            text = ch.text or ""
        if not isinstance(text, str):
            raise RequestError(f"the reply's text is a {type(text).__name__}, not a string", True)
        usage = getattr(res, "usage", None)
        n_tokens = getattr(usage, "completion_tokens", None) if usage is not None else None
        return Completion(text, n_tokens if isinstance(n_tokens, int) else None, finish_reason(ch.finish_reason))

    async def _request(self, sem: asyncio.Semaphore, prompt: Prompt, params: SamplingParams, seed: int) -> Completion:
        async with sem:
            attempt = 0
            while True:
                try:
                    return await self._once(prompt, params, seed)
                except RequestError as exc:
                    if not exc.retry or attempt >= self.max_retries:
                        how = "not retryable" if not exc.retry else f"{attempt + 1} attempt(s)"
                        return Completion("", None, None, error=self._scrub(f"{exc} ({how})"))
                    await asyncio.sleep(exc.wait if exc.wait is not None else backoff(attempt))
                    attempt += 1
                    self.retries += 1

    async def _probe(self) -> None:
        """Once, before the first batch: the server answers and takes the key (GET /models, with the
        same retries). A server without /models (404 ...) is fine; an unreachable one stops the run
        with one line instead of one line per request."""
        import openai

        for attempt in range(self.max_retries + 1):
            try:
                await self.client().models.list()
                return
            except openai.APIStatusError as exc:
                if exc.status_code in FATAL_STATUS:
                    raise ServerRefused(f"openai: {self.base_url} refused the key (HTTP {exc.status_code}: "
                                        f"{_first_line(exc.message)}); check the environment variable named by "
                                        f"backend_options.api_key_env")
                if exc.status_code not in RETRY_STATUS and exc.status_code < 500:
                    return
                wait = retry_after(exc.response.headers)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                wait, last = None, exc.__cause__ or exc
                if attempt == self.max_retries:
                    raise ServerRefused(f"openai: cannot reach {self.base_url} ({type(last).__name__}: "
                                        f"{_first_line(last)}) after {attempt + 1} attempt(s); is the server "
                                        f"running?") from None
            except ValueError:              # answered, but not a model list: the requests will tell
                return
            if attempt < self.max_retries:
                await asyncio.sleep(wait if wait is not None else backoff(attempt))
        return                              # still 429/5xx: the requests retry on their own

    async def _all(self, jobs: list[tuple[Prompt, int]], params: SamplingParams) -> list[Completion]:
        if not self._probed:
            await self._probe()
            self._probed = True
        sem = asyncio.Semaphore(self.concurrency)
        return list(await asyncio.gather(*(self._request(sem, p, params, s) for p, s in jobs)))

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams,
                 seeds: Sequence[int] | None = None) -> list[list[Completion]]:
        jobs = [(p, sample_seed(seeds, params, i, k)) for i, p in enumerate(prompts) for k in range(params.n)]
        try:
            outs = self._loop.run_until_complete(self._all(jobs, params))
        except ServerRefused as exc:
            raise ServerRefused(self._scrub(str(exc))) from None
        return [outs[i * params.n:(i + 1) * params.n] for i in range(len(prompts))]

    def close(self) -> None:
        loop, self._loop = getattr(self, "_loop", None), None
        if loop is None or loop.is_closed():
            return
        pending = asyncio.all_tasks(loop)             # left over by an interrupt or a refused key
        for task in pending:
            task.cancel()
        try:
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            if self._client is not None:
                loop.run_until_complete(self._client.close())
        finally:
            self._client = None
            loop.close()


def _first_line(x: Any) -> str:
    line = (str(x).strip().splitlines() or [type(x).__name__])[0]
    return re.sub(r"^Error code: \d+ - ", "", line)[:300]      # the client's prefix: the status is shown anyway
