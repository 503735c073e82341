"""Partner sync operations used by the views besides ingest and the feed."""

from __future__ import annotations

import logging
from pathlib import Path

from portal import uploads
from portal.dossiers.models import Attachment
from portal.errors import NotFound
from portal.extensions import db

log = logging.getLogger(__name__)


def open_linked_file(attachment_id: int) -> tuple[Path, str, str]:
    """(path, download name, content type) of the attachment a valid signed link names.

    :raises NotFound: the attachment (or its file) is gone.
    """
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("this file no longer exists")
    path = uploads.path_for(attachment.stored_name)
    if not path.is_file():
        log.error("an attachment's file is missing", extra={"attachment_id": attachment.id})
        raise NotFound("this file no longer exists")
    return path, attachment.original_name, attachment.content_type
