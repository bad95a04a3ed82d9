"""What people read: the terminal summary and results table, and the HTML report with its charts.

- ``terminal``: a job's one-paragraph summary, its results table
- ``report``: report.html from a Jinja2 template (autoescaped), self-contained
- ``charts``: inline SVG line and scatter charts (pure functions)
"""

__all__ = ["charts", "report", "terminal"]
