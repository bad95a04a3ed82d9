"""The job: a CreateInferenceRecommendationsJob request read, validated and typed.

- ``files``: reading the request from a JSON file or the AWS CLI's own flags
- ``validation``: botocore's model, then what it skips, then the load-test rules (every problem at once)
- ``rules``: the load-test rules no schema states (layer 3 of validation)
- ``problems``: a problem at a dotted path, and how values are echoed in one
- ``headers``: what may go into a URL or a header (checked before any load)
- ``limits``: AWS's documented limits, per limits mode, in one table
- ``extension``: the ``Loadrec`` key (targets, payloads, endpoint URLs)
- ``spec``: ``parse_job`` → the frozen ``JobSpec`` the rest of the engine reads
"""

__all__ = ["extension", "files", "headers", "limits", "problems", "rules", "spec", "validation"]
