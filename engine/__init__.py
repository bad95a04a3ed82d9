"""loadrec's engine: job spec, targets, stop monitor, metrics, orchestration, results and CLI."""
