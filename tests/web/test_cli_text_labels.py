"""Every command's text output (not --json) on the demo county speaks the report language:
codes from the schema's code lists and the analysis label tables appear by their labels,
no Python dict or list is printed, no road node id stands for a place, and the Chinese
output has no English words."""
from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from layers import proposals as P
from layers.schema import COMMODITIES, LAYERS
from web.cli import main
from web.i18n import catalog_gettext
from web.services.labels import CODE_TABLES

pytestmark = pytest.mark.slow


def coded_labels(lang: str) -> dict[str, str]:
    """code → label in ``lang`` for every code a person may see: schema choices, proposal
    code lists and the analysis label tables."""
    gettext = catalog_gettext(lang)
    out = {}
    choices = [c for schema in LAYERS.values() for f in schema.fields for c in f.choices]
    choices += [*COMMODITIES, *P.CATEGORIES, *P.STATUSES, *P.FUND_SOURCES, *P.FARMER_LINKS, *P.CONSTRUCTION_TYPES]
    for c in choices:
        out[c.value] = c.zh if lang == "zh" else c.en
    for table in CODE_TABLES:
        for code, msgid in table.items():
            out.setdefault(code, gettext(msgid))
    out.update({name: schema.label(lang) for name, schema in LAYERS.items()})
    return out


#: Codes a command shows on purpose: ``info`` lists each layer by the name ``--layer`` takes,
#: ``demo`` prints the demo accounts' user names (data, not codes).
SHOWN_ON_PURPOSE = {"info": set(LAYERS), "demo": {"planner", "village", "town", "sector", "approver", "admin"}}


def leaked_codes(text: str, lang: str) -> set[str]:
    """Codes standing alone in ``text`` (not part of a longer word, id or path) whose label
    in ``lang`` is another word (an English code equal to its label, e.g. ``existing``, is fine)."""
    found = set()
    for code, label in coded_labels(lang).items():
        if code.lower() == str(label).lower() or len(code) < 3:
            continue
        if lang == "en" and not re.search(r"[_|]", code):
            continue  # a plain English word (households, county) is prose in English text
        if re.search(rf"(?<![\w./-]){re.escape(code)}(?![\w./-])", text):
            found.add(code)
    return found


#: English words allowed in the Chinese output: product names and units of measure.
ZH_ALLOWED = {"HiGHS", "ruralplan"}


def english_words(text: str) -> set[str]:
    words = set(re.findall(r"(?<![\w./-])[A-Za-z][A-Za-z]{2,}(?![\w./-])", text))
    return words - ZH_ALLOWED


def commands(ws: str, tmp) -> list[list[str]]:
    rng = np.random.default_rng(3)
    np.save(tmp / "c.npy", rng.uniform(1, 60, (20, 6)))
    np.save(tmp / "w.npy", rng.uniform(1, 9, 20))
    c, w = str(tmp / "c.npy"), str(tmp / "w.npy")
    return [
        ["demo", "-w", ws],  # builds the workspace the other commands read
        ["info", "-w", ws],
        ["proposals", "-w", ws],
        ["pairings", "-w", ws],
        ["evaluate", "-w", ws, "--proposal", "1"],
        ["evaluate", "-w", ws, "--proposal", "2"],
        ["portfolio", "-w", ws, "--budget", "800"],
        ["notice", "-w", ws, "-o", str(tmp / "n.xlsx")],
        ["coverage", "-w", ws, "--facility", "cold_storage", "--minutes", "30"],
        ["od", "-w", ws, "--from", "villages", "--to", "cold_storage", "--cutoff-min", "45", "--out",
         str(tmp / "od.csv")],
        ["service-area", "-w", ws, "--facility", "cold_storage", "--minutes", "30", "--out", str(tmp / "sa.geojson")],
        ["place", "-w", ws, "--facility", "cold_storage", "--model", "mclp", "--p", "2", "--minutes", "30",
         "--weight", "produce:apple,hawthorn", "--curve", "2"],
        ["solve", "pmedian", "--cost", c, "--p", "2"],
        ["solve", "mclp", "--cost", c, "--weights", w, "--p", "2", "--radius", "10", "--fixed", "1"],
        ["solve", "mclp", "--cost", c, "--weights", w, "--radius", "10", "--curve", "2"],
        ["scenario", "add", "-w", ws, "汛期", "--close-unpaved", "--slow-class", "county=0.5", "--replace"],
        ["scenario", "list", "-w", ws],
        ["scenario", "show", "-w", ws, "汛期"],
        ["coverage", "-w", ws, "--facility", "cold_storage", "--minutes", "30", "--scenario", "汛期"],
        ["resilience", "-w", ws, "--top", "3"],
        ["scenario", "remove", "-w", ws, "汛期"],
        ["export", "-w", ws, "--layer", "cold_storage", "--format", "csv", str(tmp / "cs.csv")],
        ["template", "--layer", "households", str(tmp / "t.xlsx")],
        ["user", "add", "-w", ws, "李明", "--role", "town_reviewer", "--town", "清源镇", "--password", "pw123456"],
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_command_text_shows_labels_not_codes(tmp_path, lang):
    ws = str(tmp_path / "demo.gpkg")
    runner = CliRunner(env={"RURALPLAN_LANG": lang})
    problems = []
    for args in commands(ws, tmp_path):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
        text = result.output.replace(str(tmp_path), "").replace(ws, "")
        name = " ".join(args[:2])
        allowed = SHOWN_ON_PURPOSE.get(args[0], set())
        for word in allowed:  # whole words only
            text = re.sub(rf"(?<![\w./-]){word}(?![\w./-])", "", text)
        if leaked := leaked_codes(text, lang):
            problems.append(f"{name}: codes {sorted(leaked)}")
        if re.search(r"\{'|\['|\bnode-\d+", text):
            problems.append(f"{name}: a dict, list or node id in {text[:300]!r}")
        if lang == "zh" and (words := english_words(text)):
            problems.append(f"{name}: English in the Chinese output {sorted(words)[:10]}")
    assert not problems, "\n".join(problems)


def test_the_checks_catch_a_code_a_dict_and_english():
    """The generic checks fail on the faults they look for (a check that cannot fail is no check)."""
    assert leaked_codes("规则 resident_former_poor 63", "zh") == {"resident_former_poor"}
    assert leaked_codes("rule cadre_household 3; status existing", "en") == {"cadre_household"}
    assert leaked_codes("see R000741 and /tmp/cold_storage.csv", "en") == set()
    assert english_words("冷库 30 分钟内：covered 230") == {"covered"}
    assert english_words("S233（2.4 公里） PR00172 H149901100001001") == set()
