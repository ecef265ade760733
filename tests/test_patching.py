"""Patches made by make_patch apply back exactly; a patch that no longer fits is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faultfirst.patching import PatchError, apply_patch, make_patch

lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "def f():\n", "    return 1\n", "\n"]),
                 min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(before=lines, after=lines)
def test_round_trip(tmp_path_factory, before, after):
    root = tmp_path_factory.mktemp("p")
    (root / "m.py").write_text("".join(before))
    patch = make_patch(root, {"m.py": "".join(after)})
    if before == after:
        assert patch == ""
        return
    assert apply_patch(root, patch) == ["m.py"]
    assert (root / "m.py").read_text() == "".join(after)


def test_a_patch_whose_context_moved_is_refused(tmp_path):
    (tmp_path / "m.py").write_text("one\ntwo\nthree\n")
    patch = make_patch(tmp_path, {"m.py": "one\n2\nthree\n"})
    (tmp_path / "m.py").write_text("one\nTWO\nthree\n")
    with pytest.raises(PatchError, match=r"m.py: hunk @@ -1,3 \+1,3 @@ does not match line 2"):
        apply_patch(tmp_path, patch)


def test_a_patch_for_a_missing_file_is_refused(tmp_path):
    with pytest.raises(PatchError, match=r"gone.py: the patch changes a file that does not exist"):
        apply_patch(tmp_path, "--- a/gone.py\n+++ b/gone.py\n@@ -1 +1 @@\n-x\n+y\n")
