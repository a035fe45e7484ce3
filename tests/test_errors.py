"""The one wording of input problems: it says what was wrong and what is accepted, in JSON terms."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from clinguide.errors import validation_problems


class Inner(BaseModel):
    a: int = 0


class Outer(BaseModel):
    inner: Inner


@pytest.mark.parametrize(("value", "kind"), [([1], "a list"), ("s", "a string"), (2, "a number"),
                                             (True, "true/false"), (None, "null")])
def test_object_expected_names_the_json_kind_given(value, kind) -> None:
    with pytest.raises(ValidationError) as exc:
        Outer.model_validate({"inner": value})
    [(field, message)] = validation_problems(exc.value)
    assert field == "inner"
    assert message == f"should be a JSON object with named fields, not {kind}"
