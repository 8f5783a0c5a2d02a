import pytest

from modelserve.generation.backends import BackendConfigError, SamplingParams, backend_get
from modelserve.generation.backends.base import with_system_prompt


def test_sampling_params_from_mapping_reads_known_keys():
    params = SamplingParams.from_mapping(
        {"temperature": "0.5", "top_p": 0.8, "max_new_tokens": 12, "seed": 3, "stop": "###"}
    )
    assert params.temperature == 0.5
    assert params.max_new_tokens == 12
    assert params.seed == 3
    assert params.stop == ("###",)


@pytest.mark.parametrize(
    "raw",
    [
        {"temprature": 1},
        {"temperature": -1},
        {"top_p": 0},
        {"max_new_tokens": 0},
        {"temperature": "hot"},
    ],
)
def test_sampling_params_refuse_bad_config(raw):
    with pytest.raises(BackendConfigError):
        SamplingParams.from_mapping(raw)


def test_system_prompt_prepended_only_when_missing():
    history = with_system_prompt([{"role": "user", "content": "hi"}], "Be brief.")
    assert history[0] == {"role": "system", "content": "Be brief."}
    own = [{"role": "system", "content": "mine"}, {"role": "user", "content": "hi"}]
    assert with_system_prompt(own, "Be brief.")[0]["content"] == "mine"


def test_unknown_backend_is_a_config_error():
    with pytest.raises(BackendConfigError, match="unknown backend"):
        backend_get(backend="nope", model="x")
