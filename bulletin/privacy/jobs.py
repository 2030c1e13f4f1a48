"""The worker's daily retention job."""

from __future__ import annotations

import logging

from ..extensions import db
from .retention import Policy, purge

log = logging.getLogger(__name__)

#: Once a day; the purge is idempotent, so a worker restart running it early does no harm.
PURGE_INTERVAL_SECONDS = 86400


def purge_expired(worker) -> None:
    """Apply the retention policy and commit."""
    report = purge(Policy.from_config(worker.app.config))
    db.session.commit()
    log.info("retention purge: %s", report.as_dict())
