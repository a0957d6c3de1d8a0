"""Sphinx configuration of the metapool documentation.

Build with::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Only Sphinx's built-in extensions and the default theme are used, so
``pip install -r docs/requirements.txt`` (plus metapool's own runtime
dependencies: numpy, scipy, attrs) is all a build needs.
"""

from __future__ import annotations

import os
import sys

# Import metapool from the source tree, so that the docs build without
# installing the package (an installed copy would be shadowed by this one).
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "src")))

import metapool  # noqa: E402

# -- Project information -----------------------------------------------------

project = "metapool"
author = "metapool developers"
copyright = "metapool developers"
release = metapool.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
language = "en"

pygments_style = "sphinx"

# numpydoc "References" sections list their sources as footnotes (``.. [1]``)
# that the text does not always cite; that is the numpydoc convention, not an
# error, so Sphinx's "footnote is not referenced" check is switched off.
suppress_warnings = ["ref.footnote"]

# -- autodoc / autosummary -----------------------------------------------------

autosummary_generate = True  # stubs go to docs/api/generated (git-ignored)
autosummary_imported_members = False
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}
autodoc_member_order = "bysource"
autodoc_class_signature = "mixed"
# Types are written out in the numpydoc "Parameters" sections; repeating the
# annotations (NDArray[np.float64] ...) in every signature only adds noise.
autodoc_typehints = "none"

# -- napoleon (numpy-style docstrings) -------------------------------------------

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_include_init_with_doc = False
napoleon_include_private_with_doc = False
napoleon_include_special_with_doc = False
# Render "Attributes" sections like "Parameters" sections (a field list), not
# as separate attribute directives: attrs fields with a ``#:`` comment are
# also found by autodoc, and two descriptions of one attribute would be a
# duplicate-object warning; the params style also handles entries that
# document several attributes at once ("estimate, se : float").
napoleon_use_ivar = False
napoleon_custom_sections = [("Attributes", "params_style")]
napoleon_use_param = True
napoleon_use_rtype = True
napoleon_preprocess_types = False

# -- intersphinx -----------------------------------------------------------------
# Enabled for the roles it provides, but deliberately without mappings: the
# documentation must build without network access.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
intersphinx_disabled_reftypes = ["*"]

# -- math ------------------------------------------------------------------------

math_number_all = False
math_eqref_format = "({number})"

# -- HTML output -----------------------------------------------------------------

html_theme = "alabaster"
html_title = f"metapool {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Meta-analysis in Python that agrees with metafor and RevMan 5",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_sidebars = {
    "**": ["about.html", "navigation.html", "relations.html", "searchbox.html"],
}


# -- Completeness check of the API reference ----------------------------------------
# Every public name (``__all__`` of metapool and of its public sub-modules) must
# appear in api.rst; a missing one is a warning, which ``-W`` turns into a failed
# build, so that new public API cannot go undocumented.

_PUBLIC_MODULES = (
    "metapool",
    "metapool.tau2",
    "metapool.exceptions",
    "metapool.conventions",
    "metapool.results",
    "metapool.effects",
    "metapool.models",
    "metapool.testing",
)


def _check_api_coverage(app: object) -> None:
    import importlib
    import re

    from sphinx.util import logging

    logger = logging.getLogger("metapool.docs")
    api_path = os.path.join(HERE, "api.rst")
    with open(api_path, encoding="utf-8") as fh:
        text = fh.read()
    for module_name in _PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if isinstance(obj, type(sys)):  # a sub-module: documented as a module
                pattern = rf"^\.\. (py:module|automodule):: {re.escape(obj.__name__)}\s*$"
            else:
                pattern = (
                    rf"^\s+(~?[\w.]*\.)?{re.escape(name)}\s*$"  # an autosummary entry
                    rf"|^\.\. (py:data|py:function|py:class|auto\w+):: {re.escape(name)}\s*$"
                )
            if not re.search(pattern, text, re.MULTILINE):
                logger.warning(
                    "api.rst does not document %s.%s (it is in %s.__all__)",
                    module_name,
                    name,
                    module_name,
                    location="api",
                )


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("builder-inited", _check_api_coverage)
    return {"parallel_read_safe": True}
