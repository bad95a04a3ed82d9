"""What a token is, for prompts: the user's tokenizer when it names one, else a word.

A ``Counter`` splits text into units and joins units back into text; synthetic prompts
are cut from the corpus in its units and every prompt's input tokens are its count. With
``Loadrec.Prompts.Tokenizer`` the units are the model's own tokens, read from a local
Hugging Face ``tokenizer.json`` with the ``tokenizers`` library (the one the model
servers use; nothing is downloaded: a missing file is an error). Without one they are
whitespace-separated words, and results say the counts are words (English runs about
1.3 tokens a word in common tokenizers).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from loadrec.payloads.prompts.spec import WORDS
from loadrec.payloads.source import PayloadError

# A tokenizer.json of the largest vocabularies is about 20 MB; a file far past that is no tokenizer.
MAX_TOKENIZER_BYTES = 64 * 1024 * 1024


class Counter(Protocol):
    @property
    def name(self) -> str:
        """How results name this counting: ``tokenizer <file name>`` or ``words``."""
        ...

    def units(self, text: str) -> Sequence[Any]: ...

    def join(self, units: Sequence[Any]) -> str: ...


class WordCounter:
    name = WORDS

    def units(self, text: str) -> Sequence[Any]:
        return text.split()

    def join(self, units: Sequence[Any]) -> str:
        return " ".join(units)


class TokenizerCounter:
    """A Hugging Face tokenizer's tokens, without the special tokens a template adds."""

    def __init__(self, tokenizer: Any, file_name: str) -> None:
        self._tokenizer = tokenizer
        self.name = f"tokenizer {file_name}"

    def units(self, text: str) -> Sequence[Any]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def join(self, units: Sequence[Any]) -> str:
        return self._tokenizer.decode(list(units), skip_special_tokens=False)


def open_counter(tokenizer: str | None, base_dir: Path, where: str) -> Counter:
    """The counter ``Loadrec.Prompts.Tokenizer`` names (a path from ``base_dir``), or words; PayloadError else."""
    if tokenizer is None:
        return WordCounter()
    path = base_dir / tokenizer
    try:
        size = path.stat().st_size
    except OSError as error:
        raise PayloadError(where, f"{tokenizer!r} cannot be read ({error.strerror or error}); give a local "
                           "tokenizer.json (nothing is downloaded)") from None  # fmt: skip
    if not path.is_file() or size > MAX_TOKENIZER_BYTES:
        raise PayloadError(where, f"{tokenizer!r} is not a file of at most {MAX_TOKENIZER_BYTES // 2**20} MiB")
    try:
        from tokenizers import Tokenizer  # loaded here: a job without a tokenizer never needs it
    except ImportError:
        raise PayloadError(where, "counting with a tokenizer needs the tokenizers package: "
                           "pip install 'loadrec[tokenizer]'") from None  # fmt: skip
    try:
        return TokenizerCounter(Tokenizer.from_str(path.read_text(encoding="utf-8")), path.name)
    except Exception as error:  # a read, a decode, or tokenizers' own parse (it raises plain Exception)
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise PayloadError(where, f"{tokenizer!r} is not a Hugging Face tokenizer.json ({reason})") from None
