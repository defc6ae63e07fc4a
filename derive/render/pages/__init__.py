"""The page writers: every generated Markdown page of the site, sharing :mod:`derive.render.md`.

- :mod:`derive.render.pages.examples`: the worked-example pages and their index,
- :mod:`derive.render.pages.verification`: the Verification page (runs ``derive verify``),
- :mod:`derive.render.pages.networks`: shapes through the classic networks (imports torch
  when called).
"""

__all__: list[str] = []
