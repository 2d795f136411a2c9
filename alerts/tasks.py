"""Celery tasks of the alerts app, started through capsite.jobs.enqueue (alerts.hooks)."""

from __future__ import annotations

from celery import shared_task

from alerts import evaluation


@shared_task
def evaluate_portfolio(portfolio_id: int) -> int:
    """Evaluate one portfolio's alerts (a missing portfolio is a no-op).

    Returns how many alerts fired.
    """
    return len(evaluation.evaluate_portfolio(portfolio_id))


@shared_task
def evaluate_all() -> int:
    """Evaluate every portfolio's alerts after a market refresh.

    Returns how many portfolios were evaluated.
    """
    return evaluation.evaluate_all()
