"""The dbt artifact stores behind one interface (:mod:`.base`): a folder (:mod:`.local`), S3
(:mod:`.s3`) and the dbt API's two sets of routes (:mod:`.dbt_api`). Which one a task uses is chosen
by configuration in :mod:`datacoves_airflow_provider.dbt.artifact_store`, which also re-exports them.
"""
