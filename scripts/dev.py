#!/usr/bin/env python3
"""Set up and run the 3CX Dashboard, or its test suite, with nothing but Python 3.11.

    python3 scripts/dev.py run    # web + worker + scheduler + demo organisations
    python3 scripts/dev.py test   # linters, migration and deploy checks, the whole test suite

Both create ./.venv and install the pinned dependencies (constraints.txt) when they change.
Extra arguments after `test` go to pytest.
"""

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import threading
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
STAMP = VENV / ".dashboard-installed"


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != (3, 11):
        print(f"Python 3.11 is required; this is {sys.version.split()[0]}.", file=sys.stderr)
        return 2
    if not argv or argv[0] not in {"run", "test", "setup"}:
        print(__doc__, file=sys.stderr)
        return 2
    os.chdir(ROOT)
    setup()
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    return 0


def setup() -> None:
    """Create the virtualenv and install what pyproject.toml and constraints.txt pin."""
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = _dependency_fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("Installing dependencies (first run takes a minute) ...", flush=True)
    _run([PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    _run([PYTHON, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[dev]"])
    STAMP.write_text(wanted)


#: The demo's 3CX simulators, one per demo organisation (demo_setup connects them in this
#: order, on SIMULATOR_PORT and the ports after it): a simulator issues one token per client,
#: so organisations do not share one. Each: (organisation, threecx_simulator options).
#: Versions differ so that the audit's "version behind the fleet" has something to find;
#: Northwind, on an older update, lacks a function, so that its report shows a rule that
#: could not run and why.
DEMO_SIMULATORS = (
    ("Demo Company", ("--users", "250", "--contacts", "5000", "--seed", "1")),
    (
        "Northwind Dental",
        (
            *("--users", "40", "--contacts", "600", "--seed", "2", "--version", "20.0.9.1044"),
            *("--missing", "Backups/Pbx.GetBackupSettings"),
        ),
    ),
    (
        "Contoso Logistics",
        ("--users", "120", "--contacts", "2000", "--seed", "3", "--version", "20.0.10.1060"),
    ),
)


def run() -> int:
    # The built-in 3CX simulator listens on plain http on loopback, which the base-URL guard
    # refuses unless told otherwise.
    env = _env(
        DJANGO_DEBUG="true",
        THREECX_ALLOW_HTTP="true",
        THREECX_ALLOWED_ADDRESSES="127.0.0.1",
        SIMULATOR_PORT=os.environ.get("SIMULATOR_PORT", "8765"),
    )
    _run([PYTHON, "manage.py", "migrate", "--noinput"], env=env)
    # The simulators run before the demo is set up, so that the demo directories are synced
    # and audited by the time the logins are printed: the first page a newcomer opens has data.
    first_port = int(env["SIMULATOR_PORT"])
    simulators = []
    try:
        for offset, (name, options) in enumerate(DEMO_SIMULATORS):
            simulators.append(_simulator_start(env, name, first_port + offset, options))
        urls = [f"--simulator-url=http://127.0.0.1:{port}" for _, port in simulators]
        _run([PYTHON, "manage.py", "demo_setup", "--sync", *urls], env=env)
        port = env.setdefault("DASHBOARD_PORT", "8000")
        print(f"  Open http://127.0.0.1:{port}/ and sign in with a login above.\n", flush=True)
        return _call([BIN / "honcho", "-f", "Procfile.dev", "start"], env=env)
    finally:
        for simulator, _ in simulators:
            _stop(simulator)


def _simulator_start(
    env: dict[str, str], name: str, port: int, options: tuple[str, ...]
) -> tuple[subprocess.Popen, int]:
    """Start one of the demo's 3CX simulators and return once it listens (it says so)."""
    command = [*("manage.py", "threecx_simulator", "--host", "127.0.0.1", "--port", str(port))]
    simulator = subprocess.Popen(
        [str(PYTHON), *command, *options], env=env, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    prefix = f"simulator {port} | "
    for line in simulator.stdout:
        print(f"{prefix}{line}", end="", flush=True)
        if "listening on" in line:
            # Keep reading its output, or the pipe fills and the simulator blocks.
            threading.Thread(target=_echo, args=(simulator.stdout, prefix), daemon=True).start()
            return simulator, port
    simulator.wait()
    raise SystemExit(
        f"The 3CX simulator for {name} did not start (exit code {simulator.returncode}); see "
        f"above. Is port {port} in use? Set SIMULATOR_PORT to the first of "
        f"{len(DEMO_SIMULATORS)} free ports."
    )


def _echo(stream, prefix: str) -> None:
    for line in stream:
        print(f"{prefix}{line}", end="", flush=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test(pytest_args: list[str]) -> int:
    env = _env()
    steps = [
        ("ruff check", [BIN / "ruff", "check", "."]),
        ("ruff format", [BIN / "ruff", "format", "--check", "."]),
        (
            "migrations are up to date",
            [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"],
        ),
        (
            "production settings pass check --deploy",
            [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        ),
    ]
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "dashboard.example.com",
        # A valid Fernet key: 32 random bytes, url-safe base64.
        "THREECX_SECRET_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    for name, command in steps:
        print(f"--- {name}", flush=True)
        if "deploy" in name:
            step_env = {**env, **production}
        else:  # needs no real database; the zero-setup SQLite one avoids connection noise
            step_env = {**env, "DJANGO_DEBUG": "true", "DATABASE_URL": ""}
        if _call(command, env=step_env) != 0:
            print(f"FAILED: {name}", file=sys.stderr)
            return 1
    print("--- pytest", flush=True)
    return _call([PYTHON, "-m", "pytest", *pytest_args], env=env)


def _env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.update(overrides)
    return env


def _dependency_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(command: list, **kwargs) -> None:
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def _call(command: list, **kwargs) -> int:
    try:
        return subprocess.call([str(c) for c in command], **kwargs)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
