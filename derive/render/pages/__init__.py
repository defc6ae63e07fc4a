"""The page writers: every generated Markdown page of the site, sharing :mod:`derive.render.md`.

- :mod:`derive.render.pages.examples`: the worked-example pages and their index,
- :mod:`derive.render.pages.verification`: the Verification page (runs ``derive verify``),
- :mod:`derive.render.pages.networks`: shapes through the classic networks (imports torch
  when called),
- :mod:`derive.render.pages.frameworks`: one layer in torch, Keras, JAX and ONNX (imports
  them when called),
- :mod:`derive.render.pages.inverse`: the inverse questions (imports torch and JAX when
  called).
"""

__all__: list[str] = []
