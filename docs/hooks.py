"""MkDocs hook (see mkdocs.yml): keep the generated ``SUMMARY.md`` navigation files out of the built site.

mkdocs-literate-nav has read them by the time this runs (hooks run after plugins); without this, each would also
be rendered as a page of its own.
"""

from mkdocs.structure.files import InclusionLevel


def on_files(files, config):
    for file in files:
        if file.src_uri == "SUMMARY.md" or file.src_uri.endswith("/SUMMARY.md"):
            file.inclusion = InclusionLevel.EXCLUDED
    return files
