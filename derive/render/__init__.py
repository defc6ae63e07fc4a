"""Turning example specs into pages, notebooks and figures (used by :mod:`derive.build`).

- :mod:`derive.render.compute` derives every number of an example and checks it against torch;
  :mod:`derive.render.sizes` does the output sizes; :mod:`derive.render.book` asserts the
  facts a spec quotes from the book; :mod:`derive.render.results` holds what they find, for
  the renderers,
- :mod:`derive.render.latex` writes numbers, matrices and sums as LaTeX,
  :mod:`derive.render.pycode` values, parameters and calls as Python,
- :mod:`derive.render.pages.examples` writes the example pages and the index,
- :mod:`derive.render.notebook` writes the notebooks, :mod:`derive.render.kernel` executes
  them in one kernel,
- :mod:`derive.render.svg` draws the figures.
"""

__all__: list[str] = []
