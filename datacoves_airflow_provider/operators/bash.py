"""``DatacovesBashOperator``: a BashOperator that runs in a private, writable copy of the repo."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from datacoves_airflow_provider import environment, validation
from datacoves_airflow_provider.compat import (
    SET_DURING_EXECUTION,
    AirflowException,
    AirflowSkipException,
    BashOperator,
    context_to_airflow_vars,
    redact,
)
from datacoves_airflow_provider.hooks.subprocess import DatacovesSubprocessHook
from datacoves_airflow_provider.staging.repository import (
    StagedRepository,
    StagingPolicy,
    is_within,
    stage_repository,
)

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Context, SubprocessResult

__all__ = ["DatacovesBashOperator", "inside_copy"]


def inside_copy(staged: StagedRepository, path: Path, *, what: str) -> Path:
    """``path`` (a path below the repository copy) when it stays inside the copy once links are
    followed; a clear error naming ``what`` and the link when a link leads out of it (the task
    would run, or read, outside its private copy: in the read-only source, or anywhere).

    :param staged: the task's staging folder.
    :param path: the path in the copy, ``..`` already resolved.
    :param what: the setting it came from, as the message names it (``cwd='x'``).
    """
    copy = os.path.realpath(staged.repo)
    if is_within(os.path.realpath(path), copy):
        return path
    current = staged.repo
    for part in path.relative_to(staged.repo).parts:
        current = current / part
        if current.is_symlink() and not is_within(os.path.realpath(current), copy):
            raise AirflowException(
                f"{what} goes through the link {str(current.relative_to(staged.repo))!r} -> "
                f"{os.readlink(current)!r}, which leads outside the repository copy the task runs in: "
                "point it at a real folder of the repository, or make the link relative and keep it "
                "inside the repository"
            )
    raise AirflowException(f"{what} leads outside the repository copy the task runs in")


class DatacovesBashOperator(BashOperator):
    """Run a bash command in a private, writable copy of the Datacoves repository.

    The repository (``DATACOVES__REPO_PATH_RO``, Datacoves' read-only clone, or else
    ``DATACOVES__REPO_PATH``) is staged into a folder only this task can read (see
    :class:`~datacoves_airflow_provider.staging.repository.StagingPolicy` for what is copied),
    the virtualenv is activated, and the copy is removed when the task ends, whether it succeeded,
    failed, or was killed for exceeding ``execution_timeout``. In the child process
    ``DATACOVES__REPO_PATH`` names the copy, ``DATACOVES__DBT_HOME`` and ``DBT_PROFILES_DIR`` point
    into it, and it comes first on ``PYTHONPATH`` (see :meth:`point_env_at_copy`); the worker's own
    environment is never changed.

    :param bash_command: the command to run (templated).
    :param cwd: folder to run in, relative to the repository root (templated). Default: the root.
    :param activate_venv: activate a virtualenv for the command. Default True.
    :param virtualenv: the virtualenv to activate: an absolute path, or relative to the repository
        root (templated). Default: ``[datacoves] default_virtualenv``
        (``/opt/datacoves/virtualenvs/main``), when it exists.
    :param env: environment of the command (templated). As in BashOperator, it replaces the
        worker's environment unless ``append_env=True``. ``None`` values are an error.
    :param append_env: add ``env`` to the worker's environment instead of replacing it.
    :param staging: what the repository copy contains: a
        :class:`~datacoves_airflow_provider.staging.repository.StagingPolicy` or a dict of its
        fields. Default: share git objects and virtualenvs, leave out dbt's target/ and logs/.
    :param kwargs: every other BashOperator / BaseOperator argument (``retries``, ``pool``,
        ``skip_on_exit_code``, ``outlets``, ``executor_config``, ``execution_timeout``, ...).
    """

    template_fields: Sequence[str] = (*BashOperator.template_fields, "virtualenv")
    template_fields_renderers: ClassVar[dict[str, str]] = {**BashOperator.template_fields_renderers}
    ui_color = "#d6f0e8"

    def __init__(
        self,
        *,
        bash_command: Any,
        cwd: str | None = None,
        activate_venv: bool = True,
        virtualenv: str | None = None,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        staging: StagingPolicy | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        task_id = kwargs.get("task_id", "?")
        if bash_command is not SET_DURING_EXECUTION:  # decorated: the function returns it at run time
            validation.check_command(bash_command, task_id=task_id)
        validation.check_env(env, task_id=task_id)
        validation.check_relative_path(cwd, param="cwd", task_id=task_id)
        validation.check_flag(activate_venv, param="activate_venv", task_id=task_id)
        validation.check_virtualenv(virtualenv, task_id=task_id)
        validation.check_flag(append_env, param="append_env", task_id=task_id)
        validation.check_skip_on_exit_code(kwargs.get("skip_on_exit_code", 99), task_id=task_id)
        validation.check_output_encoding(kwargs.get("output_encoding", "utf-8"), task_id=task_id)
        super().__init__(bash_command=bash_command, env=env, append_env=append_env, cwd=cwd, **kwargs)
        self.activate_venv = activate_venv
        self.virtualenv = virtualenv
        self.staging = validation.check_staging(staging, task_id=task_id)

    # -- running -------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if self.bash_command is not SET_DURING_EXECUTION:  # fail before copying the repository
            validation.check_command(self.bash_command, task_id=self.task_id, rendered=True)
        validation.check_rendered_env(self.env, task_id=self.task_id)
        validation.check_relative_path(self.cwd, param="cwd", task_id=self.task_id, rendered=True)
        validation.check_no_nul(self.virtualenv, param="virtualenv", task_id=self.task_id)
        source = environment.repository_source()
        with stage_repository(
            source.path, policy=self.staging, base_dir=environment.staging_base_dir()
        ) as staged:
            try:
                return self.run_in_repository(staged, context)
            finally:
                self._stop_command()

    def resolve_command(self, context: Context, found_files: Sequence[str] = ()) -> str:
        """The command to run, once the repository copy is ready. Decorated operators call their
        function here.

        :param context: the task context.
        :param found_files: artifacts downloaded for this try (see the dbt operator).
        """
        return validation.check_command(self.bash_command, task_id=self.task_id, rendered=True)

    def run_in_repository(self, staged: StagedRepository, context: Context) -> Any:
        """Run the command in the staged copy; subclasses add their own preparation around it.

        :param staged: the task's staging folder.
        :param context: the task context.
        """
        command = self.resolve_command(context)
        cwd = self.resolve_cwd(staged)
        env = self.build_env(staged, context)
        result = self.run_bash(staged, command, env=env, cwd=cwd)
        self.check_exit_code(result.exit_code)
        return self.return_value(result.output)

    def return_value(self, output: str) -> Any:
        """The task's XCom: ``output_processor`` of the command's last output line, with every secret
        the masker knows replaced by ``***`` (the log shows the line masked; BashOperator would store
        it in the metadata database as it is).

        :param output: the last line the command printed.
        """
        return redact(self.output_processor(output))

    @cached_property
    def subprocess_hook(self) -> DatacovesSubprocessHook:
        """The hook that runs the command and stops its process group."""
        return DatacovesSubprocessHook()

    def run_bash(
        self, staged: StagedRepository, command: str, *, env: dict[str, str], cwd: Path
    ) -> SubprocessResult:
        """Run ``command`` with bash through the subprocess hook, its output streaming into the task log.

        Returns the hook's result (``exit_code``, ``output``: the last line).

        :param staged: the task's staging folder (long commands are written to a script in it).
        :param command: the bash command.
        :param env: the complete environment of the command.
        :param cwd: the folder to run in.
        """
        return self.subprocess_hook.run_bash(
            command, env=env, cwd=cwd, output_encoding=self.output_encoding, script_dir=staged.scratch
        )

    def check_exit_code(self, exit_code: int) -> None:
        """Skip the task for an exit code in ``skip_on_exit_code``; fail it for any other non-zero code.

        :param exit_code: the command's exit code.
        """
        if exit_code in self.skip_on_exit_code:
            raise AirflowSkipException(f"Bash command returned exit code {exit_code}. Skipping.")
        if exit_code != 0:
            raise AirflowException(
                f"Bash command failed. The command returned a non-zero exit code {exit_code}."
            )

    def resolve_cwd(self, staged: StagedRepository) -> Path:
        """The folder the command runs in: ``cwd`` below the repository copy.

        :param staged: the task's staging folder.
        """
        validation.check_relative_path(self.cwd, param="cwd", task_id=self.task_id, rendered=True)
        target = Path(os.path.normpath(staged.repo / (self.cwd or "")))
        if target != staged.repo and staged.repo not in target.parents:
            raise AirflowException(f"cwd={self.cwd!r} climbs out of the repository; remove the '..'")
        inside_copy(staged, target, what=f"cwd={self.cwd!r}")
        if not target.is_dir():
            raise AirflowException(
                f"cwd={self.cwd!r} is not a folder of the repository (looked for "
                f"{target.relative_to(staged.root)}); give a path relative to the repository root"
            )
        return target

    def build_env(self, staged: StagedRepository, context: Context) -> dict[str, str]:
        """The child's environment: ``env`` / ``append_env`` as in BashOperator, Airflow's context
        variables, the repository copy first on ``PYTHONPATH``, and the virtualenv activated.

        :param staged: the task's staging folder.
        :param context: the task context.
        """
        if self.env is not None and not isinstance(self.env, Mapping):
            raise AirflowException(f"env must render to a dict, got {type(self.env).__name__}")
        env: dict[str, str] = {} if self.env is not None and not self.append_env else dict(os.environ)
        for key, value in (self.env or {}).items():
            if not isinstance(value, str):
                raise AirflowException(
                    f"env[{key!r}] must be a string after rendering, got {type(value).__name__}"
                )
            env[key] = value
        env.update(context_to_airflow_vars(context, in_env_var_format=True))
        self.point_env_at_copy(env, staged)
        venv = self.virtualenv_to_activate(staged)
        if venv is not None:
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH") or os.defpath])
            env.pop("PYTHONHOME", None)
        return env

    def _from_user(self, env: Mapping[str, str], name: str) -> bool:
        """Whether the command's ``name`` is a value the DAG author gave in ``env`` (not the
        worker's own value, which ``append_env`` or an ``env`` repeating it carries)."""
        user_env = self.env if isinstance(self.env, Mapping) else {}
        return name in user_env and env.get(name) != os.environ.get(name)

    def point_env_at_copy(self, env: dict[str, str], staged: StagedRepository) -> None:
        """Make the repository variables of the command's environment name the task's copy.

        * ``DATACOVES__REPO_PATH`` is the copy (user scripts read it as "the read-write copy the
          task runs from"), whenever the command gets the worker's environment or ``env`` names it;
        * ``DATACOVES__DBT_HOME`` and ``DBT_PROFILES_DIR``, when they are absolute paths inside the
          repository (the read-only clone or ``DATACOVES__REPO_PATH``), name the same place in the
          copy; relative ones (relative to the repository root) and ones outside are left alone;
        * ``PYTHONPATH`` starts with the copy, and its entries inside the repository name the copy
          too, so nothing is imported from the read-only clone;
        * ``DATACOVES__REPO_PATH_RO`` stays the clone.

        A value the DAG author gave in ``env`` wins (unless it is the worker's own value). ``env``
        is changed in place; the worker's ``os.environ`` never is.

        :param env: the command's environment so far.
        :param staged: the task's staging folder.
        """
        source = environment.repository_source(check=False)
        copy = str(staged.repo)

        def in_copy(path: str) -> str | None:
            if not os.path.isabs(path):
                return None
            relative = source.relative_path(path)
            return None if relative is None else os.path.normpath(os.path.join(copy, relative))

        inherits = self.env is None or self.append_env
        if (inherits or environment.REPO_PATH in env) and not self._from_user(env, environment.REPO_PATH):
            env[environment.REPO_PATH] = copy
        for name in ("DATACOVES__DBT_HOME", "DBT_PROFILES_DIR"):
            value = env.get(name)
            mapped = in_copy(value) if value and not self._from_user(env, name) else None
            if mapped is not None:
                env[name] = mapped
        existing = env.get("PYTHONPATH")
        entries = existing.split(os.pathsep) if existing else []
        if not self._from_user(env, "PYTHONPATH"):
            entries = [in_copy(p) or p for p in entries]
        ordered = dict.fromkeys([copy, *entries])  # first occurrence wins, order kept
        env["PYTHONPATH"] = os.pathsep.join(ordered)

    def virtualenv_to_activate(self, staged: StagedRepository) -> Path | None:
        """The virtualenv for the command, or None (``activate_venv=False``, or no default one).

        :param staged: the task's staging folder (a relative ``virtualenv`` is resolved in it).
        """
        if not self.activate_venv:
            return None
        if self.virtualenv:
            venv = Path(self.virtualenv)
            venv = venv if venv.is_absolute() else staged.repo / venv
            if not (venv / "bin" / "python").exists() and not (venv / "bin" / "activate").exists():
                raise AirflowException(
                    f"virtualenv={self.virtualenv!r} is not a virtualenv (no {venv}/bin/python): "
                    "create it on the worker, point virtualenv at an existing one, "
                    "or pass activate_venv=False"
                )
            self.log.info("Activating virtualenv %s", venv)
            return venv
        default = Path(environment.default_virtualenv())
        if (default / "bin").is_dir():
            self.log.info("Activating the default virtualenv %s", default)
            return default
        self.log.info("No virtualenv activated: the default %s does not exist on this worker", default)
        return None

    # -- stopping ------------------------------------------------------------------------------

    def on_kill(self) -> None:
        self._stop_command()

    def _stop_command(self) -> None:
        """Stop whatever is left of the command's process group (idempotent).

        Runs before the staging folder is removed, so no process still writes into it: on success
        (background jobs the command left), on failure, and on ``execution_timeout``, where Airflow
        raises inside the log-reading loop and calls ``on_kill`` only after ``execute`` returned.
        """
        hook = self.__dict__.get("subprocess_hook")  # none before the command ran
        if hook is not None:
            hook.stop_process_group()
