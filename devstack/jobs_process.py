"""The local stack's jobs in a process of their own (``devstack/processes.py`` says why): the
worker feeding queued jobs to the app's SQS handlers and the scheduler calling its scheduled
ones (``devstack/jobs.py``), as Lambda runs them apart from the API's instances.

``start()`` runs ``python -m devstack.jobs_process`` with the stack's environment, which by then
names the queues (``ISSUE_QUEUE_URL``, ``SMS_QUEUE_URL``), moto and DynamoDB Local; the child
imports the app as the stack does and handles jobs until stopped. It does not wait for the child
to be ready: the queues hold the jobs meanwhile.
"""

from __future__ import annotations

import os
import sys

from devstack.processes import Child, run_until_stopped, spawn


def start() -> Child:
    return spawn("devstack.jobs_process")


def main() -> int:
    from devstack.jobs import QUEUES, start_jobs
    from devstack.processes import configure_logging
    from devstack.request_stats import from_environment

    configure_logging()
    from devstack import clock

    clock.use_environment()  # the stack's clock (it passed LOCAL_CLOCK_OFFSET on)
    stats = from_environment(".jobs")  # $STACK_STATS: benchmarks only
    from chalicelib import bootstrap
    from chalicelib.config import load_settings

    deps = bootstrap.Deps(settings=load_settings())
    bootstrap.use(deps)
    import app as application

    urls = {handler: os.environ[env_name] for _, handler, env_name in QUEUES}
    stoppers = start_jobs(application.app, deps._client("sqs"), urls)

    def stop() -> None:
        for stopper in stoppers:
            stopper()
        if stats is not None:
            stats.stop()

    run_until_stopped(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
