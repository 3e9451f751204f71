"""The request and response headers the service honours, declared once and written into the
OpenAPI description, so a generated client gets them as typed keyword arguments.

* `Idempotency-Key` on every POST (`app/idempotency.py`: the `idempotency` dependency on
  every guarded router, claimed by `require_roles`).
* `If-Match` on the operations that lock a versioned row for a change (`load_scoped(...,
  for_update=True)` and the authority's and procedure's own checks): `IF_MATCH` names them
  and whose `ETag` the header is compared with.
* `ETag` on the responses that carry one (`with_etag`, the documents' bytes): `ETAG`.

tests/api/test_contract_headers.py holds these tables to what the service does."""

from __future__ import annotations

from typing import Any

from app.etag import MAX_IF_MATCH

# operationId -> whose ETag `If-Match` is compared with.
IF_MATCH: dict[str, str] = {
    "authorities-update_authority": "the authority's",
    "procedures-adopt_procedure": "the procedure's (its latest version number, from GET …/procedure)",
    "conferences-start_conference": "the conference's",
    "conferences-record_dissent_invitation": "the conference's",
    "conferences-record_appeal_rights_explained": "the conference's",
    "conferences-record_participants_advised": "the conference's",
    "conferences-end_conference": "the conference's",
    "conferences-record_decision": "the conference's",
    "conferences-record_attendee": "the conference's",
    "conferences-cancel_conference": "the conference's",
    "conferences-raise_dissent": "the conference's",
    "attachments-add_attachment": "the conference's",
    "dissents-resolve_dissent": "the dissent's",
    "dissents-withdraw_dissent": "the dissent's",
    "dissents-submit_written": "the dissent's",
    "dissents-refer_dissent": "the dissent's",
    "dissents-record_review_meeting": "the dissent's",
    "dissents-decide_dissent": "the dissent's",
    "dissents-record_family_informed": "the dissent's",
    "appeals-respond_to_appeal": "the appeal's",
    "webhooks-update_webhook": "the subscription's",
    "webhooks-delete_webhook": "the subscription's",
}

# operationId -> the status whose response carries `ETag`, and what it is.
_VERSION = "The resource's `version` as a strong entity tag; send it back as `If-Match`."
ETAG: dict[str, tuple[str, str]] = {
    "authorities-create_authority": ("201", _VERSION),
    "authorities-get_authority": ("200", _VERSION),
    "authorities-update_authority": ("200", _VERSION),
    "procedures-get_procedure": ("200", "The latest version adopted; send it as `If-Match` to adopt."),
    "procedures-list_procedure_versions": ("200", "The latest version adopted."),
    "procedures-adopt_procedure": ("201", "The version just adopted."),
    "children-create_child": ("201", _VERSION),
    "children-get_child": ("200", _VERSION),
    "conferences-create_conference": ("201", _VERSION),
    "conferences-get_conference": ("200", _VERSION),
    "conferences-start_conference": ("200", _VERSION),
    "conferences-record_dissent_invitation": ("200", _VERSION),
    "conferences-record_appeal_rights_explained": ("200", _VERSION),
    "conferences-record_participants_advised": ("200", _VERSION),
    "conferences-end_conference": ("200", _VERSION),
    "conferences-record_decision": ("200", _VERSION),
    "conferences-cancel_conference": ("200", _VERSION),
    "conferences-raise_dissent": ("201", "The new dissent's `version`."),
    "dissents-get_dissent": ("200", _VERSION),
    "dissents-resolve_dissent": ("200", _VERSION),
    "dissents-withdraw_dissent": ("200", _VERSION),
    "dissents-submit_written": ("200", _VERSION),
    "dissents-refer_dissent": ("200", _VERSION),
    "dissents-record_review_meeting": ("200", _VERSION),
    "dissents-decide_dissent": ("200", _VERSION),
    "dissents-record_family_informed": ("200", _VERSION),
    "appeals-lodge_appeal": ("201", _VERSION),
    "appeals-get_appeal": ("200", _VERSION),
    "appeals-respond_to_appeal": ("200", _VERSION),
    "webhooks-create_webhook": ("201", _VERSION),
    "webhooks-get_webhook": ("200", _VERSION),
    "webhooks-update_webhook": ("200", _VERSION),
    "documents-get_document": (
        "200",
        "For `application/pdf` and `text/html`: the SHA-256 of the bytes, which never change "
        "(absent on the JSON record).",
    ),
}
# Sent on every answer of these, whatever the representation.
_ETAG_ALWAYS = set(ETAG) - {"documents-get_document"}

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes the POST safe to retry: the same key with the same body within 24 hours "
        "replays the first successful answer (with `Idempotent-Replayed: true`) and changes "
        "nothing. The same key with another body answers 422 `idempotency_key_reused`; while "
        "the first request is still being processed, 409 `idempotency_key_in_progress`. "
        "A refused request does not use up its key. Keys are per caller."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
}
_REPLAYED_HEADER: dict[str, Any] = {
    "description": "`true` when this is the stored answer to an earlier request with this Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}
_POST_ERRORS = {
    "409": "; or `idempotency_key_in_progress`: a request with this Idempotency-Key is still being processed",
    "422": "; or `idempotency_key_reused`: this Idempotency-Key was used with a different request",
}


def _if_match_parameter(whose: str) -> dict[str, Any]:
    return {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": (
            f"Change only if {whose} current ETag is one of these (or `*`); otherwise 412 "
            "and nothing changes. Without it the change is unconditional."
        ),
        "schema": {"type": "string", "maxLength": MAX_IF_MATCH},
    }


def declare_headers(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the tables above into the operations; 412 stays only where If-Match can cause it."""
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            op_id = operation.get("operationId")
            responses: dict[str, Any] = operation.get("responses", {})
            parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
            if method == "post":
                parameters.append(dict(IDEMPOTENCY_KEY_PARAMETER))
                for status, extra in _POST_ERRORS.items():
                    if status in responses:
                        responses[status] = {
                            **responses[status],
                            "description": responses[status]["description"] + extra,
                        }
                for status, response in responses.items():
                    if status.startswith("2"):
                        response.setdefault("headers", {})["Idempotent-Replayed"] = dict(_REPLAYED_HEADER)
            if op_id in IF_MATCH:
                parameters.append(_if_match_parameter(IF_MATCH[op_id]))
            else:
                responses.pop("412", None)
            if op_id in ETAG:
                status, description = ETAG[op_id]
                responses[status].setdefault("headers", {})["ETag"] = {
                    "description": description,
                    "required": op_id in _ETAG_ALWAYS,
                    "schema": {"type": "string"},
                }
            if not parameters:
                del operation["parameters"]
    return spec
