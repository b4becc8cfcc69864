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
        ["place", "-w", ws, "--model", "lscp", "--minutes", "30", "--weight", "produce:apple", "--target-share", "0.9"],
        ["place", "-w", ws, "--model", "mclp", "--p", "1", "--minutes", "30", "--weight",
         "population*0.5+monitored*100"],
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
        if found := spec_syntax(text):
            problems.append(f"{name}: a demand spec in its own syntax {found[:3]}")
        if lang == "en" and (wrong := one_plural(text)):
            problems.append(f"{name}: a plural after 1: {wrong[:5]}")
    assert not problems, "\n".join(problems)


def spec_syntax(text: str) -> list[str]:
    """A demand weight spec printed as typed ("产量:苹果,山楂", "produce:apple", "人口*0.5")."""
    return re.findall(r"(?:produce|产量)\s*:\S+|[A-Za-z\u4e00-\u9fff]+\*[\d.]+", text, flags=re.I)


def one_plural(text: str) -> list[str]:
    """English counts of one with a plural noun ("1 villages", "1/1 counties", "1 proposal(s)")."""
    return re.findall(r"(?<![\d.,])1 (?:[a-z-]+ )?[a-z]{2,}(?:s|\(s\))(?!\w)(?! (?:of|per)\b)", text)


def test_the_checks_catch_a_code_a_dict_and_english():
    """The generic checks fail on the faults they look for (a check that cannot fail is no check)."""
    assert leaked_codes("规则 resident_former_poor 63", "zh") == {"resident_former_poor"}
    assert leaked_codes("rule cadre_household 3; status existing", "en") == {"cadre_household"}
    assert leaked_codes("see R000741 and /tmp/cold_storage.csv", "en") == set()
    assert english_words("冷库 30 分钟内：covered 230") == {"covered"}
    assert english_words("S233（2.4 公里） PR00172 H149901100001001") == set()
    assert one_plural("1/1 counties done; 1 monitored households, 1 proposal(s)") == [
        "1 counties", "1 monitored households", "1 proposal(s)"]
    assert one_plural("1 county, 11 villages, 2.1 villages, 1 village") == []


def test_demand_text_says_the_spec_in_words():
    from web.services.labels import demand_text

    zh, en = catalog_gettext("zh"), catalog_gettext("en")
    assert demand_text("produce:apple,hawthorn", zh, "zh") == "苹果、山楂产量（吨）"
    assert demand_text("produce:apple,hawthorn", en, "en") == "Apple, Hawthorn produce (t)"
    assert demand_text("population*0.5+monitored*100", zh, "zh") == "人口 ×0.5 + 监测户 ×100"
    assert demand_text("villages", en, "en") == "villages (each counts 1)"
    assert spec_syntax("最大覆盖（产量:苹果,山楂）") and spec_syntax("Maximal coverage (people*0.5)")
    assert spec_syntax("(produce:apple)")
    assert spec_syntax("需求：苹果、山楂产量（吨）；人口 ×0.5") == []


def test_count_en_agrees_with_the_number():
    from web.cli.common import count_en

    assert [count_en(n, "county", "counties") for n in (0, 1, 2)] == ["0 counties", "1 county", "2 counties"]
    assert count_en(1, "village") == "1 village" and count_en(3, "village") == "3 villages"


# --------------------------------------------------------------------------- --json outputs
def json_commands(ws: str, tmp) -> list[list[str]]:
    """Every command with a ``--json`` output; the cost matrix is float32, as the analyses'
    travel times are (12.3 would print as 12.300000190734863 if widened unrounded)."""
    rng = np.random.default_rng(3)
    np.save(tmp / "c32.npy", rng.uniform(1, 60, (20, 6)).astype(np.float32))
    np.save(tmp / "w32.npy", rng.uniform(1, 9, 20).astype(np.float32))
    c, w = str(tmp / "c32.npy"), str(tmp / "w32.npy")
    return [
        ["info", "-w", ws, "--json"],
        ["proposals", "-w", ws, "--json"],
        ["solve", "pmedian", "--cost", c, "--p", "2", "--json"],
        ["solve", "mclp", "--cost", c, "--weights", w, "--p", "2", "--radius", "10", "--json"],
        ["solve", "mclp", "--cost", c, "--weights", w, "--radius", "10", "--curve", "2", "--json"],
        ["place", "-w", ws, "--facility", "cold_storage", "--model", "mclp", "--p", "2", "--minutes", "30",
         "--weight", "produce:apple,hawthorn", "--curve", "2", "--json"],
        ["coverage", "-w", ws, "--facility", "cold_storage", "--minutes", "30", "--json"],
        ["coverage", "-w", ws, "--facility", "cold_storage", "--minutes", "30", "--scenario", "汛期", "--json"],
        ["pairings", "-w", ws, "--json"],
        ["evaluate", "-w", ws, "--proposal", "2", "--json"],
        ["portfolio", "-w", ws, "--budget", "800", "--json"],
        ["scenario", "show", "-w", ws, "汛期", "--json"],
        ["scenario", "list", "-w", ws, "--json"],
        ["resilience", "-w", ws, "--top", "3", "--json"],
    ]


def number_faults(value, key=None, path="") -> list[str]:
    """Numbers written with float32 noise (a float32 whose own shortest text is shorter),
    as ``-0.0``, or with more decimals than their unit's stated precision (minutes 2, metres 1)."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += number_faults(v, k, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value[:2000]):
            out += number_faults(v, key, f"{path}[{i}]")
    elif isinstance(value, float):
        text = repr(value)
        decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
        words = str(key).split("_")
        if text == "-0.0":
            out.append(f"{path}: -0.0")
        elif float(np.float32(value)) == value and len(str(np.float32(value))) < len(text):
            out.append(f"{path}: float32 noise {text}")
        elif ("min" in words or "minutes" in words) and "km" not in words and decimals > 2:
            out.append(f"{path}: minutes {text}")
        elif words[-1] == "m" and decimals > 1:
            out.append(f"{path}: metres {text}")
        elif decimals > 12:
            out.append(f"{path}: {text}")
    return out


def test_every_json_output_is_plain_json_at_its_units_precision(demo_workspace, tmp_path):
    import json
    import shutil

    ws = str(tmp_path / "demo.gpkg")
    shutil.copyfile(demo_workspace.path, ws)
    from layers.store import Workspace
    from web.services.demo_setup import seed_demo_library

    seed_demo_library(Workspace(ws))  # the proposals `demo` adds
    runner = CliRunner(env={"RURALPLAN_LANG": "en"})
    add = runner.invoke(main, ["scenario", "add", "-w", ws, "汛期", "--close-unpaved", "--slow-class", "county=0.5"])
    assert add.exit_code == 0, add.output

    def no_constant(name):
        raise AssertionError(f"{name} is not JSON")

    problems = []
    for args in json_commands(ws, tmp_path):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
        data = json.loads(result.output, parse_constant=no_constant)  # as `| python -m json.tool` reads it
        problems += [f"{' '.join(args[:2])}: {p}" for p in number_faults(data)[:5]]
    assert not problems, "\n".join(problems)


def test_number_faults_finds_noise_negative_zero_and_long_minutes():
    assert number_faults({"x": [12.300000190734863]}) == [".x[0]: float32 noise 12.300000190734863"]
    assert number_faults({"added_min": -0.0, "ok": 12.3}) == [".added_min: -0.0"]
    assert number_faults({"travel_max_min": 3.214743455251058}) == [".travel_max_min: minutes 3.214743455251058"]
    assert number_faults({"network_m": 1282.4996343615155, "objective": 116912.7}) == [
        ".network_m: metres 1282.4996343615155"]


# --------------------------------------------------------------------------- --help
def command_paths(group=None, prefix=()) -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words that name it."""
    import click

    group = group or main
    out = [prefix]
    for name, cmd in sorted(group.commands.items()):
        out += command_paths(cmd, (*prefix, name)) if isinstance(cmd, click.Group) else [(*prefix, name)]
    return out


def typed_values(path) -> set[str]:
    """Words a user types that the help shows as they are: choice values and defaults."""
    import click

    cmd = main
    for name in path:
        cmd = cmd.commands[name]
    out = set()
    for param in cmd.params:
        if isinstance(param.type, click.Choice):
            out |= {str(c) for c in param.type.choices}
        if isinstance(param.default, str):
            out.add(param.default)
    return out


#: Values the help texts quote as typed (weights, candidates, CRS and basemap names, roles,
#: road classes, file and product names), in the Chinese help beside their meaning.
TYPED = {"population", "households", "monitored", "villages", "produce", "apple", "hawthorn", "towns",
         "industry_bases", "network", "proposals", "wgs84", "cgcs2000", "gcj02", "bd09", "EPSG", "none", "osm",
         "tianditu-vec", "tianditu-img", "XYZ", "planner", "village_applicant", "town_reviewer", "sector_assessor",
         "county_approver", "admin", "national", "provincial", "county", "township", "village", "other",
         "cold_storage", "cold_chain", "submitted", "mclp", "lscp", "cmclp", "pmedian", "attendance", "coverage",
         "placement", "pairings", "ruralplan", "batch", "scenario", "list", "Dask", "waitress", "WSGI", "Cookie",
         "Secure", "http", "tcp", "host", "GeoJSON", "GeoPackage", "CSV", "Excel", "Shapefile", "JSON", "gpkg",
         "csv", "npy", "inf", "xlsx", "parquet", "geojson", "prj", "combined", "counties", "python", "web", "cli",
         "cold", "storage", "industry", "bases", "relocation", "settlements"}


def untranslated(text: str, allowed: set[str]) -> list[str]:
    """English left in a Chinese help page: option names, metavars (FILE, [a|b]) and the
    allowed typed values aside, any English word of 3+ letters."""
    text = re.sub(r"(?<![\w])--?[\w-]+", " ", text)  # option names
    text = re.sub(r"\[[\w|.-]+\]|\{[\w|.-]+\}", " ", text)  # choice metavars
    text = re.sub(r"\b[A-Z][A-Z_=]+\b", " ", text)  # metavars and env vars (FILE, RURALPLAN_LANG)
    text = re.sub(r"[\w.-]*(?:\.csv|\.json|\.gpkg|\.npy|\.xlsx|\.geojson|\.parquet)\b|\w+://\S+", " ", text)
    return sorted(w for w in english_words(text) if w not in allowed and w.lower() not in allowed)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_help_page_speaks_the_report_language(lang):
    import click

    from web.cli.helptext import translated

    runner = CliRunner(env={"RURALPLAN_LANG": lang, "COLUMNS": "100"})
    zh = catalog_gettext("zh")
    problems = []
    for path in command_paths():
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        text = " ".join(result.output.split())
        cmd = main
        for name in path:
            cmd = cmd.commands[name]
        english = " ".join(cmd.help.split())
        chinese = " ".join(translated(cmd.help, zh).split())
        name = " ".join(path) or "ruralplan"
        if lang == "zh":
            if chinese == english:
                problems.append(f"{name}: no Chinese description")
            names = {word for other in command_paths() for word in other} | set(LAYERS) | {"main"}
            if words := untranslated(result.output, TYPED | names | typed_values(path)):
                problems.append(f"{name}: English in the Chinese help {words[:12]}")
            if "Show this message" in text or "Usage:" in text or "[default:" in text:
                problems.append(f"{name}: click's own words in English")
        else:
            if english[:40] not in text or (chinese != english and chinese[:20] in text):
                problems.append(f"{name}: the English help is not the English description")
            if re.search(r"用法|选项：|显示本帮助|默认：", result.output):
                problems.append(f"{name}: Chinese in the English help")
            for param in cmd.params:
                if isinstance(param, click.Option) and param.help and " ".join(param.help.split())[:30] not in text:
                    problems.append(f"{name}: {param.opts[0]}'s English help missing")
    assert not problems, "\n".join(problems)


def test_the_help_check_catches_english():
    assert untranslated("  --travel [network|none]  出行时间（pairings）。 Show this message and exit.",
                        {"pairings"}) == ["Show", "and", "message", "this"]
    assert untranslated("用法：python -m web.cli od [OPTIONS]\n  -w, --workspace FILE  县工作空间（.gpkg）。",
                        TYPED) == []


# --------------------------------------------------------------------------- click's usage errors
def usage_errors(ws: str) -> list[tuple[str, list[str], str]]:
    """(fault, arguments, the typed value the message names) on several commands; ``ws`` is
    an existing file, so each run stops at the fault, before the command reads anything."""
    return [
        ("missing option", ["place"], "--workspace"),
        ("missing option", ["coverage", "-w", ws, "--facility", "cold_storage"], "--minutes"),
        ("bad option", ["place", "-w", ws, "--foo"], "--foo"),
        ("bad option, a near one", ["coverage", "-w", ws, "--minute", "30"], "--minutes"),
        ("bad choice", ["place", "-w", ws, "--model", "nosuch"], "nosuch"),
        ("bad choice", ["user", "add", "-w", ws, "李明", "--role", "mayor"], "mayor"),
        ("bad number", ["coverage", "-w", ws, "--facility", "cold_storage", "--minutes", "abc"], "abc"),
        ("bad integer", ["resilience", "-w", ws, "--top", "three"], "three"),
        ("option without its value", ["portfolio", "-w", ws, "--budget"], "--budget"),
        ("unknown command", ["nosuch"], "nosuch"),
        ("unknown subcommand", ["scenario", "nosuch"], "nosuch"),
        ("extra argument", ["info", "-w", ws, "surplus"], "surplus"),
        ("missing argument", ["solve"], "mclp"),
        ("missing file", ["solve", "pmedian", "--cost", "absent.npy", "--p", "2"], "absent.npy"),
    ]


@pytest.mark.parametrize("case", range(len(usage_errors("ws"))),
                         ids=[f"{fault}: {' '.join(args[:1])}" for fault, args, _v in usage_errors("ws")])
def test_click_usage_errors_speak_the_report_language(tmp_path, case):
    """click's own messages (usage line, help hint, the error) in Chinese with
    RURALPLAN_LANG=zh (no English sentence left), click's English with en; exit status 2
    both ways, and click's gettext is its own again after the run."""
    import gettext

    import click

    ws = tmp_path / "county.gpkg"
    ws.write_bytes(b"")
    fault, args, value = usage_errors(str(ws))[case]
    zh = CliRunner(env={"RURALPLAN_LANG": "zh", "COLUMNS": "100"}).invoke(main, args)
    en = CliRunner(env={"RURALPLAN_LANG": "en", "COLUMNS": "100"}).invoke(main, args)
    assert zh.exit_code == en.exit_code == 2, (fault, zh.output, en.output)
    assert value in zh.output and value in en.output, (fault, zh.output)
    assert "Error: " in en.output and "错误：" in zh.output, (fault, zh.output)
    assert ("Usage: " in en.output) == ("用法：" in zh.output), (fault, zh.output)  # a usage line when click gives one
    assert ("for help." in en.output) == ("查看帮助" in zh.output), (fault, zh.output)
    typed = re.sub(r"'[^'\n]*'|“[^”\n]*”|（[\w.-]+）", " ", zh.output)  # quoted typed values, options, choices
    names = {word for path in command_paths() for word in path} | set(LAYERS) | {"main"}
    choices = {value for path in command_paths() for value in typed_values(path)}
    assert untranslated(typed, TYPED | names | choices) == [], (fault, zh.output)
    assert not re.search(r"[\u4e00-\u9fff]", en.output), (fault, en.output)
    assert click.core._ is gettext.gettext and click.types.ngettext is gettext.ngettext


def test_every_click_message_is_in_the_catalog():
    """Every msgid of the installed click (its source's ``_``/``ngettext``) and the type words
    it puts in them are translated in the catalog: a click upgrade with new messages shows here."""
    from pathlib import Path

    import click
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    from web.cli.clicktext import CLICK_TYPE_WORDS

    po = Path(__file__).resolve().parents[2] / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    with open(po, "rb") as fh:
        catalog = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(fh) if m.id}
    msgids = {message if isinstance(message, str) else message[0]
              for _f, _l, message, _c, _x in extract_from_dir(str(Path(click.__file__).parent), [("**.py", "python")])}
    assert len(msgids) > 50
    missing = sorted(m for m in msgids | set(CLICK_TYPE_WORDS) if not catalog.get(m))
    assert missing == [], f"click messages not translated in messages.po: {missing}"


def test_click_templates_translate_clicks_words_never_the_users():
    from web.cli.clicktext import click_gettext

    gettext, ngettext = click_gettext("zh")
    assert gettext("{value!r} is not a valid {number_type}.").format(value="float", number_type="float") == \
        "'float' 不是有效的数字。"
    assert gettext("{name} {filename!r} does not exist.").format(name="File", filename="file") == "文件 'file' 不存在。"
    assert gettext("No such command {name!r}.").format(name="file") == "没有命令 'file'。"
    assert ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})",
                    2).format(args="file path") == "多余的参数（file path）"
