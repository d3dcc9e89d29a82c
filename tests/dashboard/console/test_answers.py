"""A stored answer as the page shows it: the foldable tree, its limits, and its escaping."""

from dashboard.console import answers


def test_the_tree_folds_below_its_first_levels():
    tree = answers.answer_tree({"value": [{"Id": 1, "Groups": [{"Name": "Sales"}]}]})
    assert tree.count('<details class="json-branch" open>') == 2  # the answer and "value"
    assert tree.count('<details class="json-branch">') == 3  # the item, its groups, a group
    assert '<span class="json-key">Id</span>: <span class="json-number">1</span>' in tree


def test_every_value_is_escaped():
    tree = answers.answer_tree({"<b>key</b>": "<script>alert(1)</script>"})
    assert "<script>" not in tree and "<b>" not in tree
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in tree
    assert "&lt;b&gt;key&lt;/b&gt;" in tree


def test_values_of_every_kind_are_shown_as_json_writes_them():
    tree = answers.answer_tree({"a": None, "b": True, "c": 1.5, "d": [], "e": {}})
    for shown in ("null", "true", "1.5", "[]", "{}"):
        assert f">{shown}</span>" in tree


def test_a_big_answer_shows_its_first_values_and_says_how_many_are_left_out(monkeypatch):
    monkeypatch.setattr(answers, "TREE_MAX_NODES", 10)
    tree = answers.answer_tree({"value": [{"Id": n} for n in range(20)]})
    # The answer, "value", then 4 items with their Id: 10 values; 16 items with theirs left.
    assert tree.count('class="json-leaf"') == 4
    assert "32 more values not shown here: download the JSON to see everything." in tree


def test_below_the_deepest_fold_a_value_is_one_line_of_json():
    deep: dict = {}
    node = deep
    for _ in range(answers.TREE_MAX_DEPTH + 3):
        node["next"] = {}
        node = node["next"]
    node["end"] = 1
    tree = answers.answer_tree(deep)
    assert tree.count("<details") == answers.TREE_MAX_DEPTH
    assert '{"next": {"next": {"end": 1}}}' in tree.replace("&quot;", '"')
