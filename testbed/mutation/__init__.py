"""`make mutation`: mutation testing of the bot core with mutmut (see `pyproject.toml`,
`[tool.mutmut]`, for the modules mutated and the tests run against each mutant).

- `deletion.py` adds the one kind of mutant mutmut 3 does not make: a deleted statement.
- `report.py` turns mutmut's results into per-module figures and sets aside the surviving
  mutants listed, with the reason, in `equivalents.toml`.
"""
