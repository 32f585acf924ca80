import pytest

from schemas.params import ParamsError, UnknownJobTypeError, job_types, validate_params


def test_valid_system_check_passes_with_defaults_and_kebab_name():
    params = validate_params("system-check", {"matmul_size": 128})
    assert params.matmul_size == 128
    assert params.device == "auto"


@pytest.mark.parametrize("payload, field, needle", [
    ({"matmul_size": "big"}, "matmul_size", "integer in [64, 16384]"),
    ({"matmul_size": 10}, "matmul_size", "integer in [64, 16384]"),
    ({"matmul_size": 10**9}, "matmul_size", "integer in [64, 16384]"),
    ({"device": "tpu"}, "device", "one of auto, cuda, cpu"),
    ({"colour": "red"}, "colour", "known fields:"),
    ({"log_duration_s": -1}, "log_duration_s", "number in [0.0, 3600.0]"),
])
def test_bad_input_names_the_field_and_the_allowed_range(payload, field, needle):
    with pytest.raises(ParamsError) as info:
        validate_params("system_check", payload)
    problems = {p.field: p for p in info.value.problems}
    assert field in problems, info.value.describe()
    assert needle in problems[field].allowed
    assert field in str(info.value)


def test_unknown_field_is_refused_not_ignored():
    with pytest.raises(ParamsError) as info:
        validate_params("system_check", {"matmul_sise": 128})
    assert info.value.problems[0].message == "unknown field"


def test_non_object_body_is_refused():
    with pytest.raises(ParamsError):
        validate_params("system_check", ["not", "an", "object"])


def test_every_registered_job_type_accepts_its_defaults_or_names_required_fields():
    for job_type in job_types():
        try:
            validate_params(job_type, {})
        except ParamsError as exc:
            assert all(p.message == "field required" for p in exc.problems), exc.describe()


def test_unknown_job_type_lists_known_ones():
    with pytest.raises(UnknownJobTypeError) as info:
        validate_params("train_dragon", {})
    assert "system_check" in str(info.value)
