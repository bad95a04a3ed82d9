"""Access: who may use a loadrec server and what of a secret may ever leave a process.

- ``login``: the login's environment names, the credentials check, the throttle on wrong guesses, loopback
- ``web_user``: the one user of a web login (Flask-Login's), for the web UI and stock Locust's
- ``redaction``: secrets masked in every text loadrec writes (headers, ``env:`` values, their encodings)

Below every front end: the CLI, the web UI, the API, the Locust plugin and the Command
provisioner share these, so none of them reaches into another's room.
"""

__all__ = ["login", "redaction", "web_user"]
