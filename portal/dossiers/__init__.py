"""Dossiers: drafts, filing, following a dossier, citizens' actions and status changes.

The service layer is ``service`` (writes) and ``queries`` (reads); background jobs are in
``tasks``, imported here so that every process that loads the models (web, RQ worker)
knows the jobs by name.
"""

from portal.dossiers import tasks  # noqa: F401 - registers the dossiers.* jobs
