"""Studies, their component settings, iterations and evaluations: the database is the source of truth.

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


class Preset(models.Model):
    """A named, reusable optimizer configuration: components (as ComponentSetting rows) and sizes.

    Built-in presets (``owner`` is null) mirror ``search_engine.presets``; users save their own.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    n_init = models.PositiveIntegerField()
    batch_size = models.PositiveIntegerField()
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


class Study(models.Model):
    """One search: what is searched (space, evaluator, objectives), how, and its progress."""

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
    # What is searched, in the engine's StudyConfig form (component choices live in ComponentSetting).
    space = models.JSONField(help_text="{name, params} of the search space")
    evaluator = models.JSONField(help_text="{name, params} of the evaluator")
    objectives = models.JSONField(help_text="list of {name, direction, unit}")
    ref_point = models.JSONField(
        null=True, blank=True, help_text="in the objectives' own units; null = derived"
    )
    ref_point_derived = models.BooleanField(
        default=False, help_text="the reference point was derived from the initial design, not given"
    )
    n_init = models.PositiveIntegerField()
    batch_size = models.PositiveIntegerField()
    budget = models.PositiveIntegerField()
    seed = models.PositiveIntegerField(default=0)
    patience = models.PositiveIntegerField(null=True, blank=True)
    preset = models.ForeignKey(Preset, null=True, blank=True, on_delete=models.SET_NULL)
    error = models.TextField(blank=True, help_text="why the study failed, in words")
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

    @property
    def is_active(self) -> bool:
        """True while iterations may still be scheduled."""
        return self.status == self.Status.RUNNING


class ComponentSetting(models.Model):
    """One chosen component (registry key + parameters) of a study or of a preset."""

    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.CASCADE, related_name="components"
    )
    preset = models.ForeignKey(
        Preset, null=True, blank=True, on_delete=models.CASCADE, related_name="components"
    )
    kind = models.CharField(max_length=16, choices=ComponentKind.choices)
    name = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "kind"], name="component_unique_kind_per_study"),
            models.UniqueConstraint(fields=["preset", "kind"], name="component_unique_kind_per_preset"),
            models.CheckConstraint(
                condition=Q(study__isnull=False, preset__isnull=True)
                | Q(study__isnull=True, preset__isnull=False),
                name="component_belongs_to_study_or_preset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"

    def to_spec(self) -> dict[str, Any]:
        """The engine's ``{"name": ..., "params": {...}}``."""
        return {"name": self.name, "params": dict(self.params)}


class Iteration(models.Model):
    """One iteration of a study: index 0 is the initial design, then one optimizer proposal each."""

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
