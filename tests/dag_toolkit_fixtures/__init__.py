# A package, so that pytest imports conftest.py here as dag_toolkit_fixtures.conftest instead of
# replacing tests/conftest.py as the module "conftest" (which tests import helpers from).
