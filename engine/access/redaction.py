"""Secrets kept out of everything loadrec prints or writes.

An endpoint may echo what it was sent (a 401 page with the request's headers, a debug
body, a redirect to a URL with a token): the answer samples that become a FailureReason
would then carry the resolved ``env:`` values, the SigV4 ``Authorization`` header or the
session token into stdout, describe.json, steps.json and the report. Every sample passes
through ``redact`` first, in whichever process ran the request, before it is cut short
(a secret cut in half would leak its first half).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import html
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import unquote

from loadrec.engine.job.headers import SENSITIVE_HEADERS

MASK = "***"
# What a SigV4 signature looks like wherever it is echoed (a header, a presigned URL).
_SIGV4 = re.compile(
    r"(AWS4-HMAC-SHA256(?:\s|\+|%20)+)[^\r\n\"']*|((?:X-Amz-)?Signature=)[0-9a-fA-F]{64}|(X-Amz-(?:Security-Token|Credential)=)[^&\s\"']+"
)
_SIGV4_PARTS = re.compile(r"(?:Credential=|Signature=)([^/,\s]+)")
SHORTEST_SECRET = 4  # shorter values would mask common words; such values are no secret anyway


def request_secrets(headers: Mapping[str, str], resolved: Iterable[str] = ()) -> list[str]:
    """The secret values of one request, longest first: its sensitive headers' values, the
    credentials inside them (a Bearer token, Basic's user:password, each cookie value) and
    the resolved env: values."""
    values = set(resolved)
    for name, value in headers.items():
        if name.lower() in SENSITIVE_HEADERS:
            values |= {value, *_inner_secrets(name.lower(), value)}
    return sorted((v for v in values if len(v) >= SHORTEST_SECRET), key=lambda v: (-len(v), v))


def _inner_secrets(name: str, value: str) -> set[str]:
    if name == "cookie":
        return {pair.partition("=")[2] for pair in value.split(";")}
    scheme, _, credentials = value.strip().partition(" ")
    found = {credentials.strip()}
    if scheme == "AWS4-HMAC-SHA256":  # the access key id and the signature, however the rest is echoed
        found |= {m.group(1) for m in _SIGV4_PARTS.finditer(credentials)}
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError, binascii.Error):
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            found |= {decoded, decoded.partition(":")[2]}
    return found


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret masked, as sent or as an answer would echo it, and every SigV4 signature masked.

    The forms an echo takes: JSON escapes (``\\/``, ``\\u00e9``), percent-encoding in either
    case (``+`` for a space too), HTML entities, any letter case, and base64 of the secret or
    of a header holding it (its whole run of base64 is masked). Rather than compile a pattern
    per secret and form (a SigV4 signature is new on every request), the text's escapes are
    decoded once into a plain, lower-cased copy that keeps where each character came from,
    and each secret is looked for there with ``str.find``."""
    wanted = [s for s in secrets if s]  # request_secrets leaves out the shortest (they would mask words)
    if wanted:
        spans = _base64_spans(text, wanted)
        # Decoding costs a few µs per escape: only where a secret may be. An echo keeps a secret's letters
        # and digits as they are (or escapes every character: a long run of escapes).
        lowered = text.lower()
        held = wanted if _escaped_throughout(text) else [s for s in wanted if _longest_word(s) in lowered]
        if held:
            spans += _plain_spans(text, held)
        text = _masked(text, spans)
    if "AWS4-HMAC-SHA256" not in text and "Signature=" not in text and "X-Amz-" not in text:
        return text  # nothing the pattern below could match: skip its scan (a millisecond per 16 KiB)
    return _SIGV4.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + MASK, text)


# What an echo escapes a character as: percent (runs of them: a UTF-8 sequence), an HTML entity,
# a JSON escape (a surrogate pair first), a backslash before any character.
_ESCAPE = re.compile(
    r"(?:%[0-9A-Fa-f]{2})+|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\."
)


_ENCODED_RUN_LENGTH = 8
_ENCODED_RUN = re.compile(
    r"(?:%[0-9A-Fa-f]{2}|&#[xX]?[0-9A-Fa-f]{1,7};|\\u[0-9a-fA-F]{4})" + f"{{{_ENCODED_RUN_LENGTH}}}"
)
_WORD = re.compile(r"[^\W_]+")


def _escaped_throughout(text: str) -> bool:
    """Whether ``text`` holds a run of escapes long enough to spell a secret whose letters are escaped too."""
    if text.count("%") + text.count("&#") + text.count("\\u") < _ENCODED_RUN_LENGTH:
        return False
    return _ENCODED_RUN.search(text) is not None


@lru_cache(maxsize=1024)
def _longest_word(secret: str) -> str:
    """The secret's longest run of letters and digits, lower-cased ("" when it has none: always looked for)."""
    return max(_WORD.findall(secret.lower()), key=len, default="")


class _Decoded:
    """``text`` with its escapes decoded, lower-cased, and a map back: piece i starts at ``plain[i]`` in the
    decoded text and at ``source[i]`` in ``text``; an escape's piece maps whole (``escaped[i]``)."""

    def __init__(self, text: str) -> None:
        pieces: list[str] = []
        self.plain: list[int] = []  # where each piece starts in the decoded text
        self.source: list[int] = []  # and in the text
        self.ends: list[int] = []  # where it ends in the text
        self.escaped: list[bool] = []  # an escape maps whole
        at = 0
        for match in _ESCAPE.finditer(text):
            if match.start() > at:
                self._piece(pieces, text[at : match.start()], at, match.start(), escaped=False)
            self._piece(pieces, _unescaped(match.group()), match.start(), match.end(), escaped=True)
            at = match.end()
        if at < len(text):
            self._piece(pieces, text[at:], at, len(text), escaped=False)
        decoded = "".join(pieces)
        lowered = decoded.lower()
        self.text = lowered if len(lowered) == len(decoded) else decoded  # a rare lower() that changes lengths

    def _piece(self, pieces: list[str], plain: str, start: int, end: int, escaped: bool) -> None:
        self.plain.append(sum(map(len, pieces[-1:])) + (self.plain[-1] if self.plain else 0))
        self.source.append(start)
        self.ends.append(end)
        self.escaped.append(escaped)
        pieces.append(plain)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Where decoded characters [start, end) came from in the text."""
        first, last = bisect_right(self.plain, start) - 1, bisect_right(self.plain, end - 1) - 1
        begin = self.source[first] + (0 if self.escaped[first] else start - self.plain[first])
        finish = self.ends[last] if self.escaped[last] else self.source[last] + end - self.plain[last]
        return begin, finish


def _unescaped(escape: str) -> str:
    if escape.startswith("%"):
        return unquote(escape)
    if escape.startswith("&"):
        return html.unescape(escape)
    if len(escape) == 12 or (len(escape) == 6 and not 0xD800 <= int(escape[2:], 16) < 0xE000):
        return str(json.loads(f'"{escape}"'))  # a JSON \uXXXX (a pair of them: one character beyond the BMP)
    return escape if len(escape) == 6 else escape[1:]  # a lone surrogate stays as written


def _plain_spans(text: str, secrets: list[str]) -> list[tuple[int, int]]:
    decoded = _Decoded(text)
    spans = []
    for secret in secrets:
        for form in {secret.lower(), secret.lower().replace(" ", "+")}:  # + for a space, as forms encode it
            at = decoded.text.find(form)
            while at >= 0:
                spans.append(decoded.span(at, at + len(form)))
                at = decoded.text.find(form, at + 1)
    return spans


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]+=*")
SHORTEST_BASE64 = 8  # a secret's stable base64 shorter than this would mask unrelated runs


def _base64_spans(text: str, secrets: list[str]) -> list[tuple[int, int]]:
    """Runs of base64 holding a secret's encoding at any of the three alignments (standard or URL-safe)."""
    middles = {middle for secret in secrets for middle in _base64_middles(secret)}
    if not middles or not any(middle in text for middle in middles):
        return []
    return [run.span() for run in _BASE64_RUN.finditer(text) if any(m in run.group() for m in middles)]


@lru_cache(maxsize=1024)
def _base64_middles(secret: str) -> frozenset[str]:
    """The part of base64 that is the same wherever ``secret`` starts: after the group the bytes before it
    share, before the group the bytes after it share."""
    data, found = secret.encode("utf-8"), set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        middle = encoded[4 if shift else 0 : (shift + len(data)) // 3 * 4]
        if len(middle) >= SHORTEST_BASE64:
            found |= {middle, middle.translate(_URL_SAFE)}
    return frozenset(found)


_URL_SAFE = str.maketrans("+/", "-_")


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span (merged where they overlap) replaced by MASK."""
    out, at = [], 0
    for start, end in sorted(spans):
        if end <= at:
            continue
        out += [text[at:start] if start > at else "", MASK]
        at = max(at, end)
    return "".join(out) + text[at:]
