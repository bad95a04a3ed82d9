"""``loadrec ui``: the whole job from a web page, run and watched live.

- ``console``: the job in the web UI's process: a START runs it (a run folder each), a STOP stops it
- ``views``: what the page says, from the job and a run's results (pure)
- ``app``: the Flask app: the page, its data, START/STOP, the results files, the guards
- ``serve``: the web UI's process: listen, serve until Ctrl-C or SIGTERM, close cleanly
- ``templates/``, ``static/``: the page, its live part, the login form, and its one script

Who may log in is :mod:`loadrec.engine.access` (shared with the API and stock Locust's web UI).

Importing the package imports none of its modules.
"""

__all__ = ["app", "console", "serve", "views"]
