"""zhikong — 质控中心档案与公文系统: archive, search, compliance checks, GB/T 9704 drafts and handover.

The repository's folders install as one package: ``zhikong.archive`` (settings, catalogue, watcher,
checks, paper register, handover), ``zhikong.indexer`` (text extraction, search index),
``zhikong.generator`` (documents from templates), ``zhikong.templates``, ``zhikong.cli`` (the command
line). ``zhikong.app.Archive`` is the application layer every front end calls.
"""
