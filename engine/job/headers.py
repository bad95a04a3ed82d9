"""What may go into an HTTP request line or header, checked before any load is sent.

A value that passes the job's JSON schema can still break every request it goes into
(a header value with CR/LF, a name with ``:``, a character outside Latin-1, a URL with
credentials in it): the HTTP client then raises on each request, with a traceback,
while other targets keep getting load. These checks run at validation (job values) and
when ``env:`` values are resolved, and answer with one sentence or None.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

# RFC 9110 §5.1: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# RFC 9110 §5.5: visible ASCII, space and tab, and obs-text; C1 controls (0x80-0x9F) refused too.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\xa0-\xff]*")
_AUTHORITY_START = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*:)?//")
REGION = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
REGION_MEANING = "an AWS region name (lowercase letters, digits and hyphens, like us-east-1)"
MAX_REGION_LENGTH = 64
# Headers that say how the message is framed or the connection kept: the HTTP client sets them per request.
FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "expect"}
)
# Request headers whose values are secrets whatever their origin: never shown, masked wherever echoed.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-amz-security-token", "x-api-key", "api-key", "cookie"}
)


def header_name_problem(name: str) -> str | None:
    if not name:
        return "is empty; a header needs a name"
    if not _TOKEN.fullmatch(name):
        return "is not a header name (letters, digits and !#$%&'*+-.^_`|~ only; no spaces, ':' or line breaks)"
    if name.lower() in FRAMING_HEADERS:
        return "frames the request and is set by loadrec for each one (a value here would break every request)"
    return None


def header_value_problem(value: str) -> str | None:
    """None when ``value`` can be sent as it is in a header."""
    if "\r" in value or "\n" in value:
        return "holds a line break (CR or LF), which would split the request"
    if not _FIELD_VALUE.fullmatch(value):
        return "holds control characters or characters outside Latin-1, which a header cannot carry"
    return None


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def host_problem(text: str, wildcard: bool = False) -> str | None:
    """None when ``text`` is an address to listen on or connect to: an IPv4 or IPv6 address, or a host name
    of ASCII letters, digits and hyphens (``*``, every address, when ``wildcard``)."""
    if wildcard and text == "*":
        return None
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        pass
    if 0 < len(text) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in text.removesuffix(".").split(".")):
        return None
    return "is not an IP address or a host name (letters, digits, hyphens and dots)"


def content_type_problem(value: str) -> str | None:
    """A media type sent as Content-Type: a header value without format (bidi) characters."""
    if any(unicodedata.category(c) in ("Cc", "Cf") and c != "\t" for c in value):
        return "holds control or bidirectional-format characters, which a Content-Type cannot carry"
    return header_value_problem(value)


def region_problem(value: str) -> str | None:
    if len(value) > MAX_REGION_LENGTH or not REGION.fullmatch(value):
        return f"is not {REGION_MEANING}"
    return None


def url_problem(value: str) -> str | None:
    """None for an http(s) URL with a host, a port in range if it names one, and no credentials."""
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # "http://[::1/x", a port of 99999 or "abc"
        return "is not an http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        return "is not an http(s) URL"
    if parts.username is not None or parts.password is not None:
        return 'carries credentials ("user:password@"); send them in a header whose value is "env:VARIABLE"'
    if not all("!" <= c <= "~" for c in value):
        return "holds spaces, control characters or non-ASCII characters (percent-encode them)"
    return None


def authority(host: str, port: int) -> str:
    """``host:port`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def shown_url(url: str) -> str:
    """``url`` as any output may show it: credentials before ``@`` masked, each query value (an API key is
    often one: ``?key=…``) and the fragment replaced by ``…``, the query's names kept."""
    shown = without_credentials(url)
    base, query = shown.split("#", 1)[0], ""
    if "?" in base:
        base, query = base.split("?", 1)
    fields = [name.split("=", 1)[0] + "=…" if "=" in name else "…" for name in query.split("&")] if query else []
    masked = base + ("?" + "&".join(fields) if fields else "")
    return masked + ("#…" if "#" in shown else "")


def without_credentials(url: str) -> str:
    """``url`` with whatever precedes the last ``@`` of its authority masked (``***@``), so it can be
    shown: any scheme, a scheme-relative ``//user:pw@host``, even a password holding ``/``."""
    head = url.split("?", 1)[0].split("#", 1)[0]
    if "@" not in head:
        return url
    start = match.end() if (match := _AUTHORITY_START.match(url)) else 0
    return f"{url[:start]}***{url[head.rindex('@') :]}"
