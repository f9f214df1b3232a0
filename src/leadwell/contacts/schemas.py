"""Request and response shapes for people and organizations (API and web forms share them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from leadwell.inputs import Input

Stage = Literal["subscriber", "lead", "mql", "sql", "opportunity", "customer", "nurture", "disqualified"]
Consent = Literal["unknown", "opted_in", "opted_out"]
Text120 = Field(default=None, max_length=120)


class ContactFields(Input):
    first_name: str | None = Field(default=None, max_length=120)
    last_name: str | None = Field(default=None, max_length=120)
    emails: list[str] | None = Field(default=None, max_length=20, description="The first is primary.")
    phones: list[str] | None = Field(default=None, max_length=20, description="E.164, or with a leading +.")
    title: str | None = Field(default=None, max_length=200)
    organization_id: str | None = Field(default=None, description="Public id of an organization.")
    street: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=120)
    region: str | None = Field(default=None, max_length=120)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=2, description="ISO 3166 alpha-2.")
    timezone: str | None = Field(default=None, max_length=64, description="IANA name, e.g. Europe/Paris.")
    source: str | None = Field(default=None, max_length=120)
    consent: Consent | None = None
    stage: Stage | None = None
    owner_id: str | None = Field(default=None, description="Public id of a workspace member.")
    custom: dict[str, Any] | None = None
    tags: list[str] | None = Field(default=None, max_length=100)


class ContactCreate(ContactFields):
    """A new contact needs at least a name or an email address."""


class ContactUpdate(ContactFields):
    """Only the fields sent are changed; ``emails``/``phones`` replace the whole list."""


class OrganizationRef(BaseModel):
    id: str
    name: str


class ContactOut(BaseModel):
    id: str
    first_name: str
    last_name: str
    email: str | None
    emails: list[str]
    phones: list[str]
    title: str | None
    organization: OrganizationRef | None
    street: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    timezone: str | None
    source: str | None
    consent: Consent
    consent_at: datetime | None
    stage: Stage
    owner_id: str | None
    custom: dict[str, Any]
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class OrganizationFields(Input):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    employees_min: int | None = Field(
        default=None, ge=0, le=10_000_000, description="Lower end of a size range."
    )
    employees_max: int | None = Field(
        default=None, ge=0, le=10_000_000, description="Upper end of a size range."
    )
    industry: str | None = Field(default=None, max_length=120)
    country: str | None = Field(default=None, max_length=2)
    custom: dict[str, Any] | None = None


class OrganizationCreate(OrganizationFields):
    name: str = Field(min_length=1, max_length=300)


class OrganizationUpdate(OrganizationFields):
    pass


class OrganizationOut(BaseModel):
    id: str
    name: str
    domain: str | None
    employees: int | None
    employees_min: int | None
    employees_max: int | None
    industry: str | None
    country: str | None
    custom: dict[str, Any]
    created_at: datetime
    updated_at: datetime
