"""Streaming answers (LLM endpoints): decoding them as they arrive, and timing their tokens.

- ``frames``: SageMaker's event stream (botocore's parser), server-sent events, JSON lines, plain text
- ``tokens``: one answer's time to first token, inter-token gaps and output tokens (pure)

Importing the package imports none of its modules.
"""

__all__ = ["frames", "tokens"]
