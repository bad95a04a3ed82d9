"""Sample payloads: where they come from (S3 archive or prefix, local directory or archive), how users pick them."""
