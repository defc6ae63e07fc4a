// MathJax 3 configuration for the derive site; read before assets/vendor/mathjax/tex-chtml.js.
//
// Only two kinds of element are typeset:
//   * .arithmatex: the math that pymdownx.arithmatex (generic mode) marks on Markdown pages,
//     written \( ... \) and \[ ... \];
//   * the rendered Markdown and LaTeX of notebook pages (nbconvert's .jp-RenderedMarkdown and
//     .jp-RenderedLatex), where the notebook writes $ ... $ and $$ ... $$.
// Nothing else is touched, so a dollar sign in prose or code stays a dollar sign.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  startup: {
    typeset: false,
    pageReady() {
      return MathJax.startup.defaultPageReady().then(function () {
        var selector = ".arithmatex, .jp-RenderedMarkdown, .jp-RenderedLatex";
        var nodes = Array.prototype.slice.call(document.querySelectorAll(selector));
        return nodes.length ? MathJax.typesetPromise(nodes) : null;
      });
    },
  },
};
