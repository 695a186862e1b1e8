"""Tortoise models and migrations."""

from models.enums import (
    Channel,
    ClosedReplyPolicy,
    MessageAuthor,
    ReportStatus,
    Role,
    StageKind,
    TransitionSource,
)
from models.report import Report
from models.stage import Stage, StageCounter
from models.ticket import Message, StageTransition, Ticket
from models.workspace import ApiKey, Workspace

__all__ = [
    "ApiKey",
    "Channel",
    "ClosedReplyPolicy",
    "Message",
    "MessageAuthor",
    "Report",
    "ReportStatus",
    "Role",
    "Stage",
    "StageCounter",
    "StageKind",
    "StageTransition",
    "Ticket",
    "TransitionSource",
    "Workspace",
]
