"""Documents for officials: the period's bulletin (季通报 / 月通报) built once as a content model
(:mod:`streams.documents.model`) from a replay's figures (:mod:`streams.documents.bulletin`), and
rendered by :mod:`streams.documents.to_docx` (Word, python-docx), :mod:`streams.documents.to_html`
and :mod:`streams.documents.to_pdf` (the HTML printed by headless Chromium). No code, no column
names: amounts in 亿元 to one decimal, dates written the Chinese way, the fonts of GB/T 9704 where
installed (:mod:`streams.documents.fonts`). The analysts' and officials' notebook pages
(``funnel report``) are :mod:`streams.documents.report`.
"""
