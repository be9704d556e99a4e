"""Without Chromium the browser tests skip on a laptop but fail on CI."""

from __future__ import annotations

import pytest

from . import conftest


def test_a_missing_chromium_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        conftest._require_chromium()


def test_a_missing_chromium_fails_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        conftest._require_chromium()
