"""The reports job: generate every report waiting for a worker, once per pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desk.report_generation import process_reports

if TYPE_CHECKING:
    from api.services import Services


async def generate_reports(services: Services) -> int:
    """Reports generated this pass. On shutdown, a report in progress goes back to PENDING."""
    from worker.runner import stop_requested  # at call time: runner.JOBS imports this module

    return await process_reports(services.desk, services.settings.reports_dir, stop=stop_requested)
