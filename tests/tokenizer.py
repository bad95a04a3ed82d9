"""A small byte-level BPE tokenizer trained on the bundled corpus, saved as a Hugging Face ``tokenizer.json``.

Real enough for the counts to mean something (a byte-level BPE, the kind GPT-2 and Llama
3 use; 400 tokens of vocabulary), small enough to train in a few milliseconds, and made
here so no test downloads one.

    python -m tests.tokenizer OUT.json
"""

from __future__ import annotations

import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from loadrec.payloads.prompts.synthetic import corpus


def train() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["[UNK]"], initial_alphabet=alphabet, show_progress=False
    )
    tokenizer.train_from_iterator([corpus()], trainer)
    return tokenizer


def write_tokenizer(path: Path) -> Path:
    train().save(str(path))
    return path


if __name__ == "__main__":
    write_tokenizer(Path(sys.argv[1]))
