"""obrolan's own business API under /api/v1/businesses (F10): parse, call, shape.

The Cloud-API-shaped surface for a business's systems is `cloud_api.py`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.business.schemas import (
    AddNumber,
    BusinessesOut,
    BusinessOut,
    CreateBusiness,
    CreateToken,
    MemberOut,
    MembersOut,
    NewTokenOut,
    NumberOut,
    NumbersOut,
    PutMember,
    SetRelay,
    TokenOut,
    TokensOut,
    UpdateBusiness,
)

router = APIRouter(prefix="/businesses", tags=["businesses"])
BusinessId = Annotated[str, Path(max_length=26)]
ItemId = Annotated[str, Path(max_length=26)]


@router.post("", status_code=201)
async def create_business(
    body: CreateBusiness, principal: PrincipalDep, services: ServicesDep
) -> BusinessOut:
    """A new business account; the caller is its owner."""
    row = await services.business.create(principal, body.model_dump(exclude_none=True))
    return BusinessOut.of(row, role=None)


@router.get("")
async def my_businesses(principal: PrincipalDep, services: ServicesDep) -> BusinessesOut:
    """The businesses the caller is a member of, with the caller's role."""
    found = await services.business.mine(principal)
    return BusinessesOut(businesses=[BusinessOut.of(row, role) for row, role in found])


@router.get("/{business_id}")
async def get_business(
    business_id: BusinessId, principal: PrincipalDep, services: ServicesDep
) -> BusinessOut:
    role = await services.business.role(principal, business_id)
    return BusinessOut.of(await services.business.get(business_id), role)


@router.patch("/{business_id}")
async def update_business(
    business_id: BusinessId, body: UpdateBusiness, principal: PrincipalDep, services: ServicesDep
) -> BusinessOut:
    """Change the profile (owner and admins); absent fields stay, null clears."""
    await services.business.require_manager(principal, business_id)
    values = body.model_dump(exclude_unset=True)
    if values.get("name", "") is None:
        values.pop("name")
    row = await services.business.update_profile(business_id, values)
    return BusinessOut.of(row, await services.business.role(principal, business_id))


@router.get("/{business_id}/members")
async def members(
    business_id: BusinessId, principal: PrincipalDep, services: ServicesDep
) -> MembersOut:
    found = await services.business.members(principal, business_id)
    return MembersOut(members=[MemberOut(user_id=u, role=r) for u, r in found])


@router.put("/{business_id}/members/{user_id}", status_code=204)
async def put_member(
    business_id: BusinessId,
    user_id: ItemId,
    body: PutMember,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    """Add a member or change their role (the owner only; admin or agent)."""
    await services.business.put_member(principal, business_id, user_id, body.role)
    return Response(status_code=204)


@router.delete("/{business_id}/members/{user_id}", status_code=204)
async def remove_member(
    business_id: BusinessId, user_id: ItemId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.business.remove_member(principal, business_id, user_id)
    return Response(status_code=204)


@router.post("/{business_id}/numbers", status_code=201)
async def add_number(
    business_id: BusinessId, body: AddNumber, principal: PrincipalDep, services: ServicesDep
) -> NumberOut:
    """A sender number: its id is the Cloud API's phone_number_id."""
    row = await services.business.add_number(principal, business_id, body.phone, body.verified_name)
    return NumberOut.of(row)


@router.get("/{business_id}/numbers")
async def numbers(
    business_id: BusinessId, principal: PrincipalDep, services: ServicesDep
) -> NumbersOut:
    rows = await services.business.numbers(principal, business_id)
    return NumbersOut(numbers=[NumberOut.of(r) for r in rows])


@router.put("/{business_id}/numbers/{number_id}/relay")
async def set_relay(
    business_id: BusinessId,
    number_id: ItemId,
    body: SetRelay,
    principal: PrincipalDep,
    services: ServicesDep,
) -> NumberOut:
    """Relay sends to numbers nobody here has verified to an upstream Cloud API; both
    fields null turn it off."""
    base_url = str(body.base_url).rstrip("/") if body.base_url else None
    row = await services.business.set_relay(principal, business_id, number_id, base_url, body.token)
    return NumberOut.of(row)


@router.post("/{business_id}/tokens", status_code=201)
async def create_token(
    business_id: BusinessId, body: CreateToken, principal: PrincipalDep, services: ServicesDep
) -> NewTokenOut:
    """A system access token for the Cloud API surface, shown once."""
    made = await services.business.create_token(principal, business_id, body.name)
    return NewTokenOut(**TokenOut.of(made.token).model_dump(), token=made.secret)


@router.get("/{business_id}/tokens")
async def tokens(
    business_id: BusinessId, principal: PrincipalDep, services: ServicesDep
) -> TokensOut:
    rows = await services.business.tokens(principal, business_id)
    return TokensOut(tokens=[TokenOut.of(r) for r in rows])


@router.delete("/{business_id}/tokens/{token_id}", status_code=204)
async def revoke_token(
    business_id: BusinessId, token_id: ItemId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.business.revoke_token(principal, business_id, token_id)
    return Response(status_code=204)
