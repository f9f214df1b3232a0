"""``Idempotency-Key`` on create requests: a retried POST returns the first answer, never a duplicate."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadwell.db.models import IdempotentRequest
from leadwell.errors import Conflict, InvalidInput
from leadwell.web.deps import ApiScope

MAX_KEY_LENGTH = 200


def _stored(session: Session, workspace_id: int, key: str) -> IdempotentRequest | None:
    return session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.workspace_id == workspace_id, IdempotentRequest.key == key
        )
    )


def _replay(stored: IdempotentRequest, fingerprint: str) -> JSONResponse:
    if stored.fingerprint != fingerprint:
        raise InvalidInput("Idempotency-Key: already used for a different request", field="Idempotency-Key")
    return JSONResponse(
        stored.response, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
    )


def create_once(
    request: Request,
    scope: ApiScope,
    key: str | None,
    payload: BaseModel,
    create: Callable[[Session], tuple[int, Any]],
) -> JSONResponse:
    """Run ``create`` (which returns status and JSON body) at most once per workspace and key."""
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key: 1 to {MAX_KEY_LENGTH} characters", field="Idempotency-Key")
    digest = hashlib.sha256(f"{request.method} {request.url.path} ".encode())
    digest.update(payload.model_dump_json().encode())
    fingerprint = digest.hexdigest()
    try:
        with scope.db.session() as session:
            if key is not None and (stored := _stored(session, scope.workspace_id, key)) is not None:
                return _replay(stored, fingerprint)
            status, body = create(session)
            if key is not None:
                session.add(
                    IdempotentRequest(
                        workspace_id=scope.workspace_id,
                        key=key,
                        fingerprint=fingerprint,
                        status_code=status,
                        response=body,
                    )
                )
                session.flush()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        if key is not None:
            with scope.db.session() as session:
                if (stored := _stored(session, scope.workspace_id, key)) is not None:
                    return _replay(stored, fingerprint)
        raise Conflict("body: conflicts with data stored meanwhile; retry") from None
    return JSONResponse(body, status_code=status)
