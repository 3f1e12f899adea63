"""Build hook: compile the gettext catalogs (``.po`` -> ``.mo``) with Babel whenever the package is
built or installed (``pip install .``, ``pip install -e .``, wheels), so no checkout, image or
installed copy runs without them. Everything else about the package is in pyproject.toml."""

from babel.messages.setuptools_frontend import compile_catalog
from setuptools import setup
from setuptools.command.build_py import build_py


class CompileCatalogs(compile_catalog):  # type: ignore[misc]
    def initialize_options(self) -> None:
        super().initialize_options()
        self.domain = "roombot"
        self.directory = "bot/views/locales"
        self.statistics = False


class BuildPy(build_py):
    def run(self) -> None:
        self.run_command("compile_catalog")
        super().run()


setup(cmdclass={"build_py": BuildPy, "compile_catalog": CompileCatalogs})
