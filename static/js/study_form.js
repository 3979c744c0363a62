// Study form: show only the chosen component's parameters, keep space and evaluator consistent, and
// pre-fill the objectives from the evaluator until the user edits them. Without this script every
// input stays visible and the server reads only the chosen component's parameters.
(function () {
  "use strict";

  const form = document.getElementById("study-form");
  if (!form) {
    return;
  }

  function chosen(name) {
    const control = form.elements[name];
    return control ? control.value : "";
  }

  function setChoice(name, value) {
    const control = form.elements[name];
    if (!control) {
      return;
    }
    if (control instanceof RadioNodeList) {
      control.forEach(function (radio) {
        radio.checked = radio.value === value;
      });
    } else {
      control.value = value;
    }
  }

  // Blocks marked data-component-kind / data-component-key belong to one choice of one control.
  function toggleBlocks() {
    form.querySelectorAll("[data-component-kind]").forEach(function (block) {
      block.hidden = chosen(block.dataset.componentKind) !== block.dataset.componentKey;
    });
  }

  // The feasibility rule matters only for a bound known after measuring: shown while one is typed.
  function toggleFeasibility() {
    const section = document.getElementById("component-feasibility");
    if (!section) {
      return;
    }
    const before = Array.from(document.querySelectorAll("#quantities option[data-known-before]"), function (o) {
      return o.value;
    });
    section.hidden = !Array.from(form.querySelectorAll("[data-constraint-row] input[name$=-quantity]")).some(
      function (input) {
        const name = input.value.trim();
        return name !== "" && before.indexOf(name) === -1;
      }
    );
  }

  // A benchmark problem is searched in its own space; the PyTorch evaluators build HyT-NAS networks,
  // so they search the HyT-NAS space or its MobileViT extension; the table and external evaluators take
  // any space but the benchmark's.
  const ANY_SPACE = ["table", "external"];
  const NETWORK_SPACES = ["hytnas", "hytnas-mobilevit"];
  function matchSpaceToEvaluator() {
    const evaluator = chosen("evaluator");
    const space = chosen("space");
    if (evaluator === "benchmark") {
      setChoice("space", "benchmark");
    } else if (space === "benchmark" || (!ANY_SPACE.includes(evaluator) && !NETWORK_SPACES.includes(space))) {
      setChoice("space", "hytnas");
    }
  }

  const rows = Array.from(form.querySelectorAll("[data-objective-row]"));
  // Per evaluator (but the benchmark): the parameter that changes its objectives, if any, and the
  // objectives per value of it (see services.objective_defaults).
  const evaluatorObjectives = JSON.parse(document.getElementById("objective-defaults").textContent);
  let objectivesEdited = false;

  // The name of one evaluator parameter's input: its sub-form's prefix (data-form-prefix), "-", the name.
  function evaluatorParam(evaluator, param) {
    const block = form.querySelector(
      '.component-params[data-component-kind="evaluator"][data-component-key="' + evaluator + '"]'
    );
    return block ? block.dataset.formPrefix + "-" + param : "";
  }

  // The input whose value decides the chosen evaluator's objectives, or "" when none does.
  function objectiveInput() {
    const evaluator = chosen("evaluator");
    if (evaluator === "benchmark") {
      return evaluatorParam("benchmark", "n_obj");
    }
    const defaults = evaluatorObjectives[evaluator];
    return defaults && defaults.param ? evaluatorParam(evaluator, defaults.param) : "";
  }

  function defaultObjectives() {
    const evaluator = chosen("evaluator");
    if (evaluator === "benchmark") {
      const count = parseInt(chosen(evaluatorParam("benchmark", "n_obj")), 10) || 2;
      return Array.from({ length: count }, function (_, i) {
        return { name: "f" + (i + 1), direction: "min", unit: "" };
      });
    }
    const defaults = evaluatorObjectives[evaluator];
    if (!defaults) {
      return [];
    }
    const input = objectiveInput();
    const byValue = defaults.objectives;
    return byValue[input ? chosen(input) : ""] || byValue[Object.keys(byValue)[0]] || [];
  }

  // The reference point goes with the objectives: an evaluator's customary one (the HyT-NAS tables'
  // 75, 3500) replaces a blank input or the one filled in last, never one the user typed.
  let filledReferencePoint = "";
  function fillReferencePoint() {
    const input = form.elements["ref_point"];
    const defaults = evaluatorObjectives[chosen("evaluator")];
    const wanted = (defaults && defaults.ref_point) || "";
    if (input && (input.value.trim() === "" || input.value === filledReferencePoint)) {
      input.value = wanted;
      filledReferencePoint = wanted;
    }
  }

  function fillObjectives() {
    if (objectivesEdited) {
      return;
    }
    fillReferencePoint();
    const objectives = defaultObjectives();
    rows.forEach(function (row, i) {
      const [name, direction, unit, model] = row.querySelectorAll("input, select");
      const objective = objectives[i] || { name: "", direction: "min", unit: "" };
      name.value = objective.name;
      direction.value = objective.direction;
      unit.value = objective.unit;
      if (model) {
        model.value = objective.model || ""; // a table study's regressor, else the evaluator's model
      }
    });
  }

  // Values the page arrived with (a clone, or a form shown again with errors) count as edited
  // unless they are exactly the evaluator's defaults.
  objectivesEdited = rows.some(function (row, i) {
    const [name, direction, unit] = row.querySelectorAll("input, select");
    const objective = defaultObjectives()[i] || { name: "", direction: "min", unit: "" };
    return name.value !== objective.name || unit.value !== objective.unit ||
      (objective.name !== "" && direction.value !== objective.direction);
  });

  rows.forEach(function (row) {
    row.addEventListener("input", function () {
      objectivesEdited = true;
    });
  });

  form.addEventListener("change", function (event) {
    const name = event.target.name;
    if (name === "evaluator") {
      matchSpaceToEvaluator();
      fillObjectives();
    } else if (name === objectiveInput()) {
      fillObjectives();
    }
    toggleBlocks();
  });
  form.addEventListener("input", function (event) {
    if (event.target.name === objectiveInput()) {
      fillObjectives();
    }
    toggleFeasibility();
  });

  toggleBlocks();
  toggleFeasibility();
})();
