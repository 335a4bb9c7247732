"""Build hooks only (the project is described in pyproject.toml): every wheel and sdist records the commit it
was built from in engine/COMMIT, so that `policy --version` can say it when installed outside a checkout."""
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def _commit() -> str:
    if (HERE / ".git").exists():
        try:
            done = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"], capture_output=True, text=True,
                                  timeout=10)
            if done.returncode == 0:
                return done.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    recorded = HERE / "engine" / "COMMIT"  # building from an sdist: the commit the sdist was made from
    return recorded.read_text(encoding="utf-8").strip() if recorded.is_file() else ""


def _record(folder: Path) -> None:
    commit = _commit()
    if commit and folder.is_dir():
        (folder / "COMMIT").write_text(commit + "\n", encoding="utf-8")


class BuildPy(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:  # an editable install runs from the checkout, where git tells the commit
            _record(Path(self.build_lib) / "engine")


class Sdist(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        _record(Path(base_dir) / "engine")


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
