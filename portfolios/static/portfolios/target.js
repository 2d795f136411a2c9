// The target mix form: choosing a preset fills the four weight fields, and
// typing a weight switches the preset to Custom, so the form sends what the
// person sees. Without JavaScript the server keeps typed weights as custom.
(function () {
  "use strict";
  var data = document.getElementById("target-presets");
  var preset = document.getElementById("id_preset");
  if (!data || !preset) {
    return;
  }
  var presets = JSON.parse(data.textContent);
  var names = Object.keys(presets[Object.keys(presets)[0]]);
  var fields = names.map(function (name) {
    return document.getElementById("id_" + name);
  });

  function fill(choice) {
    var weights = presets[choice];
    if (!weights) {
      return; // Custom: keep the weights as they are
    }
    names.forEach(function (name, i) {
      fields[i].value = weights[name];
    });
  }

  preset.addEventListener("change", function () {
    fill(preset.value);
  });
  fields.forEach(function (field) {
    field.addEventListener("input", function () {
      preset.value = "custom";
    });
  });
  var empty = fields.every(function (field) {
    return field.value === "";
  });
  if (empty) {
    fill(preset.value);
  }
})();
