"""Pure, table-driven rules: poverty classification, deprivation indicators, cultural-family title,
satisfaction survey. No Flask, no SQLAlchemy, no I/O but reading the rule files in ``rules/``.

- ``poverty``: standards per review year and province, urban/rural, classification (POV-*).
- ``deprivation``: the indicators recomputed from the poverty review form's answers (DEP-*).
- ``cultural_family``: the "Gia đình văn hóa" title and the thôn share (CF-*).
- ``satisfaction``: criteria sets, their default, one household's answers (SAT-*).
- ``ruledata``: reading and checking the rule files.
"""
