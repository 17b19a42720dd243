"""The test harness: what the test modules share, one module per concern.

Test modules import from here (``from harness.airflow_env import run_dag``); ``tests/conftest.py``
holds only fixtures (thin wrappers over these functions) and pytest hooks.

* :mod:`harness.paths`: the repository's folders, the Airflow binary and line of this interpreter.
* :mod:`harness.slow_guard`: a test that starts an Airflow process must carry the ``slow`` marker.
* :mod:`harness.airflow_env`: an Airflow home's environment, ``airflow db migrate``, ``airflow dags test``.
* :mod:`harness.airflow_cli`: every ``airflow`` command the tests run (``dags test``, ``db migrate``,
  ``dags trigger``...), forked from a warm server per Airflow configuration (``airflow_cli_server.py``).
* :mod:`harness.network`: free ports, waiting for a listener, serving an HTTP handler.
* :mod:`harness.repos`: sample and demo repositories, git commits, tree fingerprints.
* :mod:`harness.platform_repo`: a repository laid out as git-sync lays it out on a Datacoves worker.
* :mod:`harness.dbt`: the dbt virtualenv, its environment, running dbt DAGs (the billing DAGs, the
  environment-variable mode), and reading run results.
* :mod:`harness.evidence`: what scenario DAGs' tasks wrote (``EVIDENCE``), and their staging folders.
* :mod:`harness.one_task_dags`: one-task DAGs built in the test process (parse-time checks).
* :mod:`harness.api_server`: the reference Datacoves API server in its own process.
* :mod:`harness.secrets_stores`: the secrets planted in the reference server and in moto's AWS.
* :mod:`harness.warehouses`: PostgreSQL, moto's server, fakesnow's server.
* :mod:`harness.airflow_cluster`, :mod:`harness.celery_cluster`: real deployments (LocalExecutor,
  CeleryExecutor).
* :mod:`harness.data_sync`, :mod:`harness.metadata_seed`: the data sync's metadata databases.
* :mod:`harness.dag_toolkit`: the DAG test toolkit's fixture repository and report normalising.
* :mod:`harness.webhook_recorder`, :mod:`harness.unruly_http_server`: HTTP servers for tests.
* :mod:`harness.durations`: per-module durations (tests/durations.json) that order the suite.
* :mod:`harness.profile`: where the time goes (DATACOVES_TEST_PROFILE): wall, CPU, commands per module.
"""
