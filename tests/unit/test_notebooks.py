"""Notebooks are committed without outputs, stay in sync with their jupytext sources, and hold no rule.

"No rule in a notebook" is checked on the syntax tree of every code cell: a notebook may import
only from ``streams``, ``matplotlib`` and ``IPython.display``, call the package, and draw what it
returns. Anything that computes on data fails: a Polars / pandas / NumPy operation (filter,
group_by, agg, pivot, join, sort, a quantile, a cast, ``.dt`` / ``.str`` ...), arithmetic other
than chart layout (numbers, ``len()`` and a frame's ``.height``), a comparison, a branch, a
reduction such as ``sum`` or ``max``, a function, a lambda, a dict of numbers (a target table).

The officials' pages (领导版) show no code-like text: no backticks, module, function, column or file
name, no word for the tools (Parquet, Polars, notebook, kernel). Checked, without executing anything,
on the prose ``official(nb)`` keeps of every committed notebook.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from streams.documents.report import ANALYST_ONLY, OFFICIAL_ONLY, analyst, notebooks, official, tags

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "notebooks" / "src"

ALLOWED_IMPORTS = ("streams", "matplotlib", "IPython.display")
#: Methods of Polars / pandas frames, series and expressions that compute on data.
DATA_METHODS = frozenset("""
    agg aggregate group_by groupby group_by_dynamic rolling over filter where mask query select with_columns
    with_column assign pivot pivot_table unpivot melt stack unstack join join_asof merge concat vstack hstack
    extend sort sort_values sort_index top_k bottom_k unique n_unique drop_duplicates value_counts count len
    sum mean median quantile std var min max arg_min arg_max idxmin idxmax mode cum_sum cumsum cum_count
    cum_max cum_min cum_prod cumprod diff pct_change shift rank clip abs round floor ceil sqrt log exp add sub
    mul truediv div floordiv mod pow dot is_in isin is_null is_not_null isna notna fill_null fillna fill_nan
    drop_nulls dropna replace replace_strict map_elements map_batches apply applymap cast astype explode head
    tail slice sample partition_by rolling_mean rolling_sum rolling_median ewm_mean describe corr cov
    interpolate resample crosstab cut qcut is_between between truncate offset_by convert_time_zone
    replace_time_zone to_datetime strptime strftime when then otherwise col lit first last
""".split())
#: Namespaces of Polars expressions and series (dates, strings, lists ...).
DATA_NAMESPACES = frozenset({"dt", "str", "list", "arr", "struct", "cat", "bin", "name"})
#: Built-ins that reduce or select data.
BUILTINS = frozenset({"sum", "min", "max", "sorted", "round", "abs", "divmod", "pow", "filter", "map", "any",
                      "all", "eval", "exec", "compile", "__import__", "getattr", "setattr"})


def _layout_number(node: ast.AST) -> bool:
    """What chart layout may compute with: numbers, len(...), a frame's .height / .width."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "len"
    if isinstance(node, ast.Attribute):
        return node.attr in ("height", "width")
    if isinstance(node, ast.BinOp):
        return _layout_number(node.left) and _layout_number(node.right)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub) and _layout_number(node.operand)
    return False


def rule_violations(code: str) -> list[str]:
    """Every place where the code computes on data instead of calling the package (empty: none)."""
    found = []
    tree = ast.parse(code)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)

        def bad(why: str) -> None:
            found.append((line, why))

        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            for name in names:
                if not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_IMPORTS):
                    bad(f"imports {name} (only streams, matplotlib, IPython.display)")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            bad("defines a function or class: logic belongs in the package")
        elif isinstance(node, ast.BinOp) and not _layout_number(node):
            bad(f"arithmetic ({type(node.op).__name__}) on data")
        elif isinstance(node, ast.AugAssign):
            bad("augmented assignment (accumulates data)")
        elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not) and not _layout_number(node):
            bad(f"unary {type(node.op).__name__} on data")
        elif isinstance(node, ast.Compare) and not all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            bad("comparison (a rule or a filter)")
        elif isinstance(node, (ast.If, ast.IfExp, ast.While)):
            bad(f"{type(node).__name__.lower()} (a branch on data)")
        elif isinstance(node, ast.comprehension) and node.ifs:
            bad("comprehension with a condition (a filter)")
        elif isinstance(node, ast.Attribute) and node.attr in DATA_NAMESPACES:
            bad(f".{node.attr} namespace of a frame or expression")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in DATA_METHODS:
                bad(f".{func.attr}() computes on a frame")
            elif isinstance(func, ast.Name) and func.id in BUILTINS:
                bad(f"{func.id}() reduces data")
        elif isinstance(node, ast.Dict) and any(_layout_number(v) for v in node.values if v is not None):
            bad("a dict of numbers (figures or targets belong in the package or the data)")
    return [f"line {line}: {why}" for line, why in sorted(found)]


def _code(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_notebooks_have_no_outputs_and_match_their_py_sources():
    assert notebooks()
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")
        source = jupytext.read(SRC / f"{path.stem}.py")
        assert [c.source for c in nb.cells] == [c.source for c in source.cells], path.name
        assert [tags(c) for c in nb.cells] == [tags(c) for c in source.cells], path.name
        assert "tags" in nb.metadata["jupytext"]["cell_metadata_filter"].split(",")  # kept by jupytext --sync


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_a_notebook_loads_its_data_and_implements_no_rule(path):
    code = _code(path)
    assert "from streams.analysis.load import load" in code
    assert rule_violations(code) == [], path.name


#: Text an official must not see: code, names of modules, functions, columns and files, the tools' names.
CODE_LIKE = {
    "a backtick": r"`",
    "a module": r"\bstreams\.",
    "a Parquet file": r"\.parquet\b",
    "a file name": r"\b[\w-]+\.(?:py|ipynb|parquet|jsonl?|md|csv)\b",
    "a path": r"(?<![\w.])/[\w.-]+/[\w./-]*",
    "a definition": r"\bdef ",
    "an import": r"\bimport ",
    "a call": r"\b\w+\((?:\)|\w+=)",
    "a snake_case name": r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b",
    "a tool's name": r"(?i)\b(?:parquet|polars|notebook|kernel|dataframe)s?\b",
}


def code_like(text: str) -> list[str]:
    """What in ``text`` reads as code (empty: nothing)."""
    return [f"{what}: {m.group(0)!r}" for what, pattern in CODE_LIKE.items() for m in re.finditer(pattern, text)]


@pytest.mark.parametrize("text", ["Every figure comes from `streams.core.analysis`.", "streams.analysis.load()",
                                  "read out/demo-2024/project_state.parquet", "FUNNEL_SOURCE", "import polars",
                                  "def rate(a, b):", "see DOMAIN.md §4", "the Polars frame", "this notebook",
                                  "source: /work/main/out/demo-2024", "analysis.stage_funnel(state, year)"])
def test_code_like_text_is_found(text):
    assert code_like(text)


def test_plain_prose_and_figures_are_not_code_like():
    assert code_like("谋划 200 个 → 洽谈 160 个 → 签约 80 个 → 落地 60 个 · 200 planned → 160 negotiated (80 %); "
                     "2024Q4 与 2024Q3 比较; 投资额 investment 亿元 (100 million yuan); EQ-2022-0000386; "
                     "目标值 target (亿元 / 个); 1,234.6; 截至 2024-12-31; p 值 p-value <0.001") == []


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_the_officials_version_of_a_notebook_has_its_own_prose_and_no_code_like_text(path):
    nb = nbformat.read(path, as_version=4)
    assert any(OFFICIAL_ONLY in tags(c) and c.cell_type == "markdown" for c in nb.cells), "no text for officials"
    markdown = "\n\n".join(c.source for c in official(nb).cells if c.cell_type == "markdown")
    assert code_like(markdown) == [], path.name
    assert not [c for c in analyst(nb).cells if OFFICIAL_ONLY in tags(c)]
    assert not [c for c in official(nb).cells if ANALYST_ONLY in tags(c)]


# The checker itself: what the notebooks used to do inline must fail, drawing what the package returns must pass.
REIMPLEMENTED = {
    "an inline conversion": "conv = [a / b for a, b in zip(actual[1:], actual)]",
    "a landing rate by group": "by = state.group_by(dim).agg(landed=x)",
    "a filter with a comparison": "part = rolling.filter(flag)",
    "a cut at midnight UTC": 'end = pl.lit(cutoff).str.to_datetime("%Y-%m-%d", time_zone="UTC")',
    "a time zone by hand": 'm = frame["recorded_at"].dt.convert_time_zone("Asia/Shanghai")',
    "polars in a notebook": "import polars as pl",
    "the clock by hand": "from datetime import datetime, timezone",
    "a comparison": 'latest = frame[frame["month"] == last]',
    "a default target table": 'goal = {"planned": 200, "signed": 80}',
    "a total": "total = sum(acc.values())",
    "an unnamed difference": 'gap = table["target"] - table["actual"]',
    "a skipped empty group": "for p in parts:\n    if p.height:\n        ax.plot(p)",
    "a helper": "def rate(a, b):\n    return a",
    "a projection": 'ax.scatter(t["projected"] / t["target"], labels)',
    "a top 12": 'data["project_state"].sort("investment_yuan").head(12)',
}
ALLOWED = """
import matplotlib.pyplot as plt
from streams.analysis import charts, stats
from streams.analysis.load import load
from streams.core import analysis
data = load()
table = analysis.stage_funnel(data["project_state"], "2023", data.targets)
fig, ax = plt.subplots(figsize=(10, 0.45 * table.height + 1.2))
for pair, part in analysis.rolling_by_pair(data["rolling_conversions"]):
    ax.plot(part["period"], part["3"], label=f"{pair} {len(part):,}")
ax.set_xticks(range(0, table.height, 3), table["stage"][::3], rotation=-45)
plt.show()
table
"""


@pytest.mark.parametrize("code", REIMPLEMENTED.values(), ids=REIMPLEMENTED.keys())
def test_the_checker_catches_a_re_implemented_rule(code):
    assert rule_violations(code)


def test_the_checker_lets_a_notebook_draw_what_the_package_computes():
    assert rule_violations(ALLOWED) == []
