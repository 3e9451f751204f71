"""Local procedures as data: a definition names a built-in profile (`extends`) and overrides
what differs. These rules merge it into its base, validate the result with the profiles'
own schema (each problem with the JSON pointer of the field), check it for sense and show
the difference between two definitions. Pure: no database, no HTTP."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from app.errors import RuleViolation
from app.profiles.schema import DeadlineRule, Profile

# Fields of a definition that are about the definition, not the procedure.
WRAPPER_FIELDS = ("extends", "effective_from", "code")
CODE_PATTERN = re.compile(r"^[a-z0-9-]{3,60}$")
MIN_DAYS, MAX_DAYS = 1, 365
# Decision outcomes that keep a plan running: the categories they name are in use.
OPEN_OUTCOMES = ("register", "continue")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, where it is (a JSON pointer into the merged
    procedure) and a stable code."""

    pointer: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Change:
    """One difference between two definitions: at `pointer`, `before` became `after`
    (None on the side where the field is absent)."""

    pointer: str
    op: str  # add | remove | replace
    before: Any
    after: Any

    def describe(self) -> str:
        if self.op == "add":
            return f"{self.pointer}: added {_show(self.after)}"
        if self.op == "remove":
            return f"{self.pointer}: removed (was {_show(self.before)})"
        return f"{self.pointer}: {_show(self.before)} -> {_show(self.after)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "op": self.op,
            "before": self.before,
            "after": self.after,
            "summary": self.describe(),
        }


def _show(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, dict) and "code" in v for v in value):
        return "[" + ", ".join(str(v["code"]) for v in value) + "]"
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= 120 else text[:117] + "..."
    return repr(value)


# ---- merge and diff --------------------------------------------------------------------------


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`overrides` laid over `base`: an object merges key by key, a list or a value replaces.
    The wrapper fields (`extends`, `effective_from`, `code`) are not part of the profile."""
    merged = _merge(dict(base), {k: v for k, v in overrides.items() if k not in WRAPPER_FIELDS})
    return merged


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(dict(result[key]), value)
        else:
            result[key] = value
    return result


def pointer_of(path: Collection[Any]) -> str:
    """A JSON pointer (RFC 6901) from a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """What changed from `old` to `new`, field by field; a changed list shows as a whole,
    as an override replaces it as a whole."""
    return list(_diff((), old, new))


def _diff(path: tuple[Any, ...], old: Any, new: Any) -> Iterator[Change]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in list(old) + [k for k in new if k not in old]:
            here = (*path, key)
            if key not in new:
                yield Change(pointer_of(here), "remove", old[key], None)
            elif key not in old:
                yield Change(pointer_of(here), "add", None, new[key])
            else:
                yield from _diff(here, old[key], new[key])
    elif old != new:
        yield Change(pointer_of(path), "replace", old, new)


# ---- validation ------------------------------------------------------------------------------


def check_wrapper(
    definition: Mapping[str, Any],
    *,
    builtin_codes: Collection[str],
    local_codes: Collection[str],
    today: date,
) -> tuple[str, date | None]:
    """The definition's base and start date, or a refusal. `extends` must name a built-in
    profile: a local procedure cannot extend another, so there are no chains and no cycles."""
    base = definition.get("extends")
    if not isinstance(base, str) or not base:
        raise RuleViolation(
            "the definition must name its base with extends (a built-in profile's code)",
            code="extends_required",
            errors=[Problem("/extends", "extends_required", "required").as_dict()],
        )
    if base not in builtin_codes:
        if base in local_codes:
            raise RuleViolation(
                f"extends names a local procedure ({base}); a procedure extends a built-in profile",
                code="extends_local_procedure",
                errors=[Problem("/extends", "extends_local_procedure", "not a built-in profile").as_dict()],
            )
        raise RuleViolation(
            f"extends names no known profile ({base}); see GET /v1/profiles",
            code="unknown_extends",
            errors=[Problem("/extends", "unknown_extends", "no such built-in profile").as_dict()],
        )
    raw = definition.get("effective_from")
    if raw is None:
        return base, None
    try:
        effective = date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        effective = None
    if effective is None:
        raise RuleViolation(
            "effective_from must be a date (YYYY-MM-DD)",
            code="validation_error",
            errors=[Problem("/effective_from", "invalid_value", "not a date").as_dict()],
        )
    if effective < today:
        raise RuleViolation(
            f"effective_from must be today ({today.isoformat()}) or later",
            code="effective_from_past",
            errors=[Problem("/effective_from", "effective_from_past", "in the past").as_dict()],
        )
    return base, effective


def procedure_code(
    definition: Mapping[str, Any], *, authority_code: str, builtin_codes: Collection[str]
) -> str:
    """The adopted procedure's code: the definition's own, or `<authority>-local`."""
    code = definition.get("code")
    if code is None:
        return f"{authority_code.lower()}-local"
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise RuleViolation(
            "code must be 3 to 60 lower-case letters, digits or hyphens",
            code="validation_error",
            errors=[Problem("/code", "invalid_value", "not a procedure code").as_dict()],
        )
    if code in builtin_codes:
        raise RuleViolation(
            f"code {code} is a built-in profile's; a local procedure needs its own",
            code="procedure_code_taken",
            errors=[Problem("/code", "procedure_code_taken", "a built-in profile's code").as_dict()],
        )
    return code


def schema_problems(merged: Mapping[str, Any]) -> tuple[Profile | None, list[Problem]]:
    """The merged definition as a `Profile`, or its schema problems with their pointers."""
    try:
        return Profile.model_validate(merged), []
    except ValidationError as exc:
        return None, [_problem_of(err) for err in exc.errors()]


def _problem_of(err: Any) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        code = "unknown_field"
    elif kind == "missing" and loc[-1:] == ("label",):
        code = "label_missing"
    elif kind == "missing":
        code = "missing_field"
    elif loc[-1:] in (("working_days",), ("calendar_days",)):
        code = "deadline_out_of_range"
    else:
        code = "invalid_value"
    return Problem(pointer_of(loc), code, str(err["msg"]))


def deadline_rules(profile: Profile) -> Iterator[tuple[str, DeadlineRule]]:
    """Every deadline rule of a procedure, with its pointer."""
    review = profile.dissent.review
    candidates = (
        ("/dissent/written_step/deadline", profile.dissent.written_step.deadline),
        ("/dissent/review/meeting_deadline", review.meeting_deadline),
        ("/dissent/review/response_deadline", review.response_deadline),
        ("/appeals/lodge_deadline", profile.appeals.lodge_deadline),
        ("/appeals/response_deadline", profile.appeals.response_deadline),
    )
    for pointer, rule in candidates:
        if rule is not None:
            yield pointer, rule


def check_sense(profile: Profile, used_categories: Collection[str]) -> list[Problem]:
    """What the schema allows but a procedure must not say: a deadline of no days (or more
    than a year), an outcome or decision with a blank label, a category removed while open
    cases use it."""
    problems: list[Problem] = []
    for pointer, rule in deadline_rules(profile):
        unit = "working_days" if rule.working_days is not None else "calendar_days"
        count = rule.working_days if rule.working_days is not None else rule.calendar_days
        if count is None or not MIN_DAYS <= count <= MAX_DAYS:
            problems.append(
                Problem(
                    f"{pointer}/{unit}",
                    "deadline_out_of_range",
                    f"a deadline counts {MIN_DAYS} to {MAX_DAYS} days",
                )
            )
    for base, items in (
        ("/dissent/review/outcomes", profile.dissent.review.outcomes),
        ("/appeals/outcomes", profile.appeals.outcomes),
        ("/categories", profile.categories),
        ("/meeting_types", profile.meeting_types),
    ):
        for i, item in enumerate(items):
            if not item.label.strip():
                problems.append(Problem(f"{base}/{i}/label", "label_missing", "a label is needed"))
    for outcome, label in profile.decision_outcome_labels.items():
        if not label.strip():
            problems.append(
                Problem(
                    pointer_of(("decision_outcome_labels", outcome)), "label_missing", "a label is needed"
                )
            )
    kept = {c.code for c in profile.categories}
    for code in sorted(set(used_categories) - kept):
        problems.append(
            Problem("/categories", "category_in_use", f"category {code} is used by open cases and must stay")
        )
    return problems


def resolve(
    definition: Mapping[str, Any],
    *,
    base: Mapping[str, Any],
    code: str,
    used_categories: Collection[str],
) -> Profile:
    """The merged, validated procedure, or a 422 listing every problem with its pointer."""
    merged = deep_merge(base, definition)
    merged["code"] = code
    profile, problems = schema_problems(merged)
    if profile is not None:
        problems = check_sense(profile, used_categories)
    if problems:
        raise RuleViolation(
            f"the procedure has {len(problems)} problem(s): "
            + "; ".join(f"{p.pointer or '/'} {p.detail}" for p in problems[:5]),
            code=_top_code(problems),
            errors=[p.as_dict() for p in problems],
        )
    assert profile is not None
    return profile


def _top_code(problems: list[Problem]) -> str:
    """One problem kind names the refusal; a mixture is `procedure_invalid`."""
    codes = {p.code for p in problems}
    return codes.pop() if len(codes) == 1 else "procedure_invalid"
