"""The Dask executor of the ``RADIOMAP_EXECUTOR=dask`` switch (radiomap_assets.definitions).

dagster-dask 0.29.27's executor hands each step's arguments (the run, its known state) to ``Client.submit`` as they
are; dask walks tuples, lists, dicts and named tuples among a task's arguments, and Dagster 1.13's records (the
run's partition subset, ``KeyRangesPartitionsSubset``) refuse to be iterated, so every run of a partitioned job
(all of ours) fails before its first step. This executor submits the same worker function of dagster-dask
(``query_on_dask_worker``) with those arguments wrapped in one opaque object, which dask passes through whole; the
steps' futures stay visible so that dask orders the steps. Task keys carry the run id, so two runs of one job can
share a cluster. Clusters: an existing scheduler (``address``) or a local one (``n_workers`` one-thread workers).
"""

from __future__ import annotations

from dagster import DagsterInvariantViolationError, Field, executor
from dagster_dask.executor import DaskExecutor, get_dask_resource_requirements, query_on_dask_worker


class _Opaque:
    """Values dask must not look into (a plain object: dask leaves it as it is)."""

    def __init__(self, *values):
        self.values = values


def _execute_step_on_worker(dependencies, payload: _Opaque):
    """``dependencies``: the futures of the step's upstream steps (dask waits for them); unused beyond that."""
    return query_on_dask_worker(dependencies, *payload.values)


class PartitionSafeDaskExecutor(DaskExecutor):
    def __init__(self, address: str = "", n_workers: int = 2):
        super().__init__("existing" if address else "local",
                         {"address": address} if address else {"n_workers": n_workers, "threads_per_worker": 1})

    def execute(self, plan_context, execution_plan):
        from dask.distributed import Client, LocalCluster, as_completed

        if not plan_context.instance.is_persistent:
            raise DagsterInvariantViolationError("the Dask executor needs a persistent Dagster instance "
                                                 "(DAGSTER_HOME), its workers report there")
        cluster = (self.cluster_configuration["address"] if self.cluster_type == "existing"
                   else LocalCluster(**self.cluster_configuration))
        futures = {}
        with Client(cluster) as client:
            for level in execution_plan.get_steps_to_execute_by_level():
                for step in level:
                    upstream = [futures[k] for step_input in step.step_inputs for k in step_input.dependency_keys]
                    payload = _Opaque(plan_context.reconstructable_job, plan_context.dagster_run,
                                      plan_context.run_config, [step.key], plan_context.instance.get_ref(),
                                      execution_plan.known_state)
                    futures[step.key] = client.submit(
                        _execute_step_on_worker, upstream, payload,
                        key=f"{plan_context.job_name}.{step.key}.{plan_context.dagster_run.run_id}",
                        resources=get_dask_resource_requirements(step.tags))
            for _, events in as_completed(list(futures.values()), with_results=True):
                yield from events


@executor(name="dask", config_schema={"address": Field(str, default_value="", description="tcp://host:8786 of a "
                                                        "running scheduler; empty: a local cluster"),
                                       "n_workers": Field(int, default_value=2, description="local cluster only")})
def dask_executor(init_context) -> PartitionSafeDaskExecutor:
    """Steps on a Dask cluster (see the module's docstring)."""
    return PartitionSafeDaskExecutor(init_context.executor_config["address"], init_context.executor_config["n_workers"])
