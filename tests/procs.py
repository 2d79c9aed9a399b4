"""Real `cvewatch` processes for tests that run several at once: start them, wait until one says a line on
stderr (e.g. that it waits for a lock), collect what they said and how they ended."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass

CLI = [sys.executable, "-m", "cvewatch.cli"]
#: a guard against a hung process, never a measure of anything
GUARD_SECONDS = 300


def cli_env(db_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a child: no CVEWATCH_* nor NVD key of the caller's, a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVEWATCH_") and k != "NVD_API_KEY"}
    if db_url is not None:
        env["CVEWATCH_DB"] = db_url
    env.update(COLUMNS="200", **extra)
    return env


@dataclass(frozen=True)
class Ended:
    returncode: int
    stdout: str
    stderr: str


class Running:
    """A `cvewatch` process whose stderr is read line by line as it comes."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._stdout: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self._stdout.append(self.proc.stdout.read())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for(self, text: str) -> bool:
        """Whether the process says a line containing ``text`` on stderr before it ends."""
        while True:
            line = self._lines.get(timeout=GUARD_SECONDS)
            if line is None:
                self._lines.put(None)
                return False
            if text in line:
                return True

    def finish(self) -> Ended:
        try:
            code = self.proc.wait(timeout=GUARD_SECONDS)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        for t in self._readers:
            t.join(GUARD_SECONDS)
        return Ended(code, "".join(self._stdout), "".join(self._stderr))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def one_clear_line(ended: Ended) -> str:
    """The only line a failed command said on stderr (no traceback, no second line)."""
    lines = ended.stderr.strip().splitlines()
    assert "Traceback" not in ended.stderr, ended.stderr
    assert len(lines) == 1, ended.stderr
    return lines[0]
