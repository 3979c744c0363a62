"""Studies, presets, iterations and evaluations: the database is the source of truth.

Redis only carries work. Everything an iteration needs to be re-run — the study's configuration,
every measured evaluation and the iteration's seed — lives in these tables, and unique constraints
make a re-run after a crash unable to duplicate an iteration or an evaluation.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class ComponentKind(models.TextChoices):
    """Optimizer components a study chooses by registry key (see ``search_engine.registry``)."""

    SAMPLER = "sampler", "Initial sampler"
    SURROGATE = "surrogate", "Surrogate"
    ACQUISITION = "acquisition", "Acquisition"
    SOLVER = "solver", "Solver"
    SELECTION = "selection", "Selection"
    FEASIBILITY = "feasibility", "Feasibility rule (bounds known only after measuring)"


class Preset(models.Model):
    """A named, reusable optimizer: components and sizes a new study can start from.

    ``optimizer`` is the preset's one stored form: the engine preset's own ``to_dict()`` without the
    name columns, ``{"components": {kind: {"name", "params"}}, "n_init": ..., "batch_size": ...,
    "auto": ...}`` (``auto`` absent in presets saved before it existed: False).
    Built-in presets (``owner`` is null) mirror ``search_engine.presets``; users save their own from
    a study, whose configuration was validated when it was saved.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    optimizer = models.JSONField(help_text='{"components": {kind: {name, params}}, "n_init", "batch_size"}')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="preset_unique_key_per_owner"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(owner__isnull=True), name="preset_unique_builtin_key"
            ),
        ]
        ordering = ["owner_id", "label"]

    def __str__(self) -> str:
        return self.label

    @property
    def components(self) -> dict[str, dict[str, Any]]:
        """``{kind: {"name": ..., "params": {...}}}``: the components the preset chooses."""
        return {kind: dict(spec) for kind, spec in self.optimizer["components"].items()}

    @property
    def n_init(self) -> int:
        """Initial design size the preset sets."""
        return int(self.optimizer["n_init"])

    @property
    def batch_size(self) -> int:
        """Architectures per iteration the preset sets."""
        return int(self.optimizer["batch_size"])

    @property
    def auto(self) -> bool:
        """Whether the preset lets ``search_engine.auto`` choose the components at each proposal."""
        return bool(self.optimizer.get("auto", False))


def config_columns(config: dict[str, Any]) -> dict[str, Any]:
    """The Study columns derived from a stored configuration, for the queries that filter on them."""
    return {"evaluator_name": str(config["evaluator"]["name"]), "n_objectives": len(config["objectives"])}


class Study(models.Model):
    """One search: its configuration (what is searched, and how), its status and its progress.

    ``config`` is the configuration's one stored form, the engine's ``StudyConfig.to_dict()``: saved
    once by ``services.save_study`` after ``validate()``, then trusted (``services.study_config``
    reads it back without checking it again). The one change it sees afterwards is a reference point
    derived from the initial design, written in as the engine's own runner does and flagged by
    ``ref_point_derived``. ``evaluator_name`` and ``n_objectives`` are copies that queries need:
    ``save()`` derives them from ``config`` (see ``config_columns``), nothing sets them on their own.
    The read-only properties (``budget``, ``objectives``, ``components``...) read ``config`` too.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="studies")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    config = models.JSONField(help_text="the engine's StudyConfig.to_dict(), validated when saved")
    evaluator_name = models.CharField(
        max_length=60, editable=False, help_text="config's evaluator name (derived on save, for queries)"
    )
    n_objectives = models.PositiveSmallIntegerField(
        editable=False, help_text="config's number of objectives (derived on save, for queries)"
    )
    ref_point_derived = models.BooleanField(
        default=False, help_text="the reference point was derived from the initial design, not given"
    )
    preset = models.ForeignKey(Preset, null=True, blank=True, on_delete=models.SET_NULL)
    warm_start_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the study whose measurements were copied in as this one's initial design",
    )
    error = models.TextField(blank=True, help_text="why the study failed, in words")
    end_reason = models.TextField(blank=True, help_text="why a completed study ended, in words")
    notes = models.TextField(blank=True, help_text="the owner's own notes, free text")
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="set when the owner archived it: kept, but out of the list"
    )
    version = models.PositiveBigIntegerField(
        default=0, help_text="change counter: bumped whenever a job writes results (live dashboard)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, deriving the query columns from ``config`` first (and writing them with it)."""
        columns = config_columns(self.config)
        for name, value in columns.items():
            setattr(self, name, value)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "config" in update_fields:
            kwargs["update_fields"] = {*update_fields, *columns}
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        """True while iterations may still be scheduled."""
        return self.status == self.Status.RUNNING

    @property
    def space(self) -> dict[str, Any]:
        """``{"name", "params"}`` of the search space."""
        return dict(self.config["space"])

    @property
    def evaluator(self) -> dict[str, Any]:
        """``{"name", "params"}`` of the evaluator."""
        return dict(self.config["evaluator"])

    @property
    def objectives(self) -> list[dict[str, Any]]:
        """``[{"name", "direction", "unit"}]``, in the evaluator's result order."""
        return list(self.config["objectives"])

    @property
    def ref_point(self) -> list[float] | None:
        """In the objectives' own units; None until derived when none was given."""
        ref = self.config["ref_point"]
        return None if ref is None else list(ref)

    @property
    def components(self) -> dict[str, dict[str, Any]]:
        """``{kind: {"name", "params"}}`` of the optimizer components, in ``ComponentKind`` order."""
        return {kind: dict(self.config[kind]) for kind in ComponentKind.values if kind in self.config}

    @property
    def n_init(self) -> int:
        """Size of the initial design."""
        return int(self.config["n_init"])

    @property
    def batch_size(self) -> int:
        """Architectures proposed per iteration."""
        return int(self.config["batch_size"])

    @property
    def budget(self) -> int:
        """Total evaluations, initial design included."""
        return int(self.config["budget"])

    @property
    def seed(self) -> int:
        """The study's seed; each iteration derives its own from it."""
        return int(self.config["seed"])

    @property
    def patience(self) -> int | None:
        """Iterations without hypervolume gain before the study stops; None: never."""
        patience = self.config["patience"]
        return None if patience is None else int(patience)


class Iteration(models.Model):
    """One iteration of a study: index 0 is the initial design, then one optimizer proposal each.

    The initial design samples only what measurements already in the study (imported, copied) leave
    missing up to ``n_init``; it holds no evaluation when none are missing.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        EVALUATING = "evaluating", "Waiting for evaluations"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="iterations")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    seed = models.BigIntegerField()
    job_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="last sign of life of the job running it"
    )
    attempts = models.PositiveIntegerField(default=0)
    timings = models.JSONField(
        default=dict, blank=True, help_text="seconds per phase: fit, solve, select, evaluate"
    )
    hypervolume = models.FloatField(
        null=True, blank=True, help_text="of every successful evaluation after it"
    )
    n_evaluations = models.PositiveIntegerField(default=0, help_text="evaluations in the study after it")
    diagnostics = models.JSONField(default=dict, blank=True)
    fidelity = models.JSONField(default=list, blank=True, help_text="per objective: predicted vs measured")
    error = models.TextField(blank=True)
    version = models.PositiveBigIntegerField(default=0, help_text="the study's version at its last change")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "index"], name="iteration_unique_index_per_study")
        ]
        ordering = ["study_id", "index"]

    def __str__(self) -> str:
        return f"{self.study} #{self.index}"


class Evaluation(models.Model):
    """One architecture of a study: where it came from, what was predicted and what was measured."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        INITIAL = "initial", "Initial design"
        OPTIMIZER = "optimizer", "Optimizer"
        IMPORTED = "imported", "Imported"
        COPIED = "copied", "Copied from a study"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="evaluations")
    iteration = models.ForeignKey(
        Iteration, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations"
    )
    position = models.PositiveIntegerField(default=0, help_text="order within the proposing iteration")
    key = models.CharField(max_length=1000, help_text="the architecture's stable key in the study's space")
    x = models.JSONField(help_text="canonical point of the unit cube")
    architecture = models.JSONField(help_text="decoded design variables")
    source = models.CharField(max_length=16, choices=Source.choices)
    origin = models.CharField(
        max_length=16, blank=True, help_text="solver or top-up, for optimizer proposals"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    objectives = models.JSONField(null=True, blank=True, help_text="measured values in the objectives' units")
    stage_latency = models.JSONField(null=True, blank=True, help_text="ms per stage: backbone, neck, head")
    metrics = models.JSONField(default=dict, blank=True)
    predicted_mean = models.JSONField(null=True, blank=True)
    predicted_std = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="the owner's own notes on this architecture")
    seconds = models.FloatField(null=True, blank=True)
    device = models.JSONField(default=dict, blank=True, help_text="the machine that measured it")
    # Who holds it while it is measured: an evaluation job (job_id) or a remote worker (lease); a
    # pending evaluation whose lease ran out goes back to the pool.
    lease = models.ForeignKey(
        "Lease", null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    job_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="times a worker took it")
    version = models.PositiveBigIntegerField(default=0, help_text="the study's version at its last change")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="evaluation_unique_architecture_per_study")
        ]
        ordering = ["study_id", "id"]
        indexes = [models.Index(fields=["study", "status"]), models.Index(fields=["study", "version"])]

    def __str__(self) -> str:
        return f"{self.study} {self.key}"


class WorkerToken(models.Model):
    """The secret an evaluation worker on another machine presents to the JSON API.

    A token belongs to one user and either to one study (``study`` set) or to the worker itself
    (``study`` null: it may take work from any of its owner's studies). Only the SHA-256 digest is
    stored: the secret is shown once, when the token is made. Revoking keeps the row, so the
    devices it reported stay attributable.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="worker_tokens"
    )
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.CASCADE, related_name="worker_tokens"
    )
    name = models.CharField(max_length=120, help_text="what the worker is, e.g. 'Raspberry Pi 5, lab bench'")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16, help_text="the secret's first characters, to tell tokens apart")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None


class Lease(models.Model):
    """One claim of a batch of evaluations by a remote worker; it expires unless extended."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token = models.ForeignKey(WorkerToken, on_delete=models.CASCADE, related_name="leases")
    device = models.JSONField(default=dict, blank=True, help_text="the worker's description of its machine")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.id)


class PreviousMeasurement(models.Model):
    """An evaluation's measurement as it stood when a re-measurement was asked for, kept for good.

    Taken when the owner asks for a noisy measurement to be measured again: while ``status`` is
    ``remeasuring`` an evaluation job on the evaluations queue holds it under a lease (``job_id``,
    ``lease_expires_at``, as an evaluation's own); the new measurement then replaces the evaluation's
    objectives, stage latency and metrics, and this row stays as the measurement it replaced
    (``replaced``). A re-measurement that fails leaves the evaluation as it was (``kept``, with the
    reason). At most one re-measurement of an evaluation is outstanding at a time.
    """

    class Status(models.TextChoices):
        REMEASURING = "remeasuring", "Being re-measured"
        REPLACED = "replaced", "Replaced"
        KEPT = "kept", "Kept (re-measurement failed)"

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="previous_measurements")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REMEASURING)
    objectives = models.JSONField(null=True, blank=True, help_text="measured values in the objectives' units")
    stage_latency = models.JSONField(null=True, blank=True, help_text="ms per stage: backbone, neck, head")
    metrics = models.JSONField(default=dict, blank=True)
    device = models.JSONField(default=dict, blank=True, help_text="the machine that measured it")
    seconds = models.FloatField(null=True, blank=True)
    measured_at = models.DateTimeField(null=True, blank=True, help_text="when this measurement finished")
    error = models.TextField(blank=True, help_text="why the re-measurement failed, in words")
    job_id = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="times a worker took the re-measurement")
    requested_at = models.DateTimeField(auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True, help_text="when the new measurement arrived")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation"],
                condition=Q(status="remeasuring"),
                name="previous_measurement_one_remeasuring_per_evaluation",
            )
        ]

    def __str__(self) -> str:
        return f"evaluation {self.evaluation_id} as measured at {self.measured_at}"
