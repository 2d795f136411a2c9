"""What other apps call when data changes, so that alerts are evaluated.

Both start a task once the caller's transaction commits (capsite.jobs.enqueue):
the task then sees the committed rows, and a rolled-back write starts nothing.
"""

from __future__ import annotations

from capsite.jobs import enqueue


def ledger_changed(portfolio_id: int) -> None:
    """A portfolio's ledger, target mix or tolerance changed: evaluate its alerts."""
    from alerts import tasks  # the task module loads the evaluation and its models

    enqueue(tasks.evaluate_portfolio, portfolio_id)


def market_changed() -> None:
    """Market data changed (refresh, import): evaluate every portfolio's alerts."""
    from alerts import tasks

    enqueue(tasks.evaluate_all)
