"""loadrec's engine: job spec, targets, stop monitor, metrics, orchestration, results and CLI.

Locust runs on gevent, which must patch the standard library before anything imports
ssl (botocore and urllib3 do, at import). Patching here, first thing, makes every entry
point (the CLI, a stock ``locust -f`` run, the tests) safe whatever it imports next;
Locust itself does the same when imported.
"""

from gevent import monkey

monkey.patch_all()
