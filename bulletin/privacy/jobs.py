"""The worker's daily retention job."""

from __future__ import annotations

import logging

from bulletin.extensions import db
from bulletin.privacy.retention import Policy, purge

log = logging.getLogger(__name__)

#: Once a day; the purge is idempotent, so a worker restart running it early does no harm.
PURGE_INTERVAL_SECONDS = 86400


def purge_expired(worker) -> None:
    """Apply the retention policy and commit."""
    report = purge(Policy.from_config(worker.app.config))
    db.session.commit()
    log.info("retention purge: %s", report.as_dict())


#: Expiry of import jobs: cheap, and often enough that a stopped worker's job fails soon.
EXPIRE_IMPORTS_SECONDS = 300


def run_import_jobs(worker) -> None:
    """Run the queued CSV imports uploaded through the web, one claimed job at a time."""
    from bulletin.privacy.imports import claim_import_job, run_import_job

    while (job_id := claim_import_job(worker.name)) is not None:
        job = run_import_job(job_id)
        log.info("import job %s %s", job_id, job.status)


def expire_imports(worker) -> None:
    """Fail imports that will never finish; delete old jobs and stray uploads."""
    from bulletin.privacy.imports import expire_import_jobs

    expired = expire_import_jobs(worker.app.config["IMPORT_RETENTION_HOURS"])
    if expired:
        log.info("import jobs expired or removed: %d", expired)
