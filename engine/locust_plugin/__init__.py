"""loadrec inside a Locust process: options, the job's user and shape, the Recommender tab, the login.

- ``plugin``: registered on Locust's events when imported; one test session per process
- ``recommender_tab``: the Recommender tab and ``GET /loadrec/status``
- ``web_login``: the web UI's login from LOADREC_WEB_USERNAME and LOADREC_WEB_PASSWORD
- ``locustfile``: what ``locust -f`` loads (``loadrec locustfile`` prints its path)

Import the shapes from the plugin in a locustfile of your own: ``from loadrec.engine.locust_plugin.plugin
import StairsShape``; the plugin then hands them the job named by ``--job``.

Importing the package imports none of its modules (some are process entry points, which
let gevent patch the standard library before anything else): import the module you need.
"""

__all__ = ["locustfile", "plugin", "recommender_tab", "web_login"]
