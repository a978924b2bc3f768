"""Settings are data: one table, read by every part, and demo values that never override the user's."""

from __future__ import annotations

import os

from c360 import settings


def test_demo_values_fill_only_the_unset_variables(monkeypatch):
    environment = {"C360_CRM_PASSWORD": "mine"}
    monkeypatch.setattr(os, "environ", environment)
    applied = settings.apply_demo_values()
    assert applied == ["C360_SHOP_PASSWORD", "C360_BLOB_CONNECTION_STRING"]
    assert environment["C360_SHOP_PASSWORD"] == "c360-demo" and environment["C360_CRM_PASSWORD"] == "mine"
    assert "AccountName=devstoreaccount1" in environment["C360_BLOB_CONNECTION_STRING"]
    assert settings.get("mysql_admin_user") == "root"  # a default, not a demo value: left out of the environment
    assert "C360_MYSQL_ADMIN_USER" not in environment


def test_settings_have_unique_names_and_variables():
    assert len({s.name for s in settings.SETTINGS}) == len({s.env for s in settings.SETTINGS}) == len(settings.SETTINGS)
