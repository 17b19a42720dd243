"""``DatacovesDbtOperator``: dbt in the project folder of a private copy of the repository."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from datacoves_airflow_provider import environment, validation
from datacoves_airflow_provider.compat import AirflowException, AirflowSkipException
from datacoves_airflow_provider.dbt import try_artifacts
from datacoves_airflow_provider.dbt.artifacts import ArtifactOptions
from datacoves_airflow_provider.dbt.partial_parse import PARTIAL_PARSE_FILE, PartialParseCheck
from datacoves_airflow_provider.dbt.profiles import (
    DEFAULT_PROFILE_NAME,
    DEFAULT_TARGET_NAME,
    DbtProfileError,
    check_overrides,
    mask_secret_fields,
    parse_overrides_text,
    write_connection_profile,
)
from datacoves_airflow_provider.dbt.project import packages_missing, run_results_path
from datacoves_airflow_provider.operators.bash import DatacovesBashOperator, inside_copy

if TYPE_CHECKING:
    import jinja2

    from datacoves_airflow_provider.compat import Context
    from datacoves_airflow_provider.staging.repository import StagedRepository

__all__ = ["DatacovesDbtOperator"]

#: How far a file's modification time may lag ``time.time()`` (filesystems stamp files from the
#: kernel's coarse clock, a tick of 1-10 ms behind): files dbt writes are compared with the command's
#: start less this.
FILE_CLOCK_SLACK = 0.1


class DatacovesDbtOperator(DatacovesBashOperator):
    """Run dbt commands in the dbt project of a private, writable copy of the repository.

    Everything :class:`~datacoves_airflow_provider.operators.bash.DatacovesBashOperator` does
    (private copy, virtualenv, ``env``, clean-up), plus: the command runs in the dbt project folder,
    ``dbt deps`` runs first when the project's packages are not installed, and with
    ``connection_id`` dbt gets a temporary profile built from that Airflow connection. When dbt
    wrote a ``run_results.json``, the task logs a summary of it and returns it as its XCom; a dbt
    failure fails the task with the failing nodes in the message.

    :param bash_command: the dbt command(s) to run (templated), e.g. ``"dbt build -s tag:daily"``.
    :param project_dir: the dbt project folder, relative to the repository root (templated).
        Default: ``DATACOVES__DBT_HOME``.
    :param connection_id: an Airflow connection (Snowflake, Redshift, Postgres, BigQuery,
        Databricks, DuckDB) to build a temporary dbt profile from (templated). Without it, dbt
        uses the repository's profiles.yml in ``DATACOVES__AIRFLOW_DBT_PROFILE_PATH``.
    :param overrides: profile fields applied on top of the connection's (templated), e.g.
        ``{"warehouse": "big_wh", "threads": 8}``. Needs ``connection_id``.
    :param target: the dbt target (templated): its name in the temporary profile (default
        ``default``), or, without ``connection_id``, which target of the repository's profile to
        use (default: the profile's own ``target:``).
    :param run_dbt_deps: run ``dbt deps`` even when the packages folder exists. Default False.
    :param dbt_api_enabled: keep artifacts in the artifact store (``[datacoves] dbt_artifact_store``:
        the Datacoves dbt API, S3 or a folder). Default False; the parameters below need it.
    :param download_static_artifacts: fetch graph_summary.json, graph.gpickle,
        partial_parse.msgpack and semantic_manifest.json (tag ``latest``) into the target folder
        before dbt runs. Default True. When dbt refuses the downloaded partial_parse.msgpack and
        parses everything again, the task logs which of dbt's checks failed and what to change
        (also in the summary, key ``full_reparse_reason``; see
        :mod:`~datacoves_airflow_provider.dbt.partial_parse`).
    :param upload_static_artifacts: upload those after dbt runs, tagged ``latest``. Default False.
    :param download_additional_files: more paths, relative to the dbt project, to fetch for this
        task instance. Default [].
    :param upload_additional_files: more paths, relative to the dbt project, to upload. Default [].
    :param upload_tag: the label of this task's uploads (templated). Default: the DAG run id.
    :param upload_run_results: upload run_results.json, even when dbt fails. Default True.
    :param download_run_results: fetch this task instance's run_results.json (from an earlier try)
        into ``logs/``, where ``--state logs`` finds it. Default False.
    :param upload_sources_json: upload sources.json. Default True.
    :param download_sources_json: fetch this task instance's sources.json into ``logs/``. Default False.
    :param upload_manifest: after a dbt command that wrote ``target/manifest.json`` (even a failed
        one), upload it to Datacoves when ``DATACOVES__UPLOAD_MANIFEST`` is truthy (see
        :mod:`~datacoves_airflow_provider.dbt.manifest_upload`). A failed upload is a warning,
        never a task failure. Default True.
    :param kwargs: every DatacovesBashOperator argument except ``cwd`` (use ``project_dir``).
    """

    template_fields: Sequence[str] = (
        *DatacovesBashOperator.template_fields,
        "project_dir",
        "connection_id",
        "target",
        "overrides",
        "upload_tag",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DatacovesBashOperator.template_fields_renderers,
        "overrides": "json",
    }
    ui_color = "#fce4d6"

    def __init__(
        self,
        *,
        bash_command: Any,
        project_dir: str | None = None,
        connection_id: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        target: str | None = None,
        run_dbt_deps: bool = False,
        dbt_api_enabled: bool = False,
        download_static_artifacts: bool = True,
        upload_static_artifacts: bool = False,
        download_additional_files: Sequence[str] | None = None,
        upload_additional_files: Sequence[str] | None = None,
        upload_tag: str | None = None,
        upload_run_results: bool = True,
        download_run_results: bool = False,
        upload_sources_json: bool = True,
        download_sources_json: bool = False,
        upload_manifest: bool = True,
        **kwargs: Any,
    ) -> None:
        task_id = kwargs.get("task_id", "?")
        validation.check_dbt_cwd(kwargs.get("cwd"), task_id=task_id)
        validation.check_relative_path(project_dir, param="project_dir", task_id=task_id)
        validation.check_name(connection_id, param="connection_id", task_id=task_id, example="main")
        validation.check_name(target, param="target", task_id=task_id, example="prd")
        check_overrides(overrides, task_id=task_id)
        validation.check_overrides_connection(overrides, connection_id, task_id=task_id)
        validation.check_flag(run_dbt_deps, param="run_dbt_deps", task_id=task_id)
        validation.check_flag(upload_manifest, param="upload_manifest", task_id=task_id)
        self.artifacts = ArtifactOptions.checked(
            task_id=task_id,
            dbt_api_enabled=dbt_api_enabled,
            download_static_artifacts=download_static_artifacts,
            upload_static_artifacts=upload_static_artifacts,
            download_additional_files=download_additional_files,
            upload_additional_files=upload_additional_files,
            upload_tag=upload_tag,
            upload_run_results=upload_run_results,
            download_run_results=download_run_results,
            upload_sources_json=upload_sources_json,
            download_sources_json=download_sources_json,
        )
        super().__init__(bash_command=bash_command, **kwargs)
        self.upload_tag = upload_tag
        self.project_dir = project_dir
        self.connection_id = connection_id
        self.overrides = dict(overrides) if isinstance(overrides, Mapping) else overrides
        self.target = target
        self.run_dbt_deps = run_dbt_deps
        self.upload_manifest = upload_manifest

    # -- running -------------------------------------------------------------------------------

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Render the templated fields, then read ``overrides`` back into a dict and give its secret
        fields (``password``, ``token``, ``private_key``...) to the secrets masker at once: Airflow
        stores the rendered fields right after rendering (XComs and logs come later), so they show
        ``***``. A ``"{{ var.value.dbt_overrides }}"`` template renders text, which Airflow's
        masker cannot read key by key.

        This is the step both lines' ``render_template_fields`` and their mapped tasks (which
        render on the unmapped operator through it) go through, with the same signature.

        :param parent: the object whose fields are rendered (this operator, or a nested object).
        :param template_fields: the names of the fields.
        :param context: the task context.
        :param jinja_env: the Jinja environment.
        :param seen_oids: objects already rendered.
        """
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
        if parent is self and "overrides" in template_fields:
            self.overrides = self.rendered_overrides()
            mask_secret_fields(self.overrides)

    def run_in_repository(self, staged: StagedRepository, context: Context) -> Any:
        env = self.build_env(staged, context)
        project = self.resolve_project_dir(staged, env)
        run_results = run_results_path(project, env)
        transfer = try_artifacts.artifact_transfer(
            self.artifacts,
            upload_tag=self.upload_tag,
            project=project,
            target_dir=run_results.parent,
            context=context,
            log=self.log,
        )
        found = transfer.download() if transfer is not None else []
        parse_check = (
            PartialParseCheck(
                run_results.parent, staged.scratch / "downloaded_partial_parse.msgpack", self.log
            )
            if PARTIAL_PARSE_FILE in found
            else None
        )
        command = self.resolve_command(context, found)
        env.update(self.profile_env(staged, env))
        started = time.time()
        try:
            if self.run_dbt_deps or packages_missing(project):
                self.log.info("Running dbt deps: the project's packages are not installed")
                deps = self.run_bash(staged, "dbt deps", env=env, cwd=project)
                if deps.exit_code != 0:
                    raise AirflowException(
                        f"dbt deps failed with exit code {deps.exit_code} (see the log above), so "
                        f"{command!r} did not run"
                    )
            # file times come from the kernel's coarse clock, which may lag time.time() by a tick:
            # a file dbt writes at once could otherwise look older than the command
            started = time.time() - FILE_CLOCK_SLACK
            result = self.run_bash(staged, command, env=env, cwd=project)
        finally:
            if transfer is not None:
                transfer.upload(written_after=started)
            if self.upload_manifest:
                try_artifacts.send_manifest(
                    run_results.parent / "manifest.json",
                    written_after=started,
                    run_id=str(context["run_id"]),
                    dag_id=self.dag_id,
                    log=self.log,
                )
        summary = try_artifacts.report_run(
            run_results, parse_check, written_after=started, env=env, log=self.log
        )
        if result.exit_code in self.skip_on_exit_code:
            raise AirflowSkipException(f"dbt command returned exit code {result.exit_code}. Skipping.")
        if result.exit_code != 0:
            raise AirflowException(self.failure_message(result.exit_code, summary))
        return summary if summary is not None else self.return_value(result.output)

    def resolve_project_dir(self, staged: StagedRepository, env: Mapping[str, str]) -> Path:
        """The dbt project folder in the repository copy.

        :param staged: the task's staging folder.
        :param env: the command's environment.
        """
        if self.project_dir:
            validation.check_relative_path(
                self.project_dir, param="project_dir", task_id=self.task_id, rendered=True
            )
            source = f"project_dir={self.project_dir!r}"
            project = Path(os.path.normpath(staged.repo / self.project_dir))
            if project != staged.repo and staged.repo not in project.parents:
                raise AirflowException(f"{source} climbs out of the repository; remove the '..'")
        else:
            dbt_home = self._worker_value("DATACOVES__DBT_HOME")
            if not dbt_home.strip():
                raise AirflowException(
                    "No dbt project: pass project_dir (relative to the repository root, e.g. "
                    "project_dir='transform') or set DATACOVES__DBT_HOME on the worker"
                )
            source = f"DATACOVES__DBT_HOME={dbt_home!r}"
            project = self._in_copy(
                staged,
                dbt_home,
                "DATACOVES__DBT_HOME",
                hint=(
                    ": point it at the dbt project inside the repository (an absolute path inside "
                    "one of those, or a path relative to the repository root), or pass project_dir"
                ),
            )
        inside_copy(staged, project, what=source)
        if not (project / "dbt_project.yml").is_file():
            raise AirflowException(
                f"{source} is not a dbt project: there is no dbt_project.yml in "
                f"{os.path.relpath(project, staged.repo)!r} of the repository"
            )
        return project

    def profile_env(self, staged: StagedRepository, env: Mapping[str, str]) -> dict[str, str]:
        """Variables that point dbt at its profile, and carry the profile's secrets.

        With ``connection_id``: a temporary profiles.yml in the private scratch folder, whose
        secrets are ``env_var()`` references to variables set here. Without it: the repository's
        profiles.yml in ``DATACOVES__AIRFLOW_DBT_PROFILE_PATH``, when that is set.

        :param staged: the task's staging folder.
        :param env: the command's environment so far.
        """
        target = self.target or DEFAULT_TARGET_NAME
        if self.connection_id:
            profile_name = (
                env.get("DATACOVES__DBT_PROFILE")
                or os.environ.get("DATACOVES__DBT_PROFILE")
                or DEFAULT_PROFILE_NAME
            )
            profile = write_connection_profile(
                self.connection_id,
                folder=staged.scratch / "dbt_profile",
                profile_names=[profile_name],
                target=target,
                overrides=self.rendered_overrides(),
            )
            self.log.info(
                "dbt profile %r, target %r, built from connection %r (%s)",
                profile_name,
                target,
                self.connection_id,
                profile.adapter_type,
            )
            # DBT_PROFILE wins over dbt_project.yml's `profile:`, so the project's name never matters
            return {
                "DBT_PROFILES_DIR": str(profile.folder),
                "DBT_PROFILE": profile_name,
                "DBT_TARGET": target,
                **profile.env,
            }
        selected = {"DBT_TARGET": self.target} if self.target else {}
        profile_path = self._worker_value("DATACOVES__AIRFLOW_DBT_PROFILE_PATH")
        if not profile_path.strip():
            self.log.info(
                "No connection_id and no DATACOVES__AIRFLOW_DBT_PROFILE_PATH: dbt finds its own profile"
            )
            return selected
        folder = self._in_copy(staged, profile_path, "DATACOVES__AIRFLOW_DBT_PROFILE_PATH")
        inside_copy(staged, folder, what=f"DATACOVES__AIRFLOW_DBT_PROFILE_PATH={profile_path!r}")
        if not (folder / "profiles.yml").is_file():
            raise AirflowException(
                f"DATACOVES__AIRFLOW_DBT_PROFILE_PATH={profile_path!r} has no profiles.yml; point it "
                "at the repository folder that holds your profiles.yml, or pass connection_id"
            )
        self.log.info("dbt uses the repository's profiles.yml in %s", os.path.relpath(folder, staged.repo))
        return {"DBT_PROFILES_DIR": str(folder), **selected}

    def rendered_overrides(self) -> Any:
        """``overrides`` after rendering. A template renders to text unless the DAG renders native
        objects, so text is read back as JSON or a Python literal (``"{{ var.json.dbt_overrides }}"``
        renders a dict's repr). The error for text that is neither never quotes it."""
        overrides = self.overrides
        if isinstance(overrides, str):
            try:
                overrides = parse_overrides_text(overrides)
            except DbtProfileError as exc:
                raise AirflowException(f"Task {self.task_id!r}: {exc}") from None
        return overrides

    def _worker_value(self, name: str) -> str:
        """``name`` as the DAG author's ``env``, or else the worker, gives it: what was set, before
        the command's environment pointed it into the copy (so messages quote it as it was set).

        :param name: the variable.
        """
        user_env = self.env if isinstance(self.env, Mapping) else {}
        return user_env.get(name) or os.environ.get(name) or ""

    def _in_copy(self, staged: StagedRepository, path: str, name: str, *, hint: str = "") -> Path:
        """``path`` in the repository copy: absolute inside the repository (the read-only clone
        ``DATACOVES__REPO_PATH_RO`` or ``DATACOVES__REPO_PATH``), or relative to its root.

        :param staged: the task's staging folder.
        :param path: the path as the environment gives it.
        :param name: the variable it came from, for the error message.
        :param hint: appended to the error message when ``path`` is outside the repository.
        """
        source = environment.repository_source(check=False)
        relative = source.relative_path(path)
        if relative is None:
            raise AirflowException(
                f"{name}={path!r} is outside the repository: it is in neither {source.describe_roots()}{hint}"
            )
        return Path(os.path.normpath(staged.repo / relative))

    #: The exception message for a failed dbt command: the failing nodes when dbt named them.
    failure_message = staticmethod(try_artifacts.failure_message)
