"""The DAG toolkit's fixture repository is data for tests/test_dag_toolkit_*.py, not part of this suite.

Its DAG files, and the docs' ``conftest.py`` and ``validate_dags.py``, run only in copies made by
those tests, with the environment they set. Collecting them here would also import that
``conftest.py`` as the module ``conftest``, in place of tests/conftest.py.
"""

collect_ignore = ["repo"]
