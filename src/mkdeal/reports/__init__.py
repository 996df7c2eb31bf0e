"""The MK Deal progress report: the board and JLT pack, as HTML and PDF.

- `content`: what a report says, worked out from one published snapshot (pure).
- `render`: that content as HTML, its charts as SVG, and the HTML as a PDF.
- `register`: the reports issued, each with the snapshot it was built from, so that any of
  them can be rebuilt exactly and the next one can say what has been revised since.
- `issue`: the `mkdeal report` command's work, tying the three together.
"""
