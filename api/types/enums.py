from __future__ import annotations

import strawberry

from desk.errors import ErrorCode as _ErrorCode
from models import enums

Channel = strawberry.enum(enums.Channel)
StageKind = strawberry.enum(enums.StageKind)
Role = strawberry.enum(enums.Role)
MessageAuthor = strawberry.enum(enums.MessageAuthor)
ClosedReplyPolicy = strawberry.enum(enums.ClosedReplyPolicy)
TransitionSource = strawberry.enum(enums.TransitionSource)
ReportStatus = strawberry.enum(enums.ReportStatus)
ErrorCode = strawberry.enum(_ErrorCode)
