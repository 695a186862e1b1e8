"""Enumerations stored in the database (their values are the API's enum names)."""

from enum import StrEnum


class Channel(StrEnum):
    WHATSAPP = "WHATSAPP"
    INSTAGRAM = "INSTAGRAM"
    MESSENGER = "MESSENGER"
    EMAIL = "EMAIL"
    WEB_CHAT = "WEB_CHAT"
    SMS = "SMS"


class StageKind(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    SNOOZED = "SNOOZED"
    AUTO_CLOSED = "AUTO_CLOSED"
    INTERMEDIATE = "INTERMEDIATE"


class Role(StrEnum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    AGENT = "AGENT"
    VIEWER = "VIEWER"


class MessageAuthor(StrEnum):
    CUSTOMER = "CUSTOMER"
    AGENT = "AGENT"
    BOT = "BOT"


class ClosedReplyPolicy(StrEnum):
    BOT = "BOT"
    REOPEN = "REOPEN"
    NEW_TICKET = "NEW_TICKET"


class TransitionSource(StrEnum):
    CREATED = "CREATED"
    MANUAL = "MANUAL"
    BULK = "BULK"
    REOPEN = "REOPEN"
    SNOOZE = "SNOOZE"
    SNOOZE_WAKE = "SNOOZE_WAKE"
    CUSTOMER_REPLY = "CUSTOMER_REPLY"
    AUTO_CLOSE = "AUTO_CLOSE"
    STAGE_DELETED = "STAGE_DELETED"


class ReportStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"
