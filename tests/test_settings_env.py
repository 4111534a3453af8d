"""Settings come from the environment; production refuses the public development key."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(**env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    full_env.update(env, DJANGO_SETTINGS_MODULE="oms.settings")
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=60)


def test_debug_off_without_secret_key_refuses_to_start():
    result = run_check(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_off_with_secret_key_starts():
    result = run_check(DEBUG="0", SECRET_KEY="a-real-secret-" + "x" * 40, ALLOWED_HOSTS="shop.example")
    assert result.returncode == 0, result.stderr
